"""The runtime's per-request work, installed as one before and one after hook.

Every request gets a correlation id, a start time and the body-size check
before the view runs, and its metrics and echoed id after. These run as a single
``before_request``/``after_request`` pair rather than one hook per concern:
Quart awaits each hook separately and every ``g``/``request`` access is a
context lookup, and at thousands of requests per second that overhead was most
of the runtime's cost over a bare Quart app (see ``bench/runtime_http.py``).
"""

from __future__ import annotations

import time

from quart import Quart, Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from huleedu_runtime.http.correlation import bind_correlation_id, echo_correlation_id
from huleedu_runtime.http.metrics import record_request


def install_request_hooks(app: Quart, *, max_body_bytes: int) -> None:
    async def before() -> None:
        g.huleedu_request_started = time.perf_counter()
        bind_correlation_id()
        # Quart enforces MAX_CONTENT_LENGTH while reading the body; rejecting on the
        # declared length first spares reading (and buffering) what will be refused.
        length = request.content_length
        if length is not None and length > max_body_bytes:
            raise RequestEntityTooLarge(
                f"request body of {length} bytes exceeds the limit of {max_body_bytes} bytes"
            )

    async def after(response: Response) -> Response:
        started = g.get("huleedu_request_started")
        if started is not None:
            rule = request.url_rule
            record_request(
                request.method,
                rule.rule if rule is not None else None,
                response.status_code,
                time.perf_counter() - started,
            )
        echo_correlation_id(response)
        return response

    # First, so that even a request another hook rejects gets an id and a timer.
    app.before_request_funcs.setdefault(None, []).insert(0, before)
    app.after_request(after)
