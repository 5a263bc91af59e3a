"""A service with a slow route, for the shutdown tests (requests in flight at SIGTERM).

Served by ``huleedu-runtime serve-http slow_app:app --app-dir tests/kafka``.
"""

from __future__ import annotations

import asyncio

from quart import Blueprint, Quart, Response, jsonify

from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.http import setup_service

routes = Blueprint("slow", __name__)


@routes.get("/hello")
async def hello() -> Response:
    return jsonify({"hello": "world"})


@routes.get("/slow/<float:seconds>")
async def slow(seconds: float) -> Response:
    await asyncio.sleep(seconds)
    return jsonify({"slept": seconds})


app = Quart(__name__)
setup_service(app, settings=ServiceSettings(service_name="slow-service"), blueprints=[routes])
