"""A new claim is never deleted by an edit: removing its volume from spec.volumes keeps
the PersistentVolumeClaim (and its data) and says so in status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes import client

from support.operator import OperatorProcess, apply, condition, exists, get_hes, hes


def test_removing_a_volume_keeps_its_claim_and_says_so(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    volume = {"name": "data", "mountPath": "/data", "persistentVolumeClaim": {"size": "1Gi"}}
    apply(kubectl, hes("store", namespace, type="http", image="example/s:1.0", volumes=[volume]))
    wait_until(
        lambda: exists(
            lambda: core_v1.read_namespaced_persistent_volume_claim("store-data", namespace)
        ),
        timeout=60,
        message="the claim to be created",
    )
    apply(kubectl, hes("store", namespace, type="http", image="example/s:1.0"))

    def kept() -> dict[str, Any]:
        degraded = condition(get_hes(custom_objects, namespace, "store"), "Degraded")
        return degraded if degraded.get("reason") == "ClaimKept" else {}

    found = wait_until(kept, timeout=60, message="a ClaimKept condition")
    assert "PersistentVolumeClaim/store-data is no longer in spec.volumes" in found["message"]
    claim = core_v1.read_namespaced_persistent_volume_claim("store-data", namespace)
    assert claim.metadata.deletion_timestamp is None
