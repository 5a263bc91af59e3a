"""Parse a request body into a pydantic model, failing as a structured 4xx.

Malformed JSON and bodies that do not fit the model both become ``VALIDATION_ERROR``
(400); handlers receive a typed object or never run. A body sent as something other
than JSON (a form, ``text/plain``) is ``UNSUPPORTED_MEDIA_TYPE`` (415) before it is
read: a 400 would tell the client its JSON is wrong when it sent none. A body without
a ``Content-Type`` is parsed as JSON, as it always was. JSON nested deeper than the
interpreter's recursion limit (a 2 KB body of brackets does it) makes ``json.loads``
raise ``RecursionError``; that is malformed input too, not a 500 with a traceback.
"""

from __future__ import annotations

import json
from typing import TypeVar

import pydantic
from quart import request

from huleedu_runtime.errors import ErrorCode, ServiceError

M = TypeVar("M", bound=pydantic.BaseModel)

JSON_CONTENT_TYPE = "application/json"


async def parse_body(model: type[M]) -> M:
    """The request's JSON body validated as ``model``."""
    # is_json: application/json or application/*+json (werkzeug's rule, as get_json's).
    if request.mimetype and not request.is_json:
        raise ServiceError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"request body must be JSON: send Content-Type: {JSON_CONTENT_TYPE}",
            {"expected_content_type": JSON_CONTENT_TYPE},
        )
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
    except RecursionError:
        raise ServiceError(
            ErrorCode.VALIDATION_ERROR, "request body is not valid JSON: nested too deeply"
        ) from None
    # pydantic.ValidationError propagates and is rendered with field details.
    return model.model_validate(payload)
