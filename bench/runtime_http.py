"""HTTP overhead of the runtime: a ``create_app`` service vs bare Quart, in CPU per request.

**Ours** is what a user service runs: ``create_app`` (``setup_service``: correlation
ids, request metrics, body limit, error handlers, health blueprint, dishka) with a
blueprint whose view takes its store by ``@inject`` / ``FromDishka`` from an APP-scoped
provider, served by ``serve_service`` (what ``huleedu-runtime serve-http`` runs:
hypercorn with the runtime's config and drain wrapper). **Bare** is ``Quart()`` with
the same view reading the same store from a module global, on ``hypercorn.asyncio.serve``
with hypercorn's default ``Config``. One process each, one event loop.

The server processes are pinned to one core and this process (the load generator) to
the other(s) (:class:`bench.rounds.Cores`). After a warm-up, every round measures
both servers back to back, the order alternating (A B, B A, ...), each with:

1. a closed loop (``--connections`` keep-alive connections, each sending its next
   request when the last answered) for ``--seconds``: the server's CPU seconds
   (``/proc/<pid>/stat`` utime+stime) over the requests completed = CPU per request,
   the primary metric;
2. an open loop at a fixed rate (``--rate``, default half the slower server's warm-up
   throughput) for ``--latency-seconds``: latency from each request's *scheduled*
   send time to its response (no coordinated omission), p50/p99.

The round's ratio is bare CPU/request over ours (higher is better, target >= 0.9);
the result is the median of the per-round ratios with its IQR
(:func:`bench.rounds.summarise`). The load generator is in this file (raw asyncio
sockets, HTTP/1.1 keep-alive), so nothing outside the venv is needed.

    python -m bench.runtime_http                          # 10 rounds x (20 s + 10 s)
    python -m bench.runtime_http --rounds 4 --seconds 5 --latency-seconds 3 --warmup 2

Results: the ``http`` section of bench/results/runtime.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from bench import rounds as rr
from huleedu_runtime.http import FromDishka, inject

TARGET = 0.9
ROUTE = "/v1/items/<item_id>"
PATH = "/v1/items/item-42"
REQUEST = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
SIDES = ("ours", "bare")


class ItemStore:
    """The handler's dependency: the same lookup on both sides."""

    def __init__(self) -> None:
        self.items = {"item-42": {"id": "item-42", "text": "the same payload for both apps"}}

    def get(self, item_id: str) -> dict[str, str]:
        return self.items.get(item_id, {"id": item_id})


STORE = ItemStore()


# --- the two servers (built in the server process) --------------------------------------


@inject
async def _ours_view(item_id: str, store: FromDishka[ItemStore]) -> Any:
    from quart import jsonify

    return jsonify(store.get(item_id))


async def _bare_view(item_id: str) -> Any:
    from quart import jsonify

    return jsonify(STORE.get(item_id))


def _serve_ours(port: int) -> None:
    from dishka import Provider, Scope
    from quart import Blueprint

    from huleedu_runtime.config import ServiceSettings
    from huleedu_runtime.http import create_app
    from huleedu_runtime.http.server import serve_service

    provider = Provider(scope=Scope.APP)
    provider.provide(lambda: STORE, provides=ItemStore)
    bp = Blueprint("items", __name__)
    bp.add_url_rule(ROUTE, view_func=_ours_view, methods=["GET"])
    settings = ServiceSettings(
        service_name="bench-runtime",
        host="127.0.0.1",
        port=port,
        log_level="WARNING",
        _env_file=None,
    )
    app = create_app("bench-runtime", settings=settings, providers=[provider], blueprints=[bp])
    asyncio.run(serve_service(app, settings))


def _serve_bare(port: int) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config
    from quart import Blueprint, Quart

    bp = Blueprint("items", __name__)
    bp.add_url_rule(ROUTE, view_func=_bare_view, methods=["GET"])
    app = Quart("bare")
    app.register_blueprint(bp)
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait)

    asyncio.run(main())


# --- the load generator ---------------------------------------------------------------------


class _Connection:
    """One keep-alive connection; reopened when the server closes it (hypercorn closes
    a connection after ``keep_alive_max_requests``, 1000 by default)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reconnects = 0

    @classmethod
    async def open(cls, port: int) -> _Connection:
        conn = cls(port)
        await conn._connect()
        return conn

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def get(self) -> bool:
        """One request; True when the answer was a 200."""
        for _ in range(3):
            try:
                return await self._get()
            except (asyncio.IncompleteReadError, ConnectionError):
                self.close()
                self.reconnects += 1
                await self._connect()
        raise ConnectionError(f"port {self.port}: the server keeps closing the connection")

    async def _get(self) -> bool:
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(REQUEST)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length, closing = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                closing = True
        if length:
            await self.reader.readexactly(length)
        if closing:
            self.close()
            self.reconnects += 1
            await self._connect()
        return lines[0].split(b" ", 2)[1] == b"200"

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def _closed_loop(port: int, seconds: float, connections: int) -> tuple[int, int]:
    """(completed 200s, other answers) from ``connections`` loops for ``seconds``."""
    conns = [await _Connection.open(port) for _ in range(connections)]
    deadline = time.perf_counter() + seconds
    counts = [0, 0]

    async def loop(conn: _Connection) -> None:
        while time.perf_counter() < deadline:
            counts[0 if await conn.get() else 1] += 1

    try:
        await asyncio.gather(*(loop(c) for c in conns))
    finally:
        for c in conns:
            c.close()
    return counts[0], counts[1]


async def _open_loop(
    port: int, rate: float, seconds: float, connections: int
) -> tuple[list[float], int, int]:
    """Requests at ``rate``/s for ``seconds``: (latencies s, sorted; errors; unanswered)."""
    conns = [await _Connection.open(port) for _ in range(connections)]
    queue: asyncio.Queue[float | None] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)

    async def worker(conn: _Connection) -> None:
        nonlocal errors
        while (scheduled := await queue.get()) is not None:
            ok = await conn.get()
            latencies.append(time.perf_counter() - scheduled)
            errors += not ok

    workers = [asyncio.create_task(worker(c)) for c in conns]
    t0 = time.perf_counter()
    sent = 0
    while sent < total:
        due = min(total, int((time.perf_counter() - t0) * rate) + 1)
        for i in range(sent, due):
            queue.put_nowait(t0 + i / rate)
        sent = due
        await asyncio.sleep(max(0.0, t0 + sent / rate - time.perf_counter()))
    for _ in workers:
        queue.put_nowait(None)
    _, pending = await asyncio.wait(workers, timeout=30)
    for task in pending:
        task.cancel()
    for c in conns:
        c.close()
    latencies.sort()
    return latencies, errors, total - len(latencies)


# --- the harness --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(kind: str, cores: frozenset[int]) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.runtime_http", "--serve", kind, "--port", str(port)],
        cwd=rr.REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=rr.pin_self(cores),
    )
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the {kind} server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not listen within 30s") from None
            time.sleep(0.1)


def _saturated(pid: int, port: int, seconds: float, connections: int) -> dict[str, float]:
    cpu0, t0 = rr.cpu_seconds(pid), time.perf_counter()
    ok, bad = asyncio.run(_closed_loop(port, seconds, connections))
    cpu, wall = rr.cpu_seconds(pid) - cpu0, time.perf_counter() - t0
    return {
        "requests": ok,
        "non_200": bad,
        "requests_per_s": ok / wall,
        "server_cpu_s": cpu,
        "cpu_us_per_request": cpu / max(ok, 1) * 1e6,
        "server_cpu_share": cpu / wall,
    }


def _at_rate(
    pid: int, port: int, rate: float, seconds: float, connections: int
) -> dict[str, float]:
    cpu0 = rr.cpu_seconds(pid)
    latencies, errors, missing = asyncio.run(_open_loop(port, rate, seconds, connections))
    cpu = rr.cpu_seconds(pid) - cpu0
    return {
        "requests": len(latencies),
        "non_200": errors,
        "unanswered": missing,
        "p50_ms": rr.percentile(latencies, 50) * 1e3,
        "p99_ms": rr.percentile(latencies, 99) * 1e3,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1e3,
        "cpu_us_per_request": cpu / max(len(latencies), 1) * 1e6,
    }


def main(
    *,
    rounds: int = 10,
    seconds: float = 20.0,
    latency_seconds: float = 10.0,
    rate: float = 0.0,
    connections: int = 32,
    rate_connections: int = 64,
    warmup: float = 5.0,
    pin: bool = True,
) -> dict[str, Any]:
    """Run the benchmark, write the ``http`` section of runtime.json, return it."""
    load_before = os.getloadavg()[0]
    cores = rr.Cores.plan(pin)
    os.sched_setaffinity(0, cores.load)  # this process is the load generator
    servers = {kind: _start(kind, cores.subject) for kind in SIDES}
    samples: list[dict[str, Any]] = []
    try:
        warm = {
            kind: _saturated(proc.pid, port, warmup, connections)
            for kind, (proc, port) in servers.items()
        }
        if not rate:
            slower = min(w["requests_per_s"] for w in warm.values())
            rate = max(10.0, (slower * 0.5) // 10 * 10)
        print(
            "warm-up: "
            + ", ".join(f"{k} {w['requests_per_s']:.0f} rps" for k, w in warm.items())
            + f"; fixed rate {rate:g}/s",
            flush=True,
        )
        for i, order in enumerate(rr.orders(rounds, *SIDES)):
            row: dict[str, Any] = {"order": list(order)}
            for kind in order:
                proc, port = servers[kind]
                row[kind] = _saturated(proc.pid, port, seconds, connections)
                row[kind]["at_rate"] = _at_rate(
                    proc.pid, port, rate, latency_seconds, rate_connections
                )
            row["ratio"] = row["bare"]["cpu_us_per_request"] / row["ours"]["cpu_us_per_request"]
            row["ratio_at_rate"] = (
                row["bare"]["at_rate"]["cpu_us_per_request"]
                / row["ours"]["at_rate"]["cpu_us_per_request"]
            )
            samples.append(row)
            print(
                f"round {i + 1}/{rounds} {'-'.join(order)}: CPU us/req ours "
                f"{row['ours']['cpu_us_per_request']:.0f}, bare "
                f"{row['bare']['cpu_us_per_request']:.0f}, ratio {row['ratio']:.3f}; "
                f"p99 ms ours {row['ours']['at_rate']['p99_ms']:.1f}, "
                f"bare {row['bare']['at_rate']['p99_ms']:.1f}",
                flush=True,
            )
    finally:
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGTERM)
        for proc, _ in servers.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    pinning = cores.describe("server", "load_generator")
    summary = rr.summarise([r["ratio"] for r in samples])
    section: dict[str, Any] = {
        "commit": rr.commit(),
        "machine": rr.machine(pinning, load_before),
        "benchmark": "runtime_http",
        "unit": "request",
        "baseline": "bare",
        "method": (
            f"GET {PATH}; {rounds} paired rounds (order alternating) after a {warmup:g} s "
            f"warm-up; CPU per request = server process utime+stime / completed requests "
            f"under a closed loop of {connections} keep-alive connections for {seconds:g} s; "
            f"p99 = open loop at {rate:g} req/s for {latency_seconds:g} s on "
            f"{rate_connections} connections, from scheduled send time; ours = create_app "
            "with a FromDishka-injected store under serve_service, bare = Quart on "
            "hypercorn's default Config"
        ),
        **summary,
        "target": TARGET,
        "met": summary["ratio_median"] >= TARGET,
        "cpu_us_per_request": {k: rr.median_of(samples, k, "cpu_us_per_request") for k in SIDES},
        "requests_per_s": {k: rr.median_of(samples, k, "requests_per_s") for k in SIDES},
        "p99_ms_at_rate": {
            "rate": rate,
            **{k: rr.median_of(samples, k, "at_rate", "p99_ms") for k in SIDES},
        },
        "p50_ms_at_rate": {k: rr.median_of(samples, k, "at_rate", "p50_ms") for k in SIDES},
        "cpu_us_per_request_at_rate": {
            k: rr.median_of(samples, k, "at_rate", "cpu_us_per_request") for k in SIDES
        },
        "ratio_at_rate": rr.summarise([r["ratio_at_rate"] for r in samples]),
        "round_seconds": seconds,
        "latency_seconds": latency_seconds,
        "warmup": {"seconds": warmup, **{k: w["requests_per_s"] for k, w in warm.items()}},
        "rounds": samples,
    }
    rr.write_section("http", section)
    return section


def _cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.runtime_http", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--rounds", type=int, default=10, help="paired rounds (default 10)")
    parser.add_argument("--seconds", type=float, default=20.0, help="CPU phase per side")
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="fixed-rate phase")
    parser.add_argument("--rate", type=float, default=0.0, help="req/s (0: half of warm-up)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds per server")
    parser.add_argument("--no-pin", action="store_true", help="leave scheduling to the kernel")
    parser.add_argument("--serve", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        with contextlib.suppress(KeyboardInterrupt):
            (_serve_ours if args.serve == "ours" else _serve_bare)(args.port)
        return
    s = main(
        rounds=args.rounds,
        seconds=args.seconds,
        latency_seconds=args.latency_seconds,
        rate=args.rate,
        connections=args.connections,
        warmup=args.warmup,
        pin=not args.no_pin,
    )
    print(
        f"bare/ours CPU per request: {s['ratio_median']:.3f} (IQR {s['ratio_iqr']:.3f}"
        f"{', NOISY' if s['noisy'] else ''}); target {TARGET}: {'met' if s['met'] else 'MISSED'}"
    )


if __name__ == "__main__":
    _cli()
