"""A consumer group never runs more consumers than partitions (issue "Safe on a shared
cluster", item 9): not by spec.replicas (refused at admission), not by
``kubectl scale`` through the scale subresource (capped, and said in status)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from kubernetes import client

from support.operator import OperatorProcess, apply, condition, get_hes, hes, ready


def test_scaling_a_consumer_past_its_partitions_runs_no_idle_consumers(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    apps_v1: client.AppsV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    kafka = {"topics": ["grades.v1"], "partitions": 3}
    apply(kubectl, hes("grader", namespace, type="worker", image="example/g:1.0", kafka=kafka))
    wait_until(lambda: ready(custom_objects, namespace, "grader"), timeout=90)

    refused = kubectl(
        "apply",
        "--server-side",
        "--field-manager=test",
        "-f",
        "-",
        check=False,
        input=yaml.safe_dump(
            hes("grader", namespace, type="worker", image="example/g:1.0", kafka=kafka, replicas=10)
        ),
    )
    assert refused.returncode != 0
    assert "spec.replicas: a consumer group cannot use more consumers than partitions" in (
        refused.stderr
    )

    scaled = kubectl("scale", "huleeduservice/grader", "-n", namespace, "--replicas=5", check=False)
    if scaled.returncode != 0:
        # The scale subresource ran the spec's rules too: refused at the earliest point.
        assert "spec.replicas" in scaled.stderr
        return

    def capped() -> bool:
        degraded = condition(get_hes(custom_objects, namespace, "grader"), "Degraded")
        return degraded.get("reason") == "ConsumersCapped"

    wait_until(capped, timeout=60, message="a ConsumersCapped condition")
    degraded = condition(get_hes(custom_objects, namespace, "grader"), "Degraded")
    assert "running 3" in degraded["message"]
    assert apps_v1.read_namespaced_deployment("grader", namespace).spec.replicas == 3
