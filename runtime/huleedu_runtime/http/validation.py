"""Parse a request body into a pydantic model, failing as a structured 400.

Malformed JSON and bodies that do not fit the model both become
``VALIDATION_ERROR``; handlers receive a typed object or never run.
"""

from __future__ import annotations

import json
from typing import TypeVar

import pydantic
from quart import request

from huleedu_runtime.errors import ErrorCode, ServiceError

M = TypeVar("M", bound=pydantic.BaseModel)


async def parse_body(model: type[M]) -> M:
    """The request's JSON body validated as ``model``."""
    raw = await request.get_data(as_text=False)
    if not raw:
        raise ServiceError(ErrorCode.VALIDATION_ERROR, "request body is empty; send JSON")
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceError(
            ErrorCode.VALIDATION_ERROR,
            "request body is not valid JSON",
            {"position": getattr(exc, "pos", None)},
        ) from None
    # pydantic.ValidationError propagates and is rendered with field details.
    return model.model_validate(payload)
