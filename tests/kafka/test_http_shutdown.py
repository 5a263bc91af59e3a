"""``serve-http`` as a pod runs it: the SIGTERM drain, the separate metrics port, the logs.

Each test starts ``huleedu-runtime serve-http`` as a subprocess on real ports and talks
to it over TCP with fresh connections, as a client behind a Kubernetes Service would
after kube-proxy picked this pod. The drain is what a rolling update relies on for zero
failed requests: readiness goes 503 at once, the listener stays open for
``SHUTDOWN_DRAIN_SECONDS``, then hypercorn stops accepting and finishes what is in
flight within ``SHUTDOWN_TIMEOUT_SECONDS``, and the process exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from kafka_harness import REPO_ROOT, RUNTIME_CLI
from prometheus_client.parser import text_string_to_metric_families

from huleedu_runtime.contract import Env
from support.ports import free_port

APP_DIR = REPO_ROOT / "tests" / "kafka"
DRAIN = 2.0
TIMEOUT = 8.0
IN_FLIGHT = 4.0  # longer than the drain, shorter than the timeout


@dataclass
class Server:
    """A running ``serve-http`` subprocess."""

    proc: subprocess.Popen[bytes]
    port: int
    stdout: Path
    stderr: Path

    def url(self, path: str, port: int | None = None) -> str:
        return f"http://127.0.0.1:{port or self.port}{path}"

    def logs(self) -> str:
        return self.stdout.read_text()[-3000:] + self.stderr.read_text()[-3000:]


def get(url: str, timeout: float = 10) -> httpx.Response:
    """One request on a fresh connection (no keep-alive pool to hide a closed listener)."""
    return httpx.get(url, timeout=timeout)


Start = Callable[..., Server]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """Start ``serve-http slow_app:app`` with extra env; waits until it answers."""
    started: list[Server] = []

    def _start(**env: str) -> Server:
        port = int(env.pop(Env.PORT, free_port()))
        out, err = tmp_path / f"{port}.out", tmp_path / f"{port}.err"
        full_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SHUTDOWN_", "METRICS_"))},
            Env.HOST: "127.0.0.1",
            Env.PORT: str(port),
            Env.LOG_LEVEL: "INFO",
            **env,
        }
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            proc = subprocess.Popen(
                [RUNTIME_CLI, "serve-http", "slow_app:app", "--app-dir", str(APP_DIR)],
                env=full_env,
                stdout=stdout,
                stderr=stderr,
                cwd=REPO_ROOT,
            )
        server = Server(proc, port, out, err)
        started.append(server)
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"server exited {proc.returncode}:\n{server.logs()}"
            try:
                get(server.url("/healthz/live"), timeout=1)
                return server
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start within 30s"
                time.sleep(0.1)

    yield _start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


def wait_for(predicate: Callable[[], bool], timeout: float, message: str) -> float:
    """Poll ``predicate`` until true; returns the seconds it took."""
    began = time.monotonic()
    while not predicate():
        assert time.monotonic() - began < timeout, message
        time.sleep(0.05)
    return time.monotonic() - began


def refuses_connections(url: str) -> bool:
    try:
        get(url, timeout=1)
    except httpx.ConnectError:
        return True
    except httpx.RemoteProtocolError:
        # Accepted in the instant the listener closed, then closed unanswered: the edge
        # the drain exists to keep clients away from. Not refused yet; poll again.
        return False
    return False


# --- the drain ---------------------------------------------------------------------


def test_sigterm_turns_readiness_503_at_once_serves_through_the_drain_and_exits_0(
    start: Start,
) -> None:
    metrics_port = free_port()
    server = start(
        SHUTDOWN_DRAIN_SECONDS=str(DRAIN),
        SHUTDOWN_TIMEOUT_SECONDS=str(TIMEOUT),
        METRICS_PORT=str(metrics_port),
    )
    assert get(server.url("/healthz")).status_code == 200
    before = get(server.url("/hello"))
    assert before.headers.get("connection", "") != "close"

    with ThreadPoolExecutor(max_workers=1) as pool:
        signalled = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        took = wait_for(
            lambda: get(server.url("/healthz")).status_code == 503,
            timeout=1.0,
            message="readiness did not turn 503 within 1s of SIGTERM",
        )
        print(f"readiness 503 {took:.3f}s after SIGTERM")
        ready = get(server.url("/healthz"))
        assert ready.json()["status"] == "draining"
        assert get(server.url("/healthz", metrics_port)).status_code == 503
        assert get(server.url("/healthz/live")).status_code == 200, "draining is not dying"

        in_flight = pool.submit(get, server.url(f"/slow/{IN_FLIGHT}"), TIMEOUT + 5)
        served = 0
        while time.monotonic() - signalled < DRAIN - 0.5:
            response = get(server.url("/hello"))
            assert response.status_code == 200, response.text
            # Keep-alive clients are told to reconnect, i.e. to another pod.
            assert response.headers["connection"] == "close"
            served += 1
            time.sleep(0.05)
        assert served >= 5, f"only {served} requests fit in the drain window"

        wait_for(
            lambda: refuses_connections(server.url("/hello")),
            timeout=DRAIN + 2,
            message="the listener was still open after the drain",
        )
        closed_after = time.monotonic() - signalled
        assert closed_after >= DRAIN, f"the listener closed {closed_after:.2f}s in, mid-drain"
        assert not in_flight.done(), "the in-flight request ended before the listener closed"

        finished = in_flight.result()
        assert finished.status_code == 200
        assert finished.json() == {"slept": IN_FLIGHT}

    rc = server.proc.wait(timeout=DRAIN + TIMEOUT)
    elapsed = time.monotonic() - signalled
    assert rc == 0, f"exit {rc}:\n{server.logs()}"
    assert elapsed < DRAIN + TIMEOUT, f"took {elapsed:.2f}s"
    events = [json.loads(line)["event"] for line in server.stdout.read_text().splitlines()]
    for event in ("shutdown_signal_received", "http_server_draining", "http_server_stopped"):
        assert event in events


def test_without_a_drain_sigterm_stops_accepting_at_once_and_finishes_in_flight(
    start: Start,
) -> None:
    server = start(SHUTDOWN_TIMEOUT_SECONDS=str(TIMEOUT))
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_flight = pool.submit(get, server.url("/slow/2.0"), TIMEOUT + 5)
        time.sleep(0.5)  # let the request reach the app
        signalled = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        wait_for(
            lambda: refuses_connections(server.url("/hello")),
            timeout=1.5,
            message="with SHUTDOWN_DRAIN_SECONDS unset the listener should close at once",
        )
        assert in_flight.result().status_code == 200
    assert server.proc.wait(timeout=TIMEOUT) == 0, server.logs()
    assert time.monotonic() - signalled < TIMEOUT


# --- the metrics port --------------------------------------------------------------


def test_a_separate_metrics_port_serves_metrics_and_health_but_not_the_app(
    start: Start,
) -> None:
    metrics_port = free_port()
    server = start(METRICS_PORT=str(metrics_port))
    assert get(server.url("/hello")).status_code == 200

    scraped = get(server.url("/metrics", metrics_port))
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(scraped.text)}
    routes = {s.labels.get("route") for s in families["huleedu_http_requests"].samples}
    assert "/hello" in routes, "the metrics port shows the app's request metrics"

    live = get(server.url("/healthz/live", metrics_port))
    ready = get(server.url("/healthz", metrics_port))
    assert (live.status_code, live.json()["status"]) == (200, "alive")
    assert (ready.status_code, ready.json()["status"]) == (200, "ready")
    assert get(server.url("/hello", metrics_port)).status_code == 404, "no app routes there"

    assert get(server.url("/metrics")).status_code == 200, "the main port keeps /metrics"

    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=TIMEOUT) == 0, server.logs()


def test_a_metrics_port_equal_to_the_port_is_served_once(start: Start) -> None:
    port = free_port()
    server = start(PORT=str(port), METRICS_PORT=str(port))
    assert get(server.url("/metrics")).status_code == 200
    assert get(server.url("/healthz")).status_code == 200
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=TIMEOUT) == 0, server.logs()


# --- one log stream ----------------------------------------------------------------


def test_hypercorns_own_log_lines_are_json_on_stdout_like_the_runtimes(start: Start) -> None:
    server = start()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=TIMEOUT) == 0, server.logs()

    assert server.stderr.read_text() == "", "nothing is logged as plain text on stderr"
    lines = [json.loads(line) for line in server.stdout.read_text().splitlines() if line]
    hypercorn = [line for line in lines if line.get("logger") == "hypercorn.error"]
    assert any("Running on" in line["event"] for line in hypercorn), lines
    for line in hypercorn:
        assert line["service"] == "slow-service"
        assert {"level", "timestamp"} <= line.keys()
