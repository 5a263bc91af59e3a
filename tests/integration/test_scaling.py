"""Replicas and the autoscaler against the real API server: scaling the resource scales
the Deployment, an autoscaler's replicas are not fought, and turning autoscaling off
removes the HPA and restores the replicas."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client

from support.operator import OperatorProcess, apply, exists, get_hes, hes, ready

MANAGER = "huleedu-operator"


def test_scaling_the_resource_scales_the_deployment_and_autoscaler_is_not_fought(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    apps_v1: client.AppsV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    apply(kubectl, hes("scaled", namespace, type="http", image="example/s:1.0"))
    wait_until(lambda: ready(custom_objects, namespace, "scaled"), timeout=90)
    kubectl("scale", "hes/scaled", "--replicas=3", "-n", namespace)
    wait_until(
        lambda: apps_v1.read_namespaced_deployment("scaled", namespace).spec.replicas == 3,
        timeout=30,
    )
    wait_until(
        lambda: get_hes(custom_objects, namespace, "scaled")["status"].get("readyReplicas") == 3,
        timeout=60,
    )

    apply(
        kubectl,
        hes(
            "scaled",
            namespace,
            type="http",
            image="example/s:1.0",
            replicas=3,
            autoscaling={"minReplicas": 2, "maxReplicas": 6},
        ),
    )
    hpa = client.AutoscalingV2Api(apps_v1.api_client)
    wait_until(
        lambda: exists(lambda: hpa.read_namespaced_horizontal_pod_autoscaler("scaled", namespace)),
        timeout=30,
    )
    # Stand in for the autoscaler: set replicas the way the HPA controller does.
    kubectl("scale", "deployment/scaled", "--replicas=4", "-n", namespace)
    time.sleep(5)
    deployment = apps_v1.read_namespaced_deployment("scaled", namespace)
    assert deployment.spec.replicas == 4
    owners = {
        e.manager
        for e in deployment.metadata.managed_fields
        if e.manager == MANAGER and "f:replicas" in json.dumps(e.fields_v1.get("f:spec", {}))
    }
    assert not owners, "the operator still owns spec.replicas while an HPA is in charge"


def test_turning_autoscaling_off_removes_the_hpa_and_restores_replicas(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    apps_v1: client.AppsV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    hpa = client.AutoscalingV2Api(apps_v1.api_client)
    apply(
        kubectl,
        hes(
            "elastic",
            namespace,
            type="http",
            image="example/e:1.0",
            replicas=2,
            autoscaling={"minReplicas": 1, "maxReplicas": 4},
        ),
    )
    wait_until(
        lambda: exists(lambda: hpa.read_namespaced_horizontal_pod_autoscaler("elastic", namespace)),
        timeout=60,
    )
    apply(kubectl, hes("elastic", namespace, type="http", image="example/e:1.0", replicas=2))
    wait_until(
        lambda: (
            not exists(lambda: hpa.read_namespaced_horizontal_pod_autoscaler("elastic", namespace))
        ),
        timeout=60,
        message="the HPA was not pruned",
    )
    wait_until(
        lambda: apps_v1.read_namespaced_deployment("elastic", namespace).spec.replicas == 2,
        timeout=30,
    )
    events = client.CoreV1Api(apps_v1.api_client).list_namespaced_event(namespace).items
    assert any(e.reason == "Pruned" for e in events)
