"""Drift against the real API server: deleted and edited children are restored by the
operator (a subprocess, tests/support/operator.py)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client

from support.operator import OperatorProcess, apply, exists, hes, ready


def test_deleted_and_edited_children_are_restored(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    apply(
        kubectl,
        hes(
            "drift",
            namespace,
            type="http",
            image="example/d:1.0",
            replicas=2,
            kafka={"topics": ["t"]},
        ),
    )
    wait_until(lambda: ready(custom_objects, namespace, "drift"), timeout=90)
    timings: list[float] = []

    def timed(action: Callable[[], Any], restored: Callable[[], bool]) -> None:
        start = time.monotonic()
        action()
        wait_until(restored, timeout=30, interval=0.05, message="child was not restored")
        timings.append(time.monotonic() - start)

    def dep() -> client.V1Deployment:
        return apps_v1.read_namespaced_deployment("drift", namespace)

    for _ in range(10):
        uid = dep().metadata.uid
        timed(
            lambda: apps_v1.delete_namespaced_deployment("drift", namespace),
            lambda uid=uid: exists(dep) and dep().metadata.uid != uid,
        )
        timed(
            lambda: core_v1.delete_namespaced_service("drift", namespace),
            lambda: exists(lambda: core_v1.read_namespaced_service("drift", namespace)),
        )
        timed(
            lambda: core_v1.delete_namespaced_config_map("drift-kafka", namespace),
            lambda: exists(lambda: core_v1.read_namespaced_config_map("drift-kafka", namespace)),
        )
        timed(
            lambda: kubectl(
                "set", "image", "deployment/drift", "app=evil/image:6", "-n", namespace
            ),
            lambda: dep().spec.template.spec.containers[0].image == "example/d:1.0",
        )
        timed(
            lambda: kubectl("scale", "deployment/drift", "--replicas=5", "-n", namespace),
            lambda: dep().spec.replicas == 2,
        )
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(
        f"drift restore over {len(timings)} drifts: p50={p50 * 1000:.0f}ms p99={p99 * 1000:.0f}ms"
    )
    assert operator.metric("huleedu_operator_drift_corrections_total") >= 20
    wait_until(lambda: ready(custom_objects, namespace, "drift"), timeout=90)
