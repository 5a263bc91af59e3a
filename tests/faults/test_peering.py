"""Two operator replicas with kopf peering: only the higher priority one acts; kill -9
it during a rollout and the other finishes the rollout. Reports the takeover time (kill
-> the standby's first write) and how long the rollout took to finish after the kill."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fleet import SIZES, apply_fleet, child_problems, hes_tracker

from support import workload
from support.kube import Kube

REPO = Path(__file__).resolve().parents[2]
PEERING_CRDS = [
    REPO / "charts" / "huleedu-operator" / "crds" / "kopf.dev_kopfpeerings.yaml",
    REPO / "charts" / "huleedu-operator" / "crds" / "kopf.dev_clusterkopfpeerings.yaml",
]
PEERING = "huleedu-faults"
HA = {"reduced": (30, 5), "full": (200, 10)}  # resources, peering lifetime (s)


@pytest.fixture(scope="module")
def peering_crds(kube: Kube) -> None:
    for path in PEERING_CRDS:
        crd = yaml.safe_load(path.read_text())
        kube.request(
            "PATCH",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}",
            crd,
            [("fieldManager", "faults"), ("force", "true")],
            "application/apply-patch+yaml",
        )
    deadline = time.monotonic() + 30
    while kube.get("/apis/kopf.dev/v1") is None:
        assert time.monotonic() < deadline, "kopf.dev/v1 was never served"
        time.sleep(0.5)


@pytest.mark.parametrize("size", SIZES)
def test_killing_the_active_replica_lets_the_standby_finish_the_rollout(
    size: str,
    kube: Kube,
    peering_crds: None,
    fault_namespace: Callable[[str], str],
    operators: Callable[..., Any],
    record: Callable[..., None],
) -> None:
    n, lifetime = HA[size]
    ns = fault_namespace("peering")
    kube.request(
        "POST",
        f"/apis/kopf.dev/v1/namespaces/{ns}/kopfpeerings",
        {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": PEERING}},
    )

    def replica(priority: int) -> dict[str, str]:
        return {
            "HULEEDU_OPERATOR_PEERING": PEERING,
            "HULEEDU_OPERATOR_PRIORITY": str(priority),
            "HULEEDU_OPERATOR_PEERING_LIFETIME": str(lifetime),
            "HULEEDU_OPERATOR_INSTANCE_NAME": f"replica-{priority}",
        }

    active = operators([ns], replica(200), name="active")
    standby = operators([ns], replica(100), name="standby")
    time.sleep(3)  # both have announced themselves; the standby has paused
    docs = workload.resources(ns, n)
    names = [d["metadata"]["name"] for d in docs]
    with hes_tracker(kube, ns) as tracker:
        applier = threading.Thread(target=apply_fleet, args=(kube, docs))
        applier.start()
        tracker.wait(lambda: len(tracker.ok_now) >= n // 4, 120, "a quarter Ready")
        assert standby.writes() == 0, "the standby acted while the active replica lived"
        ready_at_kill = len(tracker.ok_now)
        killed = time.monotonic()
        active.kill9()
        while standby.writes() == 0:
            assert time.monotonic() - killed < 10 * lifetime + 60, "the standby never acted"
            time.sleep(0.1)
        takeover = time.monotonic() - killed
        applier.join()
        tracker.wait_ok(names, 180 + n)
        finished = max(tracker.first_ok[x] for x in names) - killed

    assert standby.running()
    assert child_problems(kube, ns, docs) == []
    record(
        resources=n,
        peering_lifetime_s=lifetime,
        ready_at_kill=ready_at_kill,
        takeover_s=round(takeover, 2),
        rollout_finished_after_kill_s=round(finished, 1),
    )
