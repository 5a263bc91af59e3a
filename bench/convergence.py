"""One measurement: N fresh HuleEduServices in a fresh namespace, owned by the project's
operator, by the peer (bench/peer.py), or by nobody but the floor client.

T_children: from the first apply until a watch has seen every child the renderer
produces for the N resources (bench.workload.expected_children). T_available: until
every Deployment is Available (the ground's controllers and kwok do most of that work;
for reference). Over the creation phase (first apply until everything is Available plus
a settle period), the API server's request counters (bench/apiserver.py) and the CPU
seconds of the owner and of the control plane's processes (bench/proc.py).

The floor is what no operator can beat on this ground: a plain client that
server-side-applies each parent, its rendered children (with the parent's uid in their
ownerReferences, as an owner sets it) and writes its status once, N resources over a
thread pool, with no operator watching the namespace.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException
from tests.support import workload
from tests.support.controlplane import ControlPlane
from tests.support.kube import (
    MANAGED_SELECTOR,
    Kube,
    Tracker,
    always,
    collection,
    deployment_available,
    hes_ready,
)

from bench import apiserver
from bench.operator import OperatorProcess, PeerProcess
from bench.proc import CpuWindow

SETTLE_SECONDS = 10  # writes this soon after everything is Available still count as creation
STARTUP_SECONDS = 5  # an owner's startup LISTs and watches settle before the measurement
CONTROL_PLANE = ("kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler")
Log = Callable[[str], None]
Result = dict[str, Any]


def timeout_for(n: int) -> float:
    return 180 + 1.5 * n


def control_plane_pids() -> dict[str, int]:
    plane = ControlPlane.local()
    if plane is None:
        return {}
    pids = {}
    for component in (*CONTROL_PLANE, "kwok-controller"):
        pid = plane.pid(component)
        if pid is not None:
            pids[component] = pid
    return pids


@contextlib.contextmanager
def child_trackers(kube: Kube, ns: str, kinds: list[str]) -> Iterator[dict[str, Tracker]]:
    """One watch per child kind (Deployments timestamped when Available too) and one on
    the parents."""
    trackers = {
        kind: Tracker(
            kube,
            collection(kind, ns),
            deployment_available if kind == "Deployment" else always,
        )
        for kind in [*kinds, "HuleEduService"]
    }
    if "HuleEduService" in trackers:
        trackers["HuleEduService"].predicate = hes_ready
    opened = []
    try:
        for tracker in trackers.values():
            opened.append(tracker.__enter__())
        yield trackers
    finally:
        for tracker in opened:
            tracker.__exit__()


@contextlib.contextmanager
def deleted_on_error(kube: Kube, ns: str) -> Iterator[None]:
    """A measurement that fails starts its namespace's deletion (the next one must not
    share the ground with its leftovers; the caller waits for none of it)."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            kube.start_namespace_deletion(ns)
        raise


def wait_children(
    trackers: dict[str, Tracker], expected: dict[str, set[str]], started: float, n: int
) -> float:
    for kind, names in expected.items():
        trackers[kind].wait_seen(names, timeout_for(n))
    return max(trackers[k].first_seen[x] for k, names in expected.items() for x in names) - started


def wait_available(
    trackers: dict[str, Tracker], expected: dict[str, set[str]], started: float, n: int
) -> float:
    deployments = expected.get("Deployment", set())
    trackers["Deployment"].wait_ok(deployments, timeout_for(n))
    return max(trackers["Deployment"].first_ok[d] for d in deployments) - started


RETRIED = frozenset({429, 500, 503, 504})


def retried(call: Callable[[], Any], attempts: int = 6) -> Any:
    """``call`` again when an overloaded API server answers 429/5xx or the connection
    times out (every call passed here is idempotent: an apply, a status merge patch).
    The attempts that failed still count in the API server's counters, as load."""
    for attempt in range(attempts):
        try:
            return call()
        except ApiException as exc:
            if exc.status not in RETRIED or attempt == attempts - 1:
                raise
        except urllib3.exceptions.HTTPError:
            if attempt == attempts - 1:
                raise
        time.sleep(min(8.0, 0.5 * 2**attempt))
    raise AssertionError("unreachable")


def apply_all(kube: Kube, docs: list[dict[str, Any]], concurrency: int) -> None:
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in pool.map(lambda d: retried(lambda: kube.apply(d, manager="bench")), docs):
            pass


def floor_status(generation: int) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "status": {
            "observedGeneration": generation,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Floor",
                    "message": "",
                    "observedGeneration": generation,
                    "lastTransitionTime": now,
                }
            ],
        }
    }


def floor_one(kube: Kube, doc: dict[str, Any]) -> None:
    """What any owner of one resource must send at least: the parent (applied by the
    user), its children, one status write."""
    parent = retried(lambda: kube.apply(doc, manager="bench"))
    meta = parent["metadata"]
    owner = {
        "apiVersion": parent["apiVersion"],
        "kind": parent["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    for child in workload.children(doc):
        child["metadata"]["ownerReferences"] = [owner]
        retried(lambda c=child: kube.apply(c, manager="bench-floor"))
    retried(
        lambda: kube.request(
            "PATCH",
            f"{collection('HuleEduService', meta['namespace'])}/{meta['name']}/status",
            floor_status(int(meta.get("generation", 1))),
            content_type="application/merge-patch+json",
        )
    )


def run_floor(
    kube: Kube, n: int, concurrency: int, log: Log, available: bool = True
) -> tuple[Result, str]:
    """The floor at ``concurrency`` (returns the result and the namespace, whose deletion
    the caller starts)."""
    ns = kube.create_namespace(f"bench-floor-{n}-c{concurrency}-{uuid.uuid4().hex[:5]}")
    docs = workload.resources(ns, n)
    expected = workload.expected_children(docs)
    planes = CpuWindow({**control_plane_pids(), "bench": os.getpid()})
    with deleted_on_error(kube, ns), child_trackers(kube, ns, sorted(expected)) as trackers:
        before = apiserver.scrape(kube)
        planes.start()
        started = time.monotonic()
        with ThreadPoolExecutor(concurrency) as pool:
            for _ in pool.map(lambda d: floor_one(kube, d), docs):
                pass
        applied = time.monotonic() - started
        t_children = wait_children(trackers, expected, started, n)
        result: Result = {
            "n": n,
            "namespace": ns,
            "concurrency": concurrency,
            "applied_seconds": round(applied, 3),
            "t_children": round(t_children, 3),
        }
        if available:
            result["t_available"] = round(wait_available(trackers, expected, started, n), 3)
            time.sleep(SETTLE_SECONDS)
        after = apiserver.scrape(kube)
        result["cpu_seconds"] = planes.stop()
        result["requests"] = apiserver.summary(apiserver.delta(after, before), n)
    log(
        f"  floor n={n} c={concurrency}: children {t_children:.1f}s"
        + (f", available {result['t_available']:.1f}s" if available else "")
        + f", {result['requests']['writes_per_resource']:.2f} writes/resource"
    )
    return result, ns


def run_owner(
    kube: Kube,
    system: str,
    n: int,
    logs: Path,
    idle_seconds: float,
    concurrency: int,
    log: Log,
    module: str | None = None,
    latency: int = 0,
) -> tuple[Result, str]:
    """The project's operator (``system="project"``) or the peer (``"peer"``) owning N
    resources applied at ``concurrency``; then, for ``idle_seconds``, nothing."""
    ns = kube.create_namespace(f"bench-{system}-{n}-{uuid.uuid4().hex[:5]}")
    docs = workload.resources(ns, n)
    expected = workload.expected_children(docs)
    names = [d["metadata"]["name"] for d in docs]
    owner: OperatorProcess = (
        OperatorProcess([ns], logs / f"operator-{n}.log", module=module)
        if system == "project"
        else PeerProcess([ns], logs / f"peer-{n}.log")
    )
    result: Result = {"n": n, "namespace": ns, "system": system, "concurrency": concurrency}
    try:
        with deleted_on_error(kube, ns), child_trackers(kube, ns, sorted(expected)) as trackers:
            no_owner = apiserver.scrape(kube)
            owner.start()
            time.sleep(STARTUP_SECONDS)
            rss_idle, _ = owner.rss_mb()
            before = apiserver.scrape(kube)
            planes = CpuWindow({**control_plane_pids(), "bench": os.getpid()}).start()
            cpu_before = owner.cpu_seconds()
            started = time.monotonic()
            apply_all(kube, docs, concurrency)
            result["applied_seconds"] = round(time.monotonic() - started, 3)
            t_children = wait_children(trackers, expected, started, n)
            result["t_children"] = round(t_children, 3)
            during = apiserver.scrape(kube)
            result["t_available"] = round(wait_available(trackers, expected, started, n), 3)
            if system == "project":
                try:
                    trackers["HuleEduService"].wait_ok(names, 120)
                    result["t_ready"] = round(
                        max(trackers["HuleEduService"].first_ok[x] for x in names) - started, 3
                    )
                except TimeoutError as exc:
                    result["t_ready"] = None
                    log(f"  {system} n={n}: not all Ready: {exc}")
            time.sleep(SETTLE_SECONDS)
            after = apiserver.scrape(kube)
            cpu = owner.cpu_seconds() - cpu_before
            result["creation_seconds"] = round(time.monotonic() - started, 3)
            result["cpu_seconds"] = round(cpu, 3)
            result["control_plane_cpu_seconds"] = planes.stop()
            rss, peak = owner.rss_mb()
            result.update(
                rss_idle_mib=round(rss_idle, 2),
                rss_mib=round(rss, 2),
                peak_rss_mib=round(peak, 2),
                watches=max(during.watch_total, after.watch_total) - no_owner.watch_total,
                watches_by_resource={
                    r: round(v - no_owner.watches.get(r, 0.0))
                    for r, v in after.watches.items()
                    if round(v - no_owner.watches.get(r, 0.0))
                },
                requests=apiserver.summary(apiserver.delta(after, before), n),
            )
            log(
                f"  {system} n={n}: children {t_children:.1f}s, available "
                f"{result['t_available']:.1f}s, CPU {cpu:.1f}s, "
                f"{result['requests']['writes_per_resource']:.2f} writes/resource, "
                f"RSS {rss:.0f} MiB"
            )
            if idle_seconds > 0:
                result["idle"] = idle(kube, owner, idle_seconds, n, log, system)
            if latency:
                result["latency_ms"] = measure_latency(kube, ns, latency, log)
    finally:
        owner.stop()
    return result, ns


def idle(
    kube: Kube, owner: OperatorProcess, seconds: float, n: int, log: Log, system: str
) -> Result:
    before = apiserver.scrape(kube)
    cpu_before = owner.cpu_seconds()
    log(f"  {system} n={n}: idle for {seconds:.0f}s")
    time.sleep(seconds)
    cpu = owner.cpu_seconds() - cpu_before
    requests = apiserver.delta(apiserver.scrape(kube), before)
    writes = apiserver.count(requests, apiserver.WRITE_VERBS)
    events = sum(
        v
        for (res, _, verb), v in requests.items()
        if res == "events" and verb in apiserver.WRITE_VERBS
    )
    # Events apart: the ground's controllers post them too (kube-controller-manager may
    # still be catching up after a large N) and the counter cannot tell whose they are.
    out = {
        "seconds": seconds,
        "writes": round(writes),
        "event_writes": round(events),
        "reads": round(apiserver.count(requests, apiserver.READ_VERBS)),
        "cpu_seconds": round(cpu, 3),
        "cpu_s_per_min": round(cpu / seconds * 60, 4),
        "by_resource": apiserver.summary(requests, 1)["by_resource"],
    }
    log(
        f"  {system} n={n}: idle writes {out['writes']} (events {out['event_writes']}), "
        f"CPU {out['cpu_s_per_min']:.3f} s/min"
    )
    return out


def measure_latency(kube: Kube, ns: str, samples: int, log: Log = print) -> dict[str, float]:
    """Apply one resource into a converged namespace; time until all its children are
    present (as seen by a watch), one sample after another."""
    kinds = sorted({c["kind"] for i in (0, 1) for c in workload.children(workload.resource(ns, i))})
    trackers = {k: Tracker(kube, collection(k, ns), always, MANAGED_SELECTOR) for k in kinds}
    for t in trackers.values():
        t.__enter__()
    try:
        millis = []
        for i in range(samples):
            doc = workload.resource(ns, i, name=f"lat-{i:03d}")
            wanted = [(c["kind"], c["metadata"]["name"]) for c in workload.children(doc)]
            started = time.monotonic()
            kube.apply(doc, manager="bench")
            for kind, name in wanted:
                trackers[kind].wait_seen([name], 30)
            done = max(trackers[k].first_seen[x] for k, x in wanted)
            millis.append((done - started) * 1000)
            time.sleep(0.2)
    finally:
        for t in trackers.values():
            t.__exit__()
    ordered = sorted(millis)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    result = {"samples": len(ordered), "p50": pct(50), "p90": pct(90), "p99": pct(99)}
    log(f"  latency over {samples}: p50 {result['p50']:.0f} ms, p99 {result['p99']:.0f} ms")
    return result
