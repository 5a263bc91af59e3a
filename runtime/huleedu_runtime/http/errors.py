"""Error handlers: every failure leaves as ``{"error": {...}}``.

Clients parse one shape, whatever failed: a :class:`ServiceError` raised by the
service, a request that failed validation (malformed JSON, a pydantic model that
rejected the body, an oversized body, an unknown route), or a bug. Unexpected
exceptions are logged with their traceback and answered with a generic
``INTERNAL_ERROR``: their message may hold internals a client must not see.

An HTTP exception's own headers survive the change of body: ``Allow`` on a 405 (RFC
9110 requires it), ``WWW-Authenticate``, ``Retry-After`` and the like.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import pydantic
import structlog
from quart import Quart, Response, jsonify
from werkzeug.exceptions import HTTPException

from huleedu_runtime.errors import ErrorCode, ServiceError, status_for, validation_details
from huleedu_runtime.http.correlation import current_correlation_id

__all__ = ["error_body", "install_error_handlers", "validation_details"]

log = structlog.get_logger(__name__)

_CODE_BY_STATUS: Mapping[int, ErrorCode] = {
    400: ErrorCode.VALIDATION_ERROR,
    401: ErrorCode.AUTHENTICATION_ERROR,
    403: ErrorCode.AUTHORIZATION_ERROR,
    404: ErrorCode.RESOURCE_NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.VALIDATION_ERROR,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.SERVICE_UNAVAILABLE,
    504: ErrorCode.TIMEOUT,
}


def error_body(
    *,
    code: ErrorCode,
    message: str,
    service: str,
    correlation_id: str | None,
    details: Mapping[str, Any] | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """The structured error document (pure, so it is unit-testable)."""
    return {
        "error": {
            "code": code.value,
            "message": message,
            "correlation_id": correlation_id,
            "service": service,
            "timestamp": (timestamp or datetime.now(UTC)).isoformat(),
            "details": dict(details or {}),
        }
    }


def install_error_handlers(app: Quart, service_name: str) -> None:
    def respond(
        code: ErrorCode,
        message: str,
        status: int,
        details: Mapping[str, Any] | None = None,
    ) -> tuple[Response, int]:
        body = error_body(
            code=code,
            message=message,
            service=service_name,
            correlation_id=current_correlation_id(),
            details=details,
        )
        return jsonify(body), status

    async def on_service_error(exc: ServiceError) -> tuple[Response, int]:
        status = status_for(exc.code)
        level = log.error if status >= 500 else log.info
        level("service_error", code=exc.code.value, message=exc.message, status=int(status))
        return respond(exc.code, exc.message, status, exc.details)

    async def on_validation_error(exc: pydantic.ValidationError) -> tuple[Response, int]:
        log.info("request_validation_failed", errors=exc.error_count())
        return respond(
            ErrorCode.VALIDATION_ERROR,
            "request validation failed",
            HTTPStatus.BAD_REQUEST,
            validation_details(exc),
        )

    async def on_http_exception(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        code = _CODE_BY_STATUS.get(status, ErrorCode.INTERNAL_ERROR)
        message = exc.description or HTTPStatus(status).phrase
        response, status = respond(code, message, status)
        for name, value in exc.get_headers():
            if name.lower() != "content-type":  # the body is JSON now, not werkzeug's HTML
                response.headers.add(name, value)
        return response, status

    async def on_unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled_exception", exception_type=type(exc).__name__)
        return respond(
            ErrorCode.INTERNAL_ERROR, "internal server error", HTTPStatus.INTERNAL_SERVER_ERROR
        )

    app.register_error_handler(ServiceError, on_service_error)
    app.register_error_handler(pydantic.ValidationError, on_validation_error)
    app.register_error_handler(HTTPException, on_http_exception)
    app.register_error_handler(Exception, on_unexpected)
