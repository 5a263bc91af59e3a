"""Invalid flood: every invalid resource is rejected at admission (the CRD's schema and
CEL rules), none reaches the operator, and valid resources reconcile at their usual rate
while the flood goes on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fleet import SIZES, apply_fleet, hes_tracker
from kubernetes.client.exceptions import ApiException

from cases.invalid_resources import INVALID_CASES
from support import workload
from support.kube import Kube

FLOOD = {"reduced": (50, 20), "full": (200, 50)}  # invalid, valid per batch


@pytest.mark.parametrize("size", SIZES)
def test_an_invalid_flood_is_rejected_at_admission_and_does_not_slow_valid_resources(
    size: str,
    kube: Kube,
    fault_namespace: Callable[[str], str],
    operators: Callable[..., Any],
    record: Callable[..., None],
) -> None:
    invalid, valid = FLOOD[size]
    ns = fault_namespace("flood")
    operator = operators([ns])

    def converge(prefix: str, during: Callable[[], None] | None = None) -> float:
        docs = [workload.resource(ns, i, name=f"{prefix}-{i:03d}") for i in range(valid)]
        with hes_tracker(kube, ns) as tracker:
            started = time.monotonic()
            side = threading.Thread(target=during) if during else None
            if side:
                side.start()
            apply_fleet(kube, docs)
            tracker.wait_ok([d["metadata"]["name"] for d in docs], 120 + valid)
            if side:
                side.join()
            return max(tracker.first_ok[d["metadata"]["name"]] for d in docs) - started

    rejected: list[tuple[int, str]] = []
    accepted: list[str] = []  # names the API server let through (must stay empty)

    def flood() -> None:
        def send(i: int) -> None:
            case = INVALID_CASES[i % len(INVALID_CASES)]
            doc = case.document(ns)
            if case.metadata is None:  # a case about its own metadata keeps it
                doc["metadata"]["name"] = f"invalid-{i:03d}"
            try:
                kube.apply(doc, manager="flood")
                accepted.append(doc["metadata"]["name"])
            except ApiException as exc:
                rejected.append((exc.status, exc.body or ""))

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(send, range(invalid)))

    baseline = converge("before")
    flooded = converge("during", flood)

    assert accepted == []
    assert len(rejected) == invalid
    # 422 Invalid (schema, CEL); an undeclared field in a server-side apply is refused
    # while building the typed patch, which the API server reports as a 500.
    unexpected = [
        (status, body[:200])
        for status, body in rejected
        if status != 422 and not (status == 500 and "field not declared in schema" in body)
    ]
    assert unexpected == []
    stored = kube.names("HuleEduService", ns)
    assert not [x for x in stored if not x.startswith(("before-", "during-"))]
    metrics = operator.metrics()
    assert metrics["huleedu_operator_managed_resources"] == 2 * valid
    assert metrics.get('huleedu_operator_reconciles_total{result="degraded"}', 0) == 0
    # "Unaffected" within the noise of a shared 2-core machine: the flood costs the API
    # server some admission work, never the operator any reconciles.
    assert flooded <= max(2 * baseline, baseline + 10), (baseline, flooded)
    record(
        invalid=invalid,
        valid=valid,
        baseline_s=round(baseline, 2),
        during_flood_s=round(flooded, 2),
        ratio=round(flooded / baseline, 2),
    )
