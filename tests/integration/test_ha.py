"""Two operator replicas with kopf peering: only the highest priority acts, and when it
dies without saying goodbye (kill -9) the other takes over within the peer lifetime.

Both namespace modes that peer differently: a literal namespace list keeps the
keep-alives in a KopfPeering in that namespace; globs or exclusions keep them in a
ClusterKopfPeering (controller/namespaces.py says why).
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from support.ground import REPO
from support.operator import OUTSIDE_IN_CLUSTER, OperatorProcess, apply, hes

CRDS = REPO / "charts" / "huleedu-operator" / "crds"
LIFETIME = 5


def is_ready(custom_objects: client.CustomObjectsApi, namespace: str, name: str) -> bool:
    try:
        obj = custom_objects.get_namespaced_custom_object(
            "huleedu.io", "v1alpha1", namespace, "huleeduservices", name
        )
    except client.ApiException:
        return False
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in obj.get("status", {}).get("conditions", [])
    )


@pytest.mark.parametrize("mode", ["namespaces", "patterns"])
def test_standby_takes_over_after_the_active_replica_is_killed(
    mode: str,
    kubeconfig: str,
    crd_installed: None,
    namespace: str,
    kubectl: Callable[..., Any],
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
    tmp_path: Path,
) -> None:
    peering = f"ha-{uuid.uuid4().hex[:6]}"
    if mode == "namespaces":
        served = namespace
        kind, plural = "KopfPeering", "kopfpeerings"
        metadata = {"name": peering, "namespace": namespace}
    else:
        # Pattern mode (an exclusion makes it one), serving only this test's namespace.
        served = f"{namespace},{OUTSIDE_IN_CLUSTER}"
        kind, plural = "ClusterKopfPeering", "clusterkopfpeerings"
        metadata = {"name": peering}
    crd = CRDS / f"kopf.dev_{plural}.yaml"
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd))
    kubectl("wait", "--for=condition=Established", f"crd/{plural}.kopf.dev", "--timeout=60s")
    peering_object = {"apiVersion": "kopf.dev/v1", "kind": kind, "metadata": metadata}
    kubectl("apply", "-f", "-", input=yaml.safe_dump(peering_object))
    common = {"namespaces": served, "peering": peering, "peering_lifetime": str(LIFETIME)}
    active = OperatorProcess(
        kubeconfig, tmp_path / "active.log", priority="200", instance_name="active", **common
    )
    wait_until(active.alive, timeout=60)
    standby = OperatorProcess(
        kubeconfig, tmp_path / "standby.log", priority="100", instance_name="standby", **common
    )
    try:
        wait_until(standby.alive, timeout=60)
        apply(kubectl, hes("before", namespace, type="http", image="example/ha:1.0"))
        wait_until(lambda: is_ready(custom_objects, namespace, "before"), timeout=90)
        assert active.metric("huleedu_operator_reconciles_total") > 0
        assert standby.metric("huleedu_operator_reconciles_total") == 0, (
            "the standby reconciled while a higher-priority peer was alive"
        )
        # Both keep their keep-alives in the peering object this mode uses.
        if mode == "namespaces":
            obj = custom_objects.get_namespaced_custom_object(
                "kopf.dev", "v1", namespace, plural, peering
            )
        else:
            obj = custom_objects.get_cluster_custom_object("kopf.dev", "v1", plural, peering)
        priorities = sorted(peer["priority"] for peer in (obj.get("status") or {}).values())
        assert priorities == [100, 200], obj.get("status")

        active.proc.send_signal(signal.SIGKILL)
        active.proc.wait(timeout=10)
        killed = time.monotonic()
        apply(kubectl, hes("after", namespace, type="http", image="example/ha:1.0"))
        # Taken over = the standby itself reconciled and the new resource is Ready.
        wait_until(
            lambda: (
                standby.metric("huleedu_operator_reconciles_total") > 0
                and is_ready(custom_objects, namespace, "after")
            ),
            timeout=120,
            interval=0.2,
            message="the standby never took over",
        )
        takeover = time.monotonic() - killed
        print(f"HA takeover after kill -9: {takeover:.1f}s (peer lifetime {LIFETIME}s)")
        assert takeover < LIFETIME * 4 + 30
    finally:
        standby.stop()
        active.stop()
        if mode == "patterns":  # cluster-scoped: the namespace's deletion does not take it
            kubectl("delete", "clusterkopfpeering", peering, "--ignore-not-found")
