"""A py-spy profile of the operator while N resources converge.

py-spy samples every thread (the event loop, and kopf's and asyncio's helper threads)
from outside the process, so the operator runs unmodified. Only
samples of the thread holding the GIL count (``--gil``): that is where the operator
spends CPU, rather than where threads wait for the API server. The raw collapsed stacks
are kept next to the results; the summary ranks functions by inclusive and self share.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from tests.support import workload
from tests.support.kube import Kube, Tracker, collection, hes_ready

from bench.convergence import timeout_for
from bench.operator import OperatorProcess

CONCURRENCY = 16  # the operator's default HULEEDU_OPERATOR_WORKERS


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


def run(
    kube: Kube, n: int, out: Path, stem: str, log: Any = print, module: str | None = None
) -> dict[str, Any]:
    ns = kube.create_namespace(f"bench-prof-{n}-{uuid.uuid4().hex[:5]}")
    raw = out / f"{stem}-profile-{n}.txt"
    operator = OperatorProcess([ns], out / "logs" / f"operator-profile-{n}.log", module=module)
    try:
        operator.start()
        spy = subprocess.Popen(
            [
                py_spy(),
                "record",
                "--pid",
                str(operator.pid),
                "--rate",
                "100",
                "--format",
                "raw",
                "--gil",
                "--output",
                str(raw),
                "--threads",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1)
        docs = workload.resources(ns, n)
        with Tracker(kube, collection("HuleEduService", ns), hes_ready) as tracker:
            started = time.monotonic()
            kube.apply_all(docs, CONCURRENCY, manager="bench")
            tracker.wait_ok([d["metadata"]["name"] for d in docs], timeout_for(n))
        seconds = time.monotonic() - started
        spy.send_signal(signal.SIGINT)
        _, err = spy.communicate(timeout=60)
        if not raw.exists():
            raise RuntimeError(f"py-spy wrote no profile: {err.decode()[-2000:]}")
        log(f"  profile n={n}: converged in {seconds:.1f}s under py-spy; stacks in {raw}")
    finally:
        operator.stop()
        kube.delete_namespaces([ns])
    return {
        "n": n,
        "operator": module or "huleedu_operator.cli run",
        "seconds_under_profiler": seconds,
        "raw": str(raw),
        **summarise(raw),
    }


def summarise(raw: Path, top: int = 25) -> dict[str, Any]:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_function(f) for f in stack.split(";")]
        frames = [f for f in frames if f]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    # Entry frames (runpy, click, the event loop) are in nearly every stack and say
    # nothing about where the time goes: rank what is below them.
    rows = [
        {"function": name, "inclusive": 100 * c / total, "self": 100 * own[name] / total}
        for name, c in inclusive.most_common()
        if c / total < 0.85
    ][:top]
    by_self = [{"function": name, "self": 100 * c / total} for name, c in own.most_common(top)]
    return {"samples": total, "top": rows, "top_self": by_self}


def _function(frame: str) -> str:
    """``reconcile (huleedu_operator/controller/reconcile.py:123)`` -> name and module."""
    frame = frame.strip()
    if frame.startswith("process ") or frame.startswith("thread "):
        return ""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/lib/python3", "operator/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"
