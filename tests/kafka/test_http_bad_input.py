"""Bad input against a real hypercorn process: every answer a structured 4xx, never a 500.

The server is ``huleedu-runtime serve-http`` running a small app made with the runtime's
app factory (``bad_input_app``). Most requests go through httpx; the ones about what is
sent when (``Expect: 100-continue``, a chunked upload the server stops reading) are
written on a raw socket, because an HTTP client library hides exactly that.
No broker is needed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from bad_input_app import SLOW_READ_SECONDS
from kafka_harness import REPO_ROOT, RUNTIME_CLI

from huleedu_runtime.contract import Env
from support.ports import free_port

APP_DIR = REPO_ROOT / "tests" / "kafka"
SERVICE = "bad-input-service"
BODY_LIMIT = 64 * 1024
ERROR_KEYS = {"code", "message", "correlation_id", "service", "timestamp", "details"}


@dataclass
class Server:
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("bad-input") / "server.log"
    env = {
        **{k: v for k, v in os.environ.items() if k not in {Env.SERVICE_NAME, Env.METRICS_PORT}},
        Env.HOST: "127.0.0.1",
        Env.PORT: str(port),
        Env.SERVICE_NAME: SERVICE,
        Env.LOG_LEVEL: "WARNING",
        Env.MAX_REQUEST_BODY_BYTES: str(BODY_LIMIT),
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [RUNTIME_CLI, "serve-http", "bad_input_app:app", "--app-dir", str(APP_DIR)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    started = Server(port, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            try:
                httpx.get(f"{started.base}/healthz/live", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start within 30s"
                time.sleep(0.1)
        yield started
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    assert rc == 0, f"server exited {rc} on SIGTERM:\n{log_path.read_text()[-3000:]}"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def assert_structured(
    response: httpx.Response | RawResponse, status: int, code: str
) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error, dict)
    assert set(error) == ERROR_KEYS
    assert error["code"] == code
    assert error["service"] == SERVICE
    assert error["correlation_id"] == response.headers["x-correlation-id"]
    return error


# --- raw HTTP/1.1, for what a client library hides -----------------------------------


@dataclass
class RawResponse:
    """One response read off a raw socket."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> dict[str, object]:
        parsed = json.loads(self.content)
        assert isinstance(parsed, dict)
        return parsed


def read_responses(sock: socket.socket) -> list[RawResponse]:
    """Every response up to and including the first final (>= 200) one."""
    buffer = b""
    responses: list[RawResponse] = []

    def more() -> bytes:
        data = sock.recv(65536)
        assert data, f"the server closed the connection after {responses} + {buffer!r}"
        return data

    while True:
        while b"\r\n\r\n" not in buffer:
            buffer += more()
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, value in (line.split(":", 1) for line in header_lines)
        }
        length = int(headers.get("content-length", "0"))
        while len(buffer) < length:
            buffer += more()
        response = RawResponse(int(status_line.split()[1]), headers, buffer[:length])
        buffer = buffer[length:]
        responses.append(response)
        if response.status_code >= 200:
            return responses


def read_interim_status(sock: socket.socket) -> int:
    """The status of the next response head, read byte by byte so nothing after it is
    consumed (the final response follows once the body is sent)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        assert byte, f"the server closed the connection after {head!r}"
        head += byte
    return int(head.split(b" ", 2)[1])


def closed_by_server(sock: socket.socket) -> bool:
    """The server closed the connection (a reset counts: it closed with our bytes unread)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def request_head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: bad-input.test", *headers, "", ""]
    return "\r\n".join(lines).encode()


# --- malformed JSON ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[" * 1100 + b"]" * 1100, b'{"a":' * 1100 + b"1" + b"}" * 1100],
    ids=["arrays", "objects"],
)
def test_json_nested_too_deeply_is_a_structured_400_and_logs_no_traceback(
    server: Server, client: httpx.Client, body: bytes
) -> None:
    log_before = server.log.read_text()
    for _ in range(3):
        response = client.post(
            f"{server.base}/items", content=body, headers={"Content-Type": "application/json"}
        )
        error = assert_structured(response, 400, "VALIDATION_ERROR")
        assert "nested" in str(error["message"])
    logged = server.log.read_text()[len(log_before) :]
    for sign in ("Traceback", "RecursionError", "unhandled_exception"):
        assert sign not in logged, logged[-3000:]


# --- methods -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/items/abc", {"GET", "HEAD", "OPTIONS", "PUT"}),
        ("GET", "/items", {"OPTIONS", "POST"}),
    ],
)
def test_a_405_names_the_routes_methods_in_allow(
    server: Server, client: httpx.Client, method: str, path: str, allowed: set[str]
) -> None:
    response = client.request(method, f"{server.base}{path}")
    assert_structured(response, 405, "METHOD_NOT_ALLOWED")
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


# --- content types -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/jsonp",
    ],
)
def test_a_json_route_answers_a_non_json_body_with_415_naming_the_expected_type(
    server: Server, client: httpx.Client, content_type: str
) -> None:
    response = client.post(
        f"{server.base}/items", content=b'{"name": "x"}', headers={"Content-Type": content_type}
    )
    error = assert_structured(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "application/json" in str(error["message"])
    assert error["details"] == {"expected_content_type": "application/json"}


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"],
)
def test_a_json_route_accepts_json_and_json_suffixed_types(
    server: Server, client: httpx.Client, content_type: str
) -> None:
    response = client.post(
        f"{server.base}/items", content=b'{"name": "x"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 201, response.text


# --- oversized bodies ----------------------------------------------------------------


def test_a_declared_body_over_the_limit_is_refused_at_once_without_100_continue(
    server: Server,
) -> None:
    head = request_head(
        "/items",
        "Content-Type: application/json",
        f"Content-Length: {BODY_LIMIT * 1000}",
        "Expect: 100-continue",
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        responses = read_responses(sock)
        assert [r.status_code for r in responses] == [413], (
            "a body that will be refused is not asked for"
        )
        assert_structured(responses[0], 413, "PAYLOAD_TOO_LARGE")
        assert responses[0].headers.get("connection") == "close"
        assert closed_by_server(sock), "the unread body ends the connection"


def test_a_declared_body_within_the_limit_still_gets_100_continue(server: Server) -> None:
    body = b'{"name": "small"}'
    head = request_head(
        "/items",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Expect: 100-continue",
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        assert read_interim_status(sock) == 100
        sock.sendall(body)
        (created,) = read_responses(sock)
        assert created.status_code == 201


def test_a_chunked_body_is_not_read_past_the_limit(server: Server) -> None:
    """The handler reads its body only after SLOW_READ_SECONDS; until then the server
    must not keep taking the upload: the client's writes stall soon after the limit."""
    chunk = 16 * 1024
    frames = (f"{chunk:x}\r\n".encode() + b"x" * chunk + b"\r\n") * 64
    upload_cap = 2 * 1024**3
    head = request_head(
        "/slow-upload", "Content-Type: application/json", "Transfer-Encoding: chunked"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)
        sock.sendall(head)
        sock.settimeout(1.0)
        sent, stalled, view = 0, False, memoryview(frames)
        began = time.monotonic()
        while sent < upload_cap and time.monotonic() - began < SLOW_READ_SECONDS - 1:
            offset = sent % len(frames)
            try:
                sent += sock.send(view[offset:])
            except TimeoutError:
                stalled = True
                break
        assert stalled, f"the server read {sent / 2**20:.0f} MiB of a body limited to 64 KiB"
        print(f"the upload stalled after {sent / 2**20:.1f} MiB")
        assert sent < 16 * 2**20, f"{sent / 2**20:.1f} MiB accepted before the upload stalled"
        sock.settimeout(SLOW_READ_SECONDS + 10)
        (refused,) = read_responses(sock)
        assert_structured(refused, 413, "PAYLOAD_TOO_LARGE")
        assert refused.headers.get("connection") == "close"
        sock.settimeout(5)
        assert closed_by_server(sock), "the refused request's connection was left hanging"
