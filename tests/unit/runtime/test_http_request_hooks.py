"""The request hooks read the two headers they need from the ASGI scope in one pass:
the same answers as ``request.headers`` (case-insensitive names, the first of
repeated headers, latin-1 values) and ``request.content_length``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import structlog
from quart import Blueprint, Quart, Response, g, jsonify, request

from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.correlation import new_correlation_id
from huleedu_runtime.http import create_app
from huleedu_runtime.http.request_hooks import _scan_headers, install_request_hooks

pytestmark = pytest.mark.unit


def echo_app(**settings: Any) -> Quart:
    bp = Blueprint("echo", __name__)

    @bp.route("/echo", methods=["GET", "POST"])
    async def echo() -> Response:
        return jsonify(
            {
                "g": g.correlation_id,
                "logged": structlog.contextvars.get_contextvars().get("correlation_id"),
                "werkzeug": request.headers.get("X-Correlation-ID"),
            }
        )

    return create_app(
        "hooks-test",
        settings=ServiceSettings(service_name="hooks-test", _env_file=None, **settings),
        blueprints=[bp],
    )


@pytest.mark.parametrize("name", ["X-Correlation-ID", "x-correlation-id", "X-CORRELATION-ID"])
async def test_the_correlation_header_is_found_whatever_its_case(name: str) -> None:
    response = await echo_app().test_client().get("/echo", headers={name: "req-1"})
    assert response.headers["X-Correlation-ID"] == "req-1"
    assert await response.get_json() == {"g": "req-1", "logged": "req-1", "werkzeug": "req-1"}


async def test_of_repeated_correlation_headers_the_first_is_adopted_as_werkzeug_would() -> None:
    client = echo_app().test_client()
    response = await client.get(
        "/echo", headers=[("X-Correlation-ID", "first"), ("X-Correlation-ID", "second")]
    )
    body = await response.get_json()
    assert body["werkzeug"] == "first"
    assert body["g"] == body["logged"] == response.headers["X-Correlation-ID"] == "first"


async def test_an_empty_or_missing_correlation_header_gets_a_fresh_uuid() -> None:
    client = echo_app().test_client()
    for headers in ({}, {"X-Correlation-ID": ""}):
        response = await client.get("/echo", headers=headers)
        fresh = response.headers["X-Correlation-ID"]
        assert str(uuid.UUID(fresh)) == fresh
        assert (await response.get_json())["g"] == fresh


async def test_a_declared_length_over_the_limit_is_refused_and_one_within_is_served() -> None:
    client = echo_app(max_request_body_bytes=64).test_client()
    refused = await client.post("/echo", data=b"x" * 65, headers={"Content-Length": "65"})
    assert refused.status_code == 413
    within = await client.post("/echo", data=b"x" * 64, headers={"content-length": "64"})
    assert within.status_code == 200


async def test_the_hooks_work_on_a_plain_quart_app_without_the_body_limit_wrapper() -> None:
    app = Quart(__name__)
    install_request_hooks(app, max_body_bytes=8)

    @app.post("/")
    async def index() -> str:
        return "ok"

    client = app.test_client()
    refused = await client.post("/", data=b"123456789", headers={"Content-Length": "9"})
    assert refused.status_code == 413
    ok = await client.post("/", data=b"1234", headers={"X-Correlation-ID": "c-1"})
    assert ok.status_code == 200
    assert ok.headers["X-Correlation-ID"] == "c-1"


def test_the_scan_matches_names_case_insensitively_and_keeps_the_first_value() -> None:
    raw = [
        (b"Content-Length", b"3"),
        (b"x-correlation-id", "caf\xe9".encode("latin1")),
        (b"X-Correlation-Id", b"later"),
    ]
    assert _scan_headers(raw) == ("caf\xe9", True)
    assert _scan_headers([(b"host", b"h")]) == (None, False)


def test_fresh_correlation_ids_are_canonical_version_4_uuids() -> None:
    ids = {new_correlation_id() for _ in range(2000)}
    assert len(ids) == 2000
    for fresh in ids:
        parsed = uuid.UUID(fresh)
        assert str(parsed) == fresh
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
