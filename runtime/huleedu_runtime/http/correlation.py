"""Correlation ids: read ``X-Correlation-ID`` or make one, log it, echo it.

The id is bound into structlog's contextvars so every log line of the request
carries it, stored on ``g`` so error bodies can quote it, and returned in the
response header so a caller can quote it back in a bug report. An incoming id
is only trusted if it is short and plain (:mod:`huleedu_runtime.correlation`, the
rule Kafka messages are held to as well): it is written into logs verbatim.
:mod:`huleedu_runtime.http.request_hooks` does this once per request (with
:func:`bind_incoming_correlation_id`, having read the header itself).
"""

from __future__ import annotations

from typing import Any

import structlog
from quart import Response, g, request

from huleedu_runtime.contract import CORRELATION_ID_HEADER
from huleedu_runtime.correlation import adopt_correlation_id


def current_correlation_id() -> str | None:
    """The correlation id of the request being handled, if any."""
    value = g.get("correlation_id") if g else None
    return value if isinstance(value, str) else None


def bind_correlation_id() -> str:
    """Adopt the caller's id (if safe) or make one; store it on ``g`` and in the logs."""
    return bind_incoming_correlation_id(
        g._get_current_object(),
        request.headers.get(CORRELATION_ID_HEADER),
    )


def bind_incoming_correlation_id(app_g: Any, incoming: str | None) -> str:
    """:func:`bind_correlation_id` for a header value already read, onto ``app_g``
    (``g`` itself, not its proxy: the request hook looks both up once)."""
    correlation_id, rejected = adopt_correlation_id(incoming)
    app_g.correlation_id = correlation_id
    structlog.contextvars.clear_contextvars()
    if rejected is None:
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
    else:
        structlog.contextvars.bind_contextvars(
            correlation_id=correlation_id, correlation_id_rejected=rejected
        )
    return correlation_id


def echo_correlation_id(response: Response) -> None:
    correlation_id = current_correlation_id()
    if correlation_id:
        response.headers[CORRELATION_ID_HEADER] = correlation_id
