"""The one error vocabulary of HuleEdu services.

Domain code raises :class:`ServiceError` (or a subclass such as a service's own
``ContentNotFoundError``) and never thinks about HTTP; the http layer turns the
:class:`ErrorCode` into a status and the one JSON shape every client parses. Kept
free of Quart so workers and domain modules can raise these too.

:func:`validation_details` is how a pydantic failure is described to anyone outside
the process (an http client, a dead-letter header): the field and the reason, never
the input value, which may be personal data or a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from http import HTTPStatus
from typing import Any

import pydantic


class ErrorCode(StrEnum):
    """Machine-readable error codes; the wire value is the member's name."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    AUTHENTICATION_ERROR = "AUTHENTICATION_ERROR"
    AUTHORIZATION_ERROR = "AUTHORIZATION_ERROR"
    RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    RATE_LIMITED = "RATE_LIMITED"
    EXTERNAL_SERVICE_ERROR = "EXTERNAL_SERVICE_ERROR"
    CIRCUIT_BREAKER_OPEN = "CIRCUIT_BREAKER_OPEN"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    TIMEOUT = "TIMEOUT"
    INTERNAL_ERROR = "INTERNAL_ERROR"


STATUS_BY_CODE: Mapping[ErrorCode, HTTPStatus] = {
    ErrorCode.VALIDATION_ERROR: HTTPStatus.BAD_REQUEST,
    ErrorCode.AUTHENTICATION_ERROR: HTTPStatus.UNAUTHORIZED,
    ErrorCode.AUTHORIZATION_ERROR: HTTPStatus.FORBIDDEN,
    ErrorCode.RESOURCE_NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.METHOD_NOT_ALLOWED: HTTPStatus.METHOD_NOT_ALLOWED,
    ErrorCode.CONFLICT: HTTPStatus.CONFLICT,
    ErrorCode.PAYLOAD_TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    ErrorCode.RATE_LIMITED: HTTPStatus.TOO_MANY_REQUESTS,
    ErrorCode.EXTERNAL_SERVICE_ERROR: HTTPStatus.BAD_GATEWAY,
    ErrorCode.CIRCUIT_BREAKER_OPEN: HTTPStatus.SERVICE_UNAVAILABLE,
    ErrorCode.SERVICE_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    ErrorCode.TIMEOUT: HTTPStatus.GATEWAY_TIMEOUT,
    ErrorCode.INTERNAL_ERROR: HTTPStatus.INTERNAL_SERVER_ERROR,
}


def status_for(code: ErrorCode) -> HTTPStatus:
    """The HTTP status a client sees for ``code``."""
    return STATUS_BY_CODE[code]


class ServiceError(Exception):
    """An error a client is meant to see: a code, a message and JSON details.

    The message and details are rendered verbatim, so they must not carry
    secrets or stack traces; unexpected exceptions are rendered as a generic
    ``INTERNAL_ERROR`` instead.
    """

    code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(
        self,
        code: ErrorCode | None = None,
        message: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        self.message = message or self.code.value.replace("_", " ").lower()
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(self.message)

    @property
    def status(self) -> HTTPStatus:
        return status_for(self.code)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code.value}, message={self.message!r})"


class ValidationError(ServiceError):
    """The request (or event) is malformed; ``details`` says which field."""

    code = ErrorCode.VALIDATION_ERROR


class NotFoundError(ServiceError):
    """Base for "no such resource" errors, e.g. a service's ``ContentNotFoundError``."""

    code = ErrorCode.RESOURCE_NOT_FOUND


class ExternalServiceError(ServiceError):
    """A dependency answered with an error."""

    code = ErrorCode.EXTERNAL_SERVICE_ERROR


class DependencyTimeoutError(ServiceError):
    """A dependency did not answer in time."""

    code = ErrorCode.TIMEOUT


def validation_details(exc: pydantic.ValidationError) -> dict[str, Any]:
    """Field-level reasons a client can act on, without echoing the input back."""
    return {
        "errors": [
            {
                "field": ".".join(str(part) for part in err["loc"]),
                "message": err["msg"],
                "type": err["type"],
            }
            for err in exc.errors(include_url=False, include_input=False)
        ]
    }
