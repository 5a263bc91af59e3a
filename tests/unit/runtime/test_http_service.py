"""An app wired by setup_service, exercised through Quart's test client (no sockets)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
import structlog
from prometheus_client import REGISTRY
from quart import Blueprint, Quart, Response, jsonify

from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.errors import ErrorCode, NotFoundError
from huleedu_runtime.http import FromDishka, ReadinessChecks, create_app, inject, runtime_of
from huleedu_runtime.http.server import CloseWhileDraining
from huleedu_runtime.serving import health_app

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # examples/ from the checkout
from examples.content_service.config import ContentServiceSettings
from examples.content_service.startup_setup import setup_service

pytestmark = pytest.mark.unit

ERROR_KEYS = {"code", "message", "correlation_id", "service", "timestamp", "details"}


def content_app(**overrides: Any) -> Quart:
    app = Quart(__name__)
    setup_service(
        app, ContentServiceSettings(service_name="content-service", _env_file=None, **overrides)
    )
    return app


async def test_content_round_trip_and_unknown_id_is_a_structured_404() -> None:
    client = content_app().test_client()
    created = await client.post("/v1/content", json={"text": "hello world"})
    assert created.status_code == 201
    content_id = (await created.get_json())["content_id"]
    fetched = await client.get(f"/v1/content/{content_id}")
    assert (await fetched.get_json())["text"] == "hello world"

    missing = await client.get("/v1/content/nope", headers={"X-Correlation-ID": "req-42"})
    body = await missing.get_json()
    assert missing.status_code == 404
    assert set(body["error"]) == ERROR_KEYS
    assert body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert body["error"]["details"] == {"content_id": "nope"}
    assert body["error"]["correlation_id"] == "req-42"
    assert body["error"]["service"] == "content-service"


async def test_correlation_id_is_echoed_or_generated() -> None:
    client = content_app().test_client()
    echoed = await client.get("/healthz/live", headers={"X-Correlation-ID": "abc-123"})
    assert echoed.headers["X-Correlation-ID"] == "abc-123"
    generated = await client.get("/healthz/live")
    assert len(generated.headers["X-Correlation-ID"]) == 36
    unsafe_id = "<script>" + "x" * 300
    unsafe = await client.get("/healthz/live", headers={"X-Correlation-ID": unsafe_id})
    assert unsafe.headers["X-Correlation-ID"] != unsafe_id


async def test_an_unsafe_correlation_id_is_named_in_the_log_context_but_not_echoed() -> None:
    bp = Blueprint("ctx", __name__)

    @bp.get("/context")
    async def context() -> Response:
        return jsonify(structlog.contextvars.get_contextvars())

    app = create_app(__name__, settings=ServiceSettings(_env_file=None), blueprints=[bp])
    unsafe_id = "x" * 5000
    response = await app.test_client().get("/context", headers={"X-Correlation-ID": unsafe_id})
    bound = await response.get_json()
    assert bound["correlation_id"] == response.headers["X-Correlation-ID"] != unsafe_id
    assert bound["correlation_id_rejected"].startswith("5000 chars")
    assert len(bound["correlation_id_rejected"]) < 100

    plain = await app.test_client().get("/context", headers={"X-Correlation-ID": "req-7"})
    assert await plain.get_json() == {"correlation_id": "req-7"}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"data": "{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"json": {"wrong": "field"}}, 400),
        ({"json": {"text": ""}}, 400),
    ],
)
async def test_malformed_or_invalid_bodies_are_structured_400s(
    kwargs: dict[str, Any], code: int
) -> None:
    response = await content_app().test_client().post("/v1/content", **kwargs)
    body = await response.get_json()
    assert response.status_code == code
    assert body["error"]["code"] == "VALIDATION_ERROR"


async def test_an_oversized_body_is_a_structured_413() -> None:
    client = content_app(max_request_body_bytes=64).test_client()
    response = await client.post("/v1/content", json={"text": "x" * 500})
    assert response.status_code == 413
    assert (await response.get_json())["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_an_unexpected_exception_is_a_500_that_leaks_nothing() -> None:
    bp = Blueprint("boom", __name__)

    @bp.get("/boom")
    async def boom() -> Response:
        raise RuntimeError("password=hunter2 at db.internal")

    app = create_app(__name__, settings=ServiceSettings(_env_file=None), blueprints=[bp])
    response = await app.test_client().get("/boom")
    text = await response.get_data(as_text=True)
    assert response.status_code == 500
    assert "hunter2" not in text
    assert "RuntimeError" not in text
    assert (await response.get_json())["error"]["code"] == "INTERNAL_ERROR"


async def test_service_errors_map_codes_to_statuses() -> None:
    bp = Blueprint("errs", __name__)

    @bp.get("/timeout")
    async def timeout() -> Response:
        from huleedu_runtime.errors import ServiceError

        raise ServiceError(ErrorCode.TIMEOUT, "slow dependency")

    @bp.get("/missing")
    async def missing() -> Response:
        raise NotFoundError(message="no such essay")

    app = create_app(__name__, settings=ServiceSettings(_env_file=None), blueprints=[bp])
    client = app.test_client()
    assert (await client.get("/timeout")).status_code == 504
    assert (await client.get("/missing")).status_code == 404
    assert (await client.delete("/missing")).status_code == 405


async def test_readiness_reports_503_with_the_failing_check_named() -> None:
    async def database() -> bool:
        raise ConnectionError("postgres://user:secret@db")

    async def cache() -> bool:
        return True

    app = create_app(
        __name__,
        settings=ServiceSettings(_env_file=None),
        readiness_checks={"database": database, "cache": cache},
    )
    response = await app.test_client().get("/healthz")
    body = await response.get_json()
    assert response.status_code == 503
    assert body["checks"]["cache"] == {"ok": True}
    assert body["checks"]["database"] == {"ok": False, "reason": "ConnectionError"}
    assert "secret" not in await response.get_data(as_text=True)

    runtime_of(app).readiness.checks.pop("database")
    assert (await app.test_client().get("/healthz")).status_code == 200


async def test_metrics_are_labelled_by_route_template_not_raw_path() -> None:
    client = content_app().test_client()
    for i in range(5):
        await client.get(f"/v1/content/unit-metrics-{i}")
    before = REGISTRY.get_sample_value(
        "huleedu_http_requests_total",
        {"method": "GET", "route": "/v1/content/<content_id>", "status": "404"},
    )
    assert before is not None
    assert before >= 5
    text = await (await client.get("/metrics")).get_data(as_text=True)
    assert "unit-metrics-" not in text
    assert 'route="/v1/content/<content_id>"' in text


async def test_handlers_get_dependencies_injected_by_dishka() -> None:
    bp = Blueprint("di", __name__)

    @bp.get("/name")
    @inject
    async def name(settings: FromDishka[ServiceSettings]) -> Response:
        return jsonify({"name": settings.service_name})

    app = create_app(
        __name__, settings=ServiceSettings(service_name="di-svc", _env_file=None), blueprints=[bp]
    )
    assert (await (await app.test_client().get("/name")).get_json()) == {"name": "di-svc"}


async def test_once_draining_readiness_is_503_without_running_checks_and_liveness_stays_200() -> (
    None
):
    ran: list[str] = []

    async def database() -> bool:
        ran.append("database")
        return True

    app = create_app(
        __name__, settings=ServiceSettings(_env_file=None), readiness_checks={"db": database}
    )
    client = app.test_client()
    assert (await client.get("/healthz")).status_code == 200
    ran.clear()

    runtime_of(app).readiness.start_draining()
    ready = await client.get("/healthz")
    assert ready.status_code == 503
    assert (await ready.get_json())["status"] == "draining"
    assert ran == [], "a leaving pod is not ready whatever its dependencies say"
    assert (await client.get("/healthz/live")).status_code == 200


async def test_the_metrics_port_app_shares_readiness_and_serves_no_app_routes() -> None:
    readiness = ReadinessChecks()
    metrics = health_app("svc-metrics", service_name="svc", readiness=readiness)
    client = metrics.test_client()
    assert (await client.get("/metrics")).status_code == 200
    assert (await client.get("/healthz/live")).status_code == 200
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/v1/content")).status_code == 404
    readiness.start_draining()
    assert (await client.get("/healthz")).status_code == 503


async def test_while_draining_responses_tell_keep_alive_clients_to_close() -> None:
    readiness = ReadinessChecks()
    app = CloseWhileDraining(
        create_app(__name__, settings=ServiceSettings(_env_file=None)), readiness
    )
    sent: list[dict[str, Any]] = []

    async def call() -> dict[str, bytes]:
        sent.clear()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/healthz/live",
            "raw_path": b"/healthz/live",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"svc")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8001),
        }

        requests = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if requests:
                return requests.pop()
            await asyncio.Event().wait()  # the client stays connected
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await asyncio.wait_for(app(scope, receive, send), timeout=5)
        (start,) = [m for m in sent if m["type"] == "http.response.start"]
        return {k.decode(): v for k, v in start["headers"]}

    assert "connection" not in await call()
    readiness.start_draining()
    assert (await call())["connection"] == b"close"
