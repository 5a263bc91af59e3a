"""The http runtime through a real hypercorn server on a real port.

The servers are the CLI as a pod runs it: ``huleedu-runtime serve-http`` (the
spelling the operator renders) for the content example, and
``huleedu-service http`` for an app that raises every kind of error. Requests go
over TCP with httpx, so hypercorn's own parsing, the body limit as hypercorn
streams it, and the error handlers are all in the path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kafka_harness import REPO_ROOT, RUNTIME_CLI
from prometheus_client.parser import text_string_to_metric_families

from huleedu_runtime.errors import STATUS_BY_CODE, ErrorCode
from support.ports import free_port

ERROR_KEYS = {"code", "message", "correlation_id", "service", "timestamp", "details"}
BODY_LIMIT = 64 * 1024


def serve(argv: list[str], log_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CONTENT_SERVICE_") and k != "SERVICE_NAME"
        },
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "MAX_REQUEST_BODY_BYTES": str(BODY_LIMIT),
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            try:
                httpx.get(f"{base}/healthz/live", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start within 30s"
                time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    assert rc == 0, f"server exited {rc} on SIGTERM:\n{log_path.read_text()[-3000:]}"


@pytest.fixture(scope="module")
def content_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("http") / "content.log"
    yield from serve(
        [RUNTIME_CLI, "serve-http", "examples.content_service.app:app", "--app-dir", "."], log
    )


@pytest.fixture(scope="module")
def failing_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("http") / "failing.log"
    # `huleedu-service http` (the console script may not be installed in this venv yet).
    launcher = "import sys; from huleedu_runtime.cli import service_main; service_main()"
    yield from serve(
        [
            sys.executable,
            "-c",
            launcher,
            "http",
            "http_error_app:app",
            "--app-dir",
            str(REPO_ROOT / "tests" / "kafka"),
        ],
        log,
    )


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def assert_structured(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS
    assert error["code"] == code
    assert error["correlation_id"] == response.headers["X-Correlation-ID"]
    assert error["service"] == "content-service"
    assert isinstance(error, dict)
    return error


# --- endpoints ---------------------------------------------------------------------


def test_content_is_stored_and_returned_and_an_unknown_id_is_a_structured_404(
    content_service: str, client: httpx.Client
) -> None:
    created = client.post(f"{content_service}/v1/content", json={"text": "hello over tcp"})
    assert created.status_code == 201
    content_id = created.json()["content_id"]

    fetched = client.get(f"{content_service}/v1/content/{content_id}")
    assert fetched.status_code == 200
    assert fetched.json()["text"] == "hello over tcp"

    missing = client.get(f"{content_service}/v1/content/no-such-id")
    error = assert_structured(missing, 404, "RESOURCE_NOT_FOUND")
    assert error["details"] == {"content_id": "no-such-id"}


def test_health_endpoints_answer_json(content_service: str, client: httpx.Client) -> None:
    live = client.get(f"{content_service}/healthz/live")
    ready = client.get(f"{content_service}/healthz")
    assert (live.status_code, live.json()["status"]) == (200, "alive")
    assert (ready.status_code, ready.json()["status"]) == (200, "ready")


# --- correlation ids ---------------------------------------------------------------


def test_a_correlation_id_sent_is_echoed_and_quoted_in_the_error_body(
    content_service: str, client: httpx.Client
) -> None:
    sent = f"req-{uuid.uuid4().hex}"
    response = client.get(f"{content_service}/v1/content/nope", headers={"X-Correlation-ID": sent})
    assert response.headers["X-Correlation-ID"] == sent
    assert response.json()["error"]["correlation_id"] == sent


def test_a_missing_or_unsafe_correlation_id_is_replaced_by_a_fresh_uuid(
    content_service: str, client: httpx.Client
) -> None:
    plain = client.get(f"{content_service}/healthz/live")
    unsafe = client.get(
        f"{content_service}/healthz/live", headers={"X-Correlation-ID": "a b<script>"}
    )
    for response in (plain, unsafe):
        uuid.UUID(response.headers["X-Correlation-ID"])
    assert plain.headers["X-Correlation-ID"] != unsafe.headers["X-Correlation-ID"]


# --- every error class -------------------------------------------------------------


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_code_leaves_as_the_structured_shape_with_its_status(
    failing_service: str, client: httpx.Client, code: ErrorCode
) -> None:
    response = client.get(f"{failing_service}/fail/code/{code.value}")
    error = assert_structured(response, int(STATUS_BY_CODE[code]), code.value)
    assert error["message"] == f"raised {code.value}"
    assert error["details"] == {"code_asked": code.value}


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("ValidationError", 400, "VALIDATION_ERROR"),
        ("NotFoundError", 404, "RESOURCE_NOT_FOUND"),
        ("ExternalServiceError", 502, "EXTERNAL_SERVICE_ERROR"),
        ("DependencyTimeoutError", 504, "TIMEOUT"),
    ],
)
def test_every_service_error_subclass_has_its_status_and_code(
    failing_service: str, client: httpx.Client, name: str, status: int, code: str
) -> None:
    error = assert_structured(client.get(f"{failing_service}/fail/class/{name}"), status, code)
    assert error["details"] == {"class": name}


def test_a_service_defined_error_keeps_its_details(
    failing_service: str, client: httpx.Client
) -> None:
    error = assert_structured(
        client.get(f"{failing_service}/fail/content-not-found"), 404, "RESOURCE_NOT_FOUND"
    )
    assert error["details"] == {"content_id": "abc"}


def test_an_unexpected_exception_is_a_generic_500_that_leaks_nothing(
    failing_service: str, client: httpx.Client
) -> None:
    response = client.get(f"{failing_service}/fail/unexpected")
    error = assert_structured(response, 500, "INTERNAL_ERROR")
    assert error["message"] == "internal server error"
    for leak in ("hunter2", "db.internal", "RuntimeError", "Traceback"):
        assert leak not in response.text


def test_a_body_the_model_rejects_is_a_400_naming_the_field(
    failing_service: str, client: httpx.Client
) -> None:
    response = client.post(f"{failing_service}/fail/strict", json={"count": "many"})
    error = assert_structured(response, 400, "VALIDATION_ERROR")
    assert error["details"]["errors"][0]["field"] == "count"  # type: ignore[index]
    assert "many" not in response.text, "the rejected input is not echoed back"


# --- malformed and oversized requests: 4xx, never 500 ------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'{"text": ""}', "application/json"),
        (b'{"wrong": "field"}', "application/json"),
        (b'{"text": "x"' + b"}" * 5, "application/json"),
    ],
    ids=["broken", "empty", "not-utf8", "array", "empty-text", "wrong-field", "trailing"],
)
def test_malformed_bodies_are_structured_400s(
    content_service: str, client: httpx.Client, content: bytes, content_type: str
) -> None:
    response = client.post(
        f"{content_service}/v1/content", content=content, headers={"Content-Type": content_type}
    )
    assert_structured(response, 400, "VALIDATION_ERROR")


def test_a_form_sent_to_a_json_route_is_a_structured_415(
    content_service: str, client: httpx.Client
) -> None:
    response = client.post(f"{content_service}/v1/content", data={"text": "hello"})
    error = assert_structured(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert error["details"] == {"expected_content_type": "application/json"}


def test_a_body_over_the_limit_with_a_content_length_is_a_structured_413(
    content_service: str, client: httpx.Client
) -> None:
    response = client.post(
        f"{content_service}/v1/content",
        content=b"x" * (BODY_LIMIT + 1),
        headers={"Content-Type": "application/json"},
    )
    assert_structured(response, 413, "PAYLOAD_TOO_LARGE")


def test_a_chunked_body_over_the_limit_is_a_structured_413(
    content_service: str, client: httpx.Client
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(2 * BODY_LIMIT // 4096):
            yield b"x" * 4096

    response = client.post(
        f"{content_service}/v1/content",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert_structured(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/no/such/route", 404, "RESOURCE_NOT_FOUND"),
        ("DELETE", "/v1/content/abc", 405, "METHOD_NOT_ALLOWED"),
        ("PUT", "/v1/content", 405, "METHOD_NOT_ALLOWED"),
    ],
)
def test_unknown_routes_and_methods_are_structured(
    content_service: str, client: httpx.Client, method: str, path: str, status: int, code: str
) -> None:
    assert_structured(client.request(method, f"{content_service}{path}"), status, code)


# --- /metrics ----------------------------------------------------------------------


def test_metrics_parse_and_ids_do_not_become_label_values(
    content_service: str, client: httpx.Client
) -> None:
    marker = uuid.uuid4().hex[:8]
    for i in range(100):
        client.get(f"{content_service}/v1/content/{marker}-{i}")
    client.get(f"{content_service}/no/such/{marker}")

    text = client.get(f"{content_service}/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}

    requests = families["huleedu_http_requests"]
    routes = {s.labels["route"] for s in requests.samples}
    assert "/v1/content/<content_id>" in routes
    assert "<unmatched>" in routes
    assert len(routes) <= 10, f"route labels grow with traffic: {sorted(routes)}"
    assert marker not in text, "a raw path or id leaked into a label value"
    hits = sum(
        s.value
        for s in requests.samples
        if s.name == "huleedu_http_requests_total"
        and s.labels == {"method": "GET", "route": "/v1/content/<content_id>", "status": "404"}
    )
    assert hits >= 100
    assert "huleedu_http_request_duration_seconds" in families
