"""Shared machinery of the runtime benchmarks (``bench.runtime_http``, ``bench.runtime_worker``).

* **Pinning.** On a machine with two or more usable cores the measured process
  (the server, the consumer) gets one core of its own and the load side (load
  generator, producer, the broker's JVM) the others, so the two do not steal each
  other's time slices. :class:`Cores` decides; :func:`pin` sets every thread of a
  process (a JVM has dozens) and returns what to restore.
* **Paired rounds.** ``rounds`` rounds, each measuring both sides back to back, the
  order alternating A B, B A, A B ... (:func:`orders`), so slow drift in the
  machine's load hits both sides alike. Each round gives one paired ratio
  ``baseline CPU per unit / ours CPU per unit`` (higher is better; 1.0 = no
  overhead); the result is the median of those ratios with its interquartile
  range, and a run whose IQR exceeds 5 % of the median is flagged ``noisy``
  (:func:`summarise`).
* **Results.** Both benchmarks write their section of ``bench/results/runtime.json``
  (:func:`write_section`), and ``runtime.md`` is regenerated from the whole file.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
RESULT_JSON = RESULTS / "runtime.json"
RESULT_MD = RESULTS / "runtime.md"
REPO = Path(__file__).resolve().parents[1]
NOISY_IQR_FRACTION = 0.05
# What a runtime benchmark's figures depend on: the runtime and these benches.
MEASURED_PATHS = ("runtime", "bench/rounds.py", "bench/runtime_http.py", "bench/runtime_worker.py")


# --- CPU time and pinning ----------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads) so far, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Cores:
    """``subject``: the measured process's core(s); ``load``: everything else's."""

    subject: frozenset[int]
    load: frozenset[int]

    @property
    def pinned(self) -> bool:
        return self.subject != self.load

    @classmethod
    def plan(cls, enabled: bool = True) -> Cores:
        usable = sorted(os.sched_getaffinity(0))
        if not enabled or len(usable) < 2:
            return cls(frozenset(usable), frozenset(usable))
        return cls(frozenset(usable[-1:]), frozenset(usable[:-1]))

    def describe(self, subject: str, load: str) -> dict[str, Any]:
        return {
            "pinned": self.pinned,
            subject: sorted(self.subject),
            load: sorted(self.load),
            "usable_cores": sorted(self.subject | self.load),
        }


def _threads(pid: int) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        return []


def pin(pid: int, cores: Iterable[int]) -> dict[int, set[int]]:
    """Pin every thread of ``pid`` to ``cores``; returns each thread's previous mask."""
    target = set(cores)
    previous: dict[int, set[int]] = {}
    for tid in _threads(pid):
        try:
            previous[tid] = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, target)
        except (ProcessLookupError, PermissionError):
            continue
    return previous


def restore(pid: int, previous: dict[int, set[int]]) -> None:
    """Undo :func:`pin`: old threads get their own mask back, threads started while
    pinned get the main thread's."""
    fallback = previous.get(pid) or next(iter(previous.values()), None)
    if fallback is None:
        return
    for tid in _threads(pid):
        try:
            os.sched_setaffinity(tid, previous.get(tid, fallback))
        except (ProcessLookupError, PermissionError):
            continue


def pin_self(cores: Iterable[int]) -> Callable[[], None]:
    """``preexec_fn`` for a child that must start on ``cores``."""
    target = set(cores)

    def run() -> None:
        os.sched_setaffinity(0, target)

    return run


# --- rounds and statistics -----------------------------------------------------------------


def orders(rounds: int, a: str, b: str) -> list[tuple[str, str]]:
    """A B, B A, A B, ...: adjacent rounds mirror each other (A B B A A B ...)."""
    return [(a, b) if i % 2 == 0 else (b, a) for i in range(rounds)]


def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def summarise(ratios: list[float]) -> dict[str, Any]:
    """Median of the paired ratios, its IQR, and whether the run is noisy."""
    q1, median, q3 = quartiles(ratios)
    iqr = q3 - q1
    return {
        "ratio_median": median,
        "ratio_iqr": iqr,
        "ratio_q1": q1,
        "ratio_q3": q3,
        "noisy": iqr / median > NOISY_IQR_FRACTION,
    }


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (``p`` in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(p / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def median_of(rounds: list[dict[str, Any]], side: str, *keys: str) -> float:
    values: list[float] = []
    for r in rounds:
        value: Any = r[side]
        for key in keys:
            value = value[key]
        values.append(float(value))
    return statistics.median(values)


# --- environment and results ------------------------------------------------------------


def commit() -> str:
    """HEAD, with ``-dirty`` when the runtime or these benches differ from it."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *MEASURED_PATHS],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(pinning: dict[str, Any], load_before: float) -> dict[str, Any]:
    return {
        "host": platform.node(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_1m": {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2)},
        "pinning": pinning,
    }


def write_section(name: str, section: dict[str, Any]) -> None:
    """Replace ``name`` (``http`` or ``worker``) in runtime.json; regenerate runtime.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        data: dict[str, Any] = json.loads(RESULT_JSON.read_text())
    except (OSError, ValueError):
        data = {}
    data["commit"] = section["commit"]
    data["machine"] = section["machine"]
    data[name] = section
    RESULT_JSON.write_text(json.dumps(data, indent=2) + "\n")
    RESULT_MD.write_text(markdown(data))


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def markdown(data: dict[str, Any]) -> str:
    lines = [
        "# Runtime overhead: our runtime vs the bare baseline",
        "",
        "Ratio = baseline CPU per unit / ours CPU per unit (higher is better), the median of "
        "per-round paired ratios; a run is noisy when IQR / median > 5 %. "
        "Written by `python -m bench.runtime_http` and `python -m bench.runtime_worker`.",
        "",
        "| benchmark | ratio (median) | IQR | noisy | target | met | CPU µs/unit ours / base "
        "| p99 ms at rate, ours / base | rounds x s | commit |",
        "|---|---:|---:|---|---:|---|---:|---:|---|---|",
    ]
    for name, label in (("http", "http, per request"), ("worker", "worker, per message")):
        s = data.get(name)
        if not s:
            continue
        base = s["baseline"]
        cpu = s[f"cpu_us_per_{s['unit']}"]
        p99 = s["p99_ms_at_rate"]
        lines.append(
            f"| {label} ({base}) | **{_fmt(s['ratio_median'], 3)}** | {_fmt(s['ratio_iqr'], 3)} "
            f"| {'yes' if s['noisy'] else 'no'} | {s['target']} | {'yes' if s['met'] else 'NO'} "
            f"| {_fmt(cpu['ours'], 1)} / {_fmt(cpu[base], 1)} "
            f"| {_fmt(p99['ours'], 2)} / {_fmt(p99[base], 2)} at {p99['rate']:g}/s "
            f"| {len(s['rounds'])} x {s['round_seconds']:g} | `{s['commit'][:12]}` |"
        )
    for name in ("http", "worker"):
        s = data.get(name)
        if not s:
            continue
        m = s["machine"]
        lines += [
            "",
            f"**{name}**: {s['method']}",
            "",
            f"- machine: {m['cpu_count']} x {m['cpu']}, python {m['python']}, load average "
            f"{m['load_average_1m']['start']} -> {m['load_average_1m']['end']}; "
            f"pinning {json.dumps(m['pinning'])}",
            "- per-round ratios: " + ", ".join(_fmt(r["ratio"], 3) for r in s["rounds"]),
        ]
    return "\n".join(lines) + "\n"
