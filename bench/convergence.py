"""Convergence of N resources against the floor, API writes, idle writes, RSS and
apply-to-children latency.

The floor is what no operator can beat on this cluster: the same children, applied by a
plain client with the operator's concurrency, then the same Deployments Available. Both
runs share the machine with the API server, etcd, the controller-manager and kwok, so
the ratio is honest even where the absolute seconds are not portable.
"""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import workload
from bench.kube import (
    MANAGED_SELECTOR,
    Kube,
    Tracker,
    always,
    collection,
    deployment_available,
    hes_ready,
)
from bench.operator import OperatorProcess, other_operators

CONCURRENCY = 16  # the operator's default HULEEDU_OPERATOR_WORKERS
SETTLE_SECONDS = 10  # writes this soon after Ready still count as creation


@dataclass
class FloorResult:
    n: int
    seconds: float
    children: int


@dataclass
class OperatorResult:
    n: int
    seconds: float
    children_per_resource: float
    writes_per_resource: float
    writes_by_verb: dict[str, float]
    reads_per_resource: float
    idle_seconds: float
    idle_writes: float
    idle_requests: float
    rss_mb: float
    peak_rss_mb: float
    latency_ms: dict[str, float] = field(default_factory=dict)
    other_operators: list[dict[str, str]] = field(default_factory=list)


def timeout_for(n: int) -> float:
    return 180 + 1.5 * n


def run_floor(kube: Kube, n: int, log: Any = print) -> FloorResult:
    ns = kube.create_namespace(f"bench-floor-{n}-{uuid.uuid4().hex[:5]}")
    try:
        docs = workload.resources(ns, n)
        children = [c for d in docs for c in workload.children(d)]
        deployments = [c["metadata"]["name"] for c in children if c["kind"] == "Deployment"]
        with Tracker(kube, collection("Deployment", ns), deployment_available) as tracker:
            started = time.monotonic()
            kube.apply_all(children, CONCURRENCY, manager="bench-floor")
            log(
                f"  floor n={n}: {len(children)} children applied in "
                f"{time.monotonic() - started:.1f}s; waiting for Deployments Available"
            )
            tracker.wait_ok(deployments, timeout_for(n))
            seconds = max(tracker.first_ok[d] for d in deployments) - started
        log(f"  floor n={n}: {seconds:.1f}s")
        return FloorResult(n, seconds, len(children))
    finally:
        kube.delete_namespaces([ns])


def run_operator(
    kube: Kube,
    n: int,
    logs: Path,
    idle_seconds: float,
    latency_samples: int = 0,
    log: Any = print,
) -> OperatorResult:
    ns = kube.create_namespace(f"bench-op-{n}-{uuid.uuid4().hex[:5]}")
    operator = OperatorProcess([ns], logs / f"operator-{n}.log")
    try:
        operator.start()
        docs = workload.resources(ns, n)
        names = [d["metadata"]["name"] for d in docs]
        children = sum(len(workload.children(d)) for d in docs)
        with Tracker(kube, collection("HuleEduService", ns), hes_ready) as tracker:
            before = operator.requests_by_verb()
            others = other_operators({operator.pid})
            started = time.monotonic()
            kube.apply_all(docs, CONCURRENCY, manager="bench")
            tracker.wait_ok(names, timeout_for(n))
            seconds = max(tracker.first_ok[x] for x in names) - started
            log(f"  operator n={n}: {seconds:.1f}s to all Ready")
            time.sleep(SETTLE_SECONDS)
            after = operator.requests_by_verb()
            rss, peak = operator.rss_mb()
            created = _delta(after, before)
            idle_before = after
            log(f"  operator n={n}: idle for {idle_seconds:.0f}s")
            time.sleep(idle_seconds)
            idle = _delta(operator.requests_by_verb(), idle_before)
        writes = sum(v for k, v in created.items() if k != "GET")
        result = OperatorResult(
            n=n,
            seconds=seconds,
            children_per_resource=children / n,
            writes_per_resource=writes / n,
            writes_by_verb={k: v / n for k, v in created.items() if k != "GET"},
            reads_per_resource=created.get("GET", 0.0) / n,
            idle_seconds=idle_seconds,
            idle_writes=sum(v for k, v in idle.items() if k != "GET"),
            idle_requests=sum(idle.values()),
            rss_mb=rss,
            peak_rss_mb=peak,
            other_operators=others,
        )
        if latency_samples:
            result.latency_ms = measure_latency(kube, ns, latency_samples, log)
            result.rss_mb, result.peak_rss_mb = operator.rss_mb()
        log(
            f"  operator n={n}: {result.writes_per_resource:.2f} writes/resource "
            f"({result.children_per_resource:.0f} children), idle writes {result.idle_writes:.0f}, "
            f"RSS {rss:.0f} MiB"
        )
        return result
    finally:
        operator.stop()
        kube.delete_namespaces([ns])


def _delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0)}


def measure_latency(kube: Kube, ns: str, samples: int, log: Any = print) -> dict[str, float]:
    """Apply one resource into the converged namespace; time until all its children are
    present (as seen by a watch), one sample after another."""
    kinds = ("ConfigMap", "Deployment", "Service", "PodDisruptionBudget")
    trackers = [Tracker(kube, collection(k, ns), always, MANAGED_SELECTOR) for k in kinds]
    for t in trackers:
        t.__enter__()
    try:
        by_kind = dict(zip(kinds, trackers, strict=True))
        millis = []
        for i in range(samples):
            doc = workload.resource(ns, i, name=f"lat-{i:03d}")
            wanted = [(c["kind"], c["metadata"]["name"]) for c in workload.children(doc)]
            started = time.monotonic()
            kube.apply(doc, manager="bench")
            for kind, name in wanted:
                by_kind[kind].wait_ok([name], 30)
            done = max(by_kind[k].first_ok[x] for k, x in wanted)
            millis.append((done - started) * 1000)
            time.sleep(0.2)
    finally:
        for t in trackers:
            t.__exit__()
    result = summary(millis)
    log(f"  latency over {samples}: p50 {result['p50']:.0f} ms, p99 {result['p99']:.0f} ms")
    return result


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    return {
        "samples": len(ordered),
        "p50": statistics.median(ordered),
        "p90": pct(90),
        "p99": pct(99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


def as_dict(result: FloorResult | OperatorResult) -> dict[str, Any]:
    return asdict(result)
