"""Two operator replicas with kopf peering (HA): only the higher priority one acts, and
when it dies without saying goodbye (kill -9) the other takes over.

- In both namespace modes, which peer differently (a literal namespace list keeps the
  keep-alives in a KopfPeering in that namespace; globs or exclusions keep them in a
  ClusterKopfPeering, controller/namespaces.py says why): both replicas' keep-alives are
  in that object, the standby reconciles nothing while the active lives, and after the
  kill it reconciles a new resource to Ready within the peer lifetime.
- During a rollout of a fleet: kill -9 the active replica and the standby finishes the
  rollout. Reports the takeover time (kill -> the standby's first write) and how long
  the rollout took to finish after the kill.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fleet import SIZES, apply_fleet, child_problems, hes_tracker

from support import workload
from support.kube import Kube, collection
from support.operator import IN_CLUSTER_NAMESPACES

REPO = Path(__file__).resolve().parents[2]
PEERING_CRDS = [
    REPO / "charts" / "huleedu-operator" / "crds" / "kopf.dev_kopfpeerings.yaml",
    REPO / "charts" / "huleedu-operator" / "crds" / "kopf.dev_clusterkopfpeerings.yaml",
]
PEERING = "huleedu-faults"
HA = {"reduced": (30, 5), "full": (200, 10)}  # resources, peering lifetime (s)
LIFETIME = 5  # the peer lifetime of the takeover test (s)
RECONCILES = "huleedu_operator_reconciles_total"


def replica(peering: str, priority: int, lifetime: int) -> dict[str, str]:
    return {
        "HULEEDU_OPERATOR_PEERING": peering,
        "HULEEDU_OPERATOR_PRIORITY": str(priority),
        "HULEEDU_OPERATOR_PEERING_LIFETIME": str(lifetime),
        "HULEEDU_OPERATOR_INSTANCE_NAME": f"replica-{priority}",
    }


def is_ready(kube: Kube, namespace: str, name: str) -> bool:
    obj = kube.get(f"{collection('HuleEduService', namespace)}/{name}")
    return obj is not None and any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in (obj.get("status") or {}).get("conditions", [])
    )


def wait_for(predicate: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s: {message}"
        time.sleep(0.2)


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


@pytest.mark.parametrize("mode", ["namespaces", "patterns"])
def test_standby_takes_over_after_the_active_replica_is_killed(
    mode: str,
    kube: Kube,
    peering_crds: None,
    fault_namespace: Callable[[str], str],
    operators: Callable[..., Any],
) -> None:
    ns = fault_namespace("ha")
    peering = f"ha-{uuid.uuid4().hex[:6]}"
    if mode == "namespaces":
        served = [ns]
        kind, peerings = "KopfPeering", f"/apis/kopf.dev/v1/namespaces/{ns}/kopfpeerings"
        metadata = {"name": peering, "namespace": ns}
    else:
        # Pattern mode (an exclusion makes it one), serving only this test's namespace.
        served = [ns, *(f"!{x}" for x in IN_CLUSTER_NAMESPACES)]
        kind, peerings = "ClusterKopfPeering", "/apis/kopf.dev/v1/clusterkopfpeerings"
        metadata = {"name": peering}
    peering_object = {"apiVersion": "kopf.dev/v1", "kind": kind, "metadata": metadata}
    kube.request("POST", peerings, peering_object)

    def service(name: str) -> dict[str, Any]:
        return {
            "apiVersion": "huleedu.io/v1alpha1",
            "kind": "HuleEduService",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"type": "http", "image": "example/ha:1.0"},
        }

    active = operators(served, replica(peering, 200, LIFETIME), name="active")
    standby = operators(served, replica(peering, 100, LIFETIME), name="standby")
    try:
        kube.apply(service("before"), manager="test")
        wait_for(lambda: is_ready(kube, ns, "before"), 90, "before Ready")
        assert active.metric(RECONCILES) > 0
        assert standby.metric(RECONCILES) == 0, (
            "the standby reconciled while a higher-priority peer was alive"
        )
        # Both keep their keep-alives in the peering object this mode uses.
        obj = kube.get(f"{peerings}/{peering}") or {}
        priorities = sorted(peer["priority"] for peer in (obj.get("status") or {}).values())
        assert priorities == [100, 200], obj.get("status")

        active.kill9()
        killed = time.monotonic()
        kube.apply(service("after"), manager="test")
        # Taken over = the standby itself reconciled and the new resource is Ready.
        wait_for(
            lambda: standby.metric(RECONCILES) > 0 and is_ready(kube, ns, "after"),
            120,
            "the standby never took over",
        )
        takeover = time.monotonic() - killed
        print(f"HA takeover after kill -9: {takeover:.1f}s (peer lifetime {LIFETIME}s)")
        assert takeover < LIFETIME * 4 + 30
    finally:
        standby.stop()
        active.stop()
        if mode == "patterns":  # cluster-scoped: the namespace's deletion does not take it
            kube.delete(f"{peerings}/{peering}")


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

    active = operators([ns], replica(PEERING, 200, lifetime), name="active")
    standby = operators([ns], replica(PEERING, 100, lifetime), name="standby")
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
