"""The content service plus routes that raise every kind of error (for the real-server tests).

Served by ``huleedu-service http http_error_app:app --app-dir tests/kafka``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from quart import Blueprint, Quart, Response

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # examples/ from the checkout
from examples.content_service.errors import ContentNotFoundError
from examples.content_service.startup_setup import setup_service
from pydantic import BaseModel

from huleedu_runtime import errors
from huleedu_runtime.http import parse_body

ERROR_CLASSES: dict[str, type[errors.ServiceError]] = {
    "ValidationError": errors.ValidationError,
    "NotFoundError": errors.NotFoundError,
    "ExternalServiceError": errors.ExternalServiceError,
    "DependencyTimeoutError": errors.DependencyTimeoutError,
}

failures = Blueprint("failures", __name__, url_prefix="/fail")


class Strict(BaseModel):
    count: int


@failures.get("/code/<code>")
async def by_code(code: str) -> Response:
    raise errors.ServiceError(errors.ErrorCode[code], f"raised {code}", {"code_asked": code})


@failures.get("/class/<name>")
async def by_class(name: str) -> Response:
    raise ERROR_CLASSES[name](message=f"raised {name}", details={"class": name})


@failures.get("/content-not-found")
async def content_not_found() -> Response:
    raise ContentNotFoundError("abc")


@failures.get("/unexpected")
async def unexpected() -> Response:
    raise RuntimeError("password=hunter2 at db.internal:5432")


@failures.post("/strict")
async def strict() -> Response:
    await parse_body(Strict)
    return Response("unreachable", status=200)


app = Quart(__name__)
setup_service(app)
app.register_blueprint(failures)
