"""The runtime's per-request work, installed as one before and one after hook.

Every request gets a correlation id, a start time and the body-size check
before the view runs, and its metrics and echoed id after. These run as a single
``before_request``/``after_request`` pair rather than one hook per concern:
Quart awaits each hook separately and every ``g``/``request`` access is a
context lookup, and at thousands of requests per second that overhead was most
of the runtime's cost over a bare Quart app (see ``bench/runtime_http.py``). For
the same reason each hook looks ``g`` and ``request`` up once, and the two headers
the before hook needs are found in one pass over the request's ASGI headers:
``request.headers.get`` of an absent header raises and catches an exception
inside werkzeug, and ``request.content_length`` makes two such lookups.
"""

from __future__ import annotations

import time
from typing import Any

from quart import Quart, Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from huleedu_runtime.contract import CORRELATION_ID_HEADER
from huleedu_runtime.http.correlation import bind_incoming_correlation_id
from huleedu_runtime.http.metrics import record_request

_CORRELATION_HEADER = CORRELATION_ID_HEADER.lower().encode("latin1")


def _scan_headers(raw: Any) -> tuple[str | None, bool]:
    """(the first ``X-Correlation-ID`` value, whether a ``Content-Length`` is present)
    from ASGI headers, matched and decoded as Quart builds ``request.headers``."""
    incoming: str | None = None
    has_length = False
    for name, value in raw:
        lowered = name.lower()
        if lowered == _CORRELATION_HEADER:
            if incoming is None:
                incoming = value.decode("latin1")
        elif lowered == b"content-length":
            has_length = True
    return incoming, has_length


def install_request_hooks(app: Quart, *, max_body_bytes: int) -> None:
    async def before() -> None:
        app_g = g._get_current_object()
        app_g.huleedu_request_started = time.perf_counter()
        current = request._get_current_object()  # type: ignore[attr-defined]
        raw = current.scope.get("headers")
        if raw is None:  # not built from an ASGI scope: ask werkzeug
            incoming = current.headers.get(CORRELATION_ID_HEADER)
            has_length = True
        else:
            incoming, has_length = _scan_headers(raw)
        bind_incoming_correlation_id(app_g, incoming)
        # Quart enforces MAX_CONTENT_LENGTH while reading the body; rejecting on the
        # declared length first spares reading (and buffering) what will be refused.
        length = current.content_length if has_length else None
        if length is not None and length > max_body_bytes:
            raise RequestEntityTooLarge(
                f"request body of {length} bytes exceeds the limit of {max_body_bytes} bytes"
            )

    async def after(response: Response) -> Response:
        app_g = g._get_current_object()
        started = app_g.get("huleedu_request_started")
        if started is not None:
            current = request._get_current_object()  # type: ignore[attr-defined]
            rule = current.url_rule
            record_request(
                current.method,
                rule.rule if rule is not None else None,
                response.status_code,
                time.perf_counter() - started,
            )
        # echo_correlation_id, without its two lookups of g.
        correlation_id = app_g.get("correlation_id")
        if correlation_id and isinstance(correlation_id, str):
            response.headers[CORRELATION_ID_HEADER] = correlation_id
        return response

    # First, so that even a request another hook rejects gets an id and a timer.
    app.before_request_funcs.setdefault(None, []).insert(0, before)
    app.after_request(after)
