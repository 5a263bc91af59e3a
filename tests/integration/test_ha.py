"""Two operator replicas with kopf peering: only the highest priority acts, and when it
dies without saying goodbye (kill -9) the other takes over within the peer lifetime."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from operator_harness import REPO, OperatorProcess, apply, hes

PEERING_CRD = REPO / "charts" / "huleedu-operator" / "crds" / "kopf.dev_kopfpeerings.yaml"
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


def test_standby_takes_over_after_the_active_replica_is_killed(
    kubeconfig: str,
    crd_installed: None,
    namespace: str,
    kubectl: Callable[..., Any],
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
    tmp_path: Path,
) -> None:
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(PEERING_CRD))
    kubectl("wait", "--for=condition=Established", "crd/kopfpeerings.kopf.dev", "--timeout=60s")
    peering = f"ha-{uuid.uuid4().hex[:6]}"
    kubectl(
        "apply",
        "-f",
        "-",
        input=yaml.safe_dump(
            {
                "apiVersion": "kopf.dev/v1",
                "kind": "KopfPeering",
                "metadata": {"name": peering, "namespace": namespace},
            }
        ),
    )
    common = {"namespaces": namespace, "peering": peering, "peering_lifetime": str(LIFETIME)}
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
