"""Drift storm: the Deployments and Services of many resources deleted at once are all
restored; the restore time per object (delete sent -> recreated, seen by a watch) is
reported as p50/p99."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fleet import SIZES, apply_fleet, hes_tracker, percentile

from support import workload
from support.kube import MANAGED_SELECTOR, Kube, Tracker, always, collection

STORM = {"reduced": 20, "full": 100}  # http resources: one Deployment + one Service each


@pytest.mark.parametrize("size", SIZES)
def test_deleting_many_deployments_and_services_at_once_restores_all_of_them(
    size: str,
    kube: Kube,
    fault_namespace: Callable[[str], str],
    operators: Callable[..., Any],
    record: Callable[..., None],
) -> None:
    n = STORM[size]
    ns = fault_namespace("drift")
    operators([ns])
    docs = [workload.resource(ns, 0, name=f"drift-{i:03d}") for i in range(n)]  # all http
    names = [d["metadata"]["name"] for d in docs]
    with hes_tracker(kube, ns) as ready:
        apply_fleet(kube, docs)
        ready.wait_ok(names, 120 + n)

    kinds = ("Deployment", "Service")
    trackers = {k: Tracker(kube, collection(k, ns), always, MANAGED_SELECTOR) for k in kinds}
    for t in trackers.values():
        t.__enter__()
    try:
        for t in trackers.values():
            t.wait_ok(names, 30)
        sent: dict[tuple[str, str], float] = {}
        before = {(k, x): trackers[k].present[x]["metadata"]["uid"] for k in kinds for x in names}

        def delete(target: tuple[str, str]) -> None:
            kind, name = target
            sent[target] = time.monotonic()
            kube.delete(f"{collection(kind, ns)}/{name}")

        targets = [(k, x) for x in names for k in kinds]
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(delete, targets))
        for kind, tracker in trackers.items():
            since = min(v for (k, _), v in sent.items() if k == kind)
            tracker.wait_ok(names, 60 + n, since=since)
        restore = [(trackers[kind].ok_at[name] - sent[kind, name]) * 1000 for kind, name in targets]
        not_recreated = [
            t for t in targets if trackers[t[0]].present[t[1]]["metadata"]["uid"] == before[t]
        ]
    finally:
        for t in trackers.values():
            t.__exit__()
    with hes_tracker(kube, ns) as ready:
        ready.wait_ok(names, 120 + n)

    assert not_recreated == []
    record(
        deleted=len(targets),
        restore_p50_ms=round(statistics.median(restore)),
        restore_p99_ms=round(percentile(restore, 99)),
        restore_max_ms=round(max(restore)),
    )
