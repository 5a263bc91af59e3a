"""A small service made with the runtime's app factory, for the bad-input tests.

Served by ``huleedu-runtime serve-http bad_input_app:app --app-dir tests/kafka``; the
settings (``SERVICE_NAME``, ``MAX_REQUEST_BODY_BYTES``) come from the environment.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel
from quart import Blueprint, Response, jsonify

from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.http import create_app, parse_body

SLOW_READ_SECONDS = 4.0
"""How long ``/slow-upload`` waits before it reads its body."""


class Item(BaseModel):
    name: str
    data: Any = None


items = Blueprint("items", __name__)


@items.post("/items")
async def create_item() -> tuple[Response, int]:
    item = await parse_body(Item)
    return jsonify({"name": item.name}), 201


@items.route("/items/<item_id>", methods=["GET", "PUT"])
async def item(item_id: str) -> Response:
    return jsonify({"id": item_id})


@items.post("/slow-upload")
async def slow_upload() -> tuple[Response, int]:
    # A handler that awaits something (a database, a lock) before it reads the body.
    await asyncio.sleep(SLOW_READ_SECONDS)
    item = await parse_body(Item)
    return jsonify({"name": item.name}), 201


app = create_app(__name__, settings=ServiceSettings(), blueprints=[items])
