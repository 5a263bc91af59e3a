"""``/v1/content``: POST stores text, GET returns it or a structured 404."""

from typing import Any

from examples.content_service.config import ContentServiceSettings
from examples.content_service.store import ContentStore, StoredContent
from pydantic import BaseModel, Field
from quart import Blueprint, Response, jsonify

from huleedu_runtime.errors import ErrorCode, ServiceError
from huleedu_runtime.http import FromDishka, inject, parse_body

content_bp = Blueprint("content", __name__, url_prefix="/v1/content")


class CreateContent(BaseModel):
    text: str = Field(min_length=1)
    content_type: str = "text/plain"


def _as_json(item: StoredContent) -> dict[str, Any]:
    return {
        "content_id": item.content_id,
        "text": item.text,
        "content_type": item.content_type,
        "created_at": item.created_at.isoformat(),
    }


@content_bp.post("")
@inject
async def create_content(
    store: FromDishka[ContentStore], settings: FromDishka[ContentServiceSettings]
) -> tuple[Response, int]:
    body = await parse_body(CreateContent)
    if len(body.text) > settings.max_content_chars:
        raise ServiceError(
            ErrorCode.VALIDATION_ERROR,
            f"text is longer than {settings.max_content_chars} characters",
            {"field": "text", "length": len(body.text)},
        )
    item = await store.save(body.text, body.content_type)
    return jsonify(_as_json(item)), 201


@content_bp.get("/<content_id>")
@inject
async def get_content(content_id: str, store: FromDishka[ContentStore]) -> Response:
    return jsonify(_as_json(await store.get(content_id)))
