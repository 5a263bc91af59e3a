"""HTTP overhead of the runtime: a ``setup_service`` app vs a bare Quart app.

Both apps serve the same route with the same handler, each in its own process on
the same hypercorn settings (:func:`huleedu_runtime.http.server.hypercorn_config`,
one worker). The runtime app carries everything ``setup_service`` installs:
correlation ids, request metrics, the body limit, error handlers and a dishka
request scope. ``wrk`` (one thread, so one core is left to the server on a
2-core machine) loads one server at a time; rounds alternate between the two
servers and the ratio is the median of the per-round ratios, so drift in machine
load hits both sides alike.

    python -m bench.runtime_http            # 7 rounds x 5 s
    python -m bench.runtime_http --quick    # 3 rounds x 3 s

Results: bench/results/runtime_http[_quick].{json,md}. Needs ``wrk`` on PATH
(Debian: ``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import write_ratio_result

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 0.85
ROUTE = "/v1/items/<item_id>"
PATH = "/v1/items/item-42"
ITEMS = {"item-42": {"id": "item-42", "text": "the same payload for both apps"}}


# --- the two apps (built in the server process) -------------------------------------


def _register_route(bp: Any) -> None:
    from quart import jsonify

    async def get_item(item_id: str) -> Any:
        return jsonify(ITEMS.get(item_id, {"id": item_id}))

    bp.add_url_rule(ROUTE, view_func=get_item, methods=["GET"])


def bare_app() -> Any:
    from quart import Blueprint, Quart

    bp = Blueprint("items", __name__)
    _register_route(bp)
    app = Quart("bare")
    app.register_blueprint(bp)
    return app


def runtime_app() -> Any:
    from quart import Blueprint

    from huleedu_runtime.config import ServiceSettings
    from huleedu_runtime.http import create_app

    bp = Blueprint("items", __name__)
    _register_route(bp)
    settings = ServiceSettings(service_name="bench-runtime", log_level="WARNING", _env_file=None)
    return create_app("runtime", settings=settings, blueprints=[bp])


def serve(kind: str, port: int) -> None:
    from huleedu_runtime.http.server import serve_until_signal

    app = runtime_app() if kind == "runtime" else bare_app()
    asyncio.run(serve_until_signal(app, host="127.0.0.1", port=port, shutdown_timeout=5))


# --- the harness ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(kind: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.runtime_http", "--serve", kind, "--port", str(port)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}{PATH}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the {kind} server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, url
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not listen within 30s") from None
            time.sleep(0.1)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(
    proc: subprocess.Popen[bytes], url: str, seconds: float, connections: int
) -> dict[str, float]:
    cpu_before = _cpu_seconds(proc.pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    cpu = _cpu_seconds(proc.pid) - cpu_before
    total = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if rps is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return {
        "rps": float(rps[1]),
        "server_cpu_us_per_request": cpu / int(total[1]) * 1e6,
        "p50_ms": float(p50[1]) * scale[p50[2]] if p50 else float("nan"),
        "non_2xx": float(errors[1]) if errors else 0.0,
    }


def main(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; write results JSON and markdown; return the results."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not on PATH: apt-get install wrk")
    rounds, seconds, connections = (3, 3.0, 32) if quick else (7, 5.0, 32)
    servers = {kind: _start(kind) for kind in ("bare", "runtime")}
    samples: dict[str, list[dict[str, float]]] = {"bare": [], "runtime": []}
    try:
        for proc, url in servers.values():
            _wrk(proc, url, 2, connections)  # warm-up: imports, first-request paths, JIT-free
        for i in range(rounds):
            order = ("bare", "runtime") if i % 2 == 0 else ("runtime", "bare")
            for kind in order:
                samples[kind].append(_wrk(*servers[kind], seconds, connections))
            print(
                f"round {i + 1}/{rounds}: bare {samples['bare'][-1]['rps']:.0f} rps, "
                f"runtime {samples['runtime'][-1]['rps']:.0f} rps",
                flush=True,
            )
    finally:
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGTERM)
        for proc, _ in servers.values():
            proc.wait(timeout=30)

    pairs = list(zip(samples["runtime"], samples["bare"], strict=True))
    ratios = [r["rps"] / b["rps"] for r, b in pairs]
    # Server CPU per request is what the middleware costs, independent of how much
    # CPU other processes left the server; it is the steadier number on a busy host.
    cpu_ratios = [b["server_cpu_us_per_request"] / r["server_cpu_us_per_request"] for r, b in pairs]
    result: dict[str, Any] = {
        "benchmark": "runtime_http",
        "mode": "quick" if quick else "full",
        "environment": (
            f"{platform.node()}: {os.cpu_count()} cores, python {platform.python_version()}; "
            f"load average at end {os.getloadavg()[0]:.1f}"
        ),
        "method": (
            f"wrk -t1 -c{connections} -d{seconds:g}s GET {PATH}; {rounds} interleaved rounds; "
            "one hypercorn worker per app"
        ),
        "bare_rps_median": statistics.median(s["rps"] for s in samples["bare"]),
        "runtime_rps_median": statistics.median(s["rps"] for s in samples["runtime"]),
        "bare_p50_ms_median": statistics.median(s["p50_ms"] for s in samples["bare"]),
        "runtime_p50_ms_median": statistics.median(s["p50_ms"] for s in samples["runtime"]),
        "ratio_median": statistics.median(ratios),
        "ratios": ratios,
        "bare_cpu_us_per_request_median": statistics.median(
            s["server_cpu_us_per_request"] for s in samples["bare"]
        ),
        "runtime_cpu_us_per_request_median": statistics.median(
            s["server_cpu_us_per_request"] for s in samples["runtime"]
        ),
        "cpu_ratio_median": statistics.median(cpu_ratios),
        "target_ratio": TARGET_RATIO,
        "samples": samples,
    }
    result["meets_target"] = result["ratio_median"] >= TARGET_RATIO
    _write(result, "runtime_http_quick" if quick else "runtime_http")
    return result


def _write(result: dict[str, Any], stem: str) -> None:
    table = [
        "| app | requests/s (median) | p50 latency ms | server CPU us/request |",
        "| --- | ---: | ---: | ---: |",
        f"| bare Quart | {result['bare_rps_median']:.0f} | {result['bare_p50_ms_median']:.2f} "
        f"| {result['bare_cpu_us_per_request_median']:.0f} |",
        f"| runtime (setup_service) | {result['runtime_rps_median']:.0f} "
        f"| {result['runtime_p50_ms_median']:.2f} "
        f"| {result['runtime_cpu_us_per_request_median']:.0f} |",
    ]
    cpu = (
        f"Server CPU per request, bare/runtime: {result['cpu_ratio_median']:.3f} "
        "(median of per-round ratios)."
    )
    write_ratio_result(
        result,
        RESULTS,
        stem,
        title="HTTP: runtime app vs bare Quart",
        table=table,
        ratio_label="runtime/bare",
        notes=(cpu,),
    )


def _cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.runtime_http")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve", choices=["bare", "runtime"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    result = main(quick=args.quick)
    print(
        f"runtime/bare = {result['ratio_median']:.3f}, CPU-normalised "
        f"{result['cpu_ratio_median']:.3f} "
        f"(bare {result['bare_rps_median']:.0f} rps, "
        f"runtime {result['runtime_rps_median']:.0f} rps)"
    )


if __name__ == "__main__":
    _cli()
