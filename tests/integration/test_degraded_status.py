"""Status conditions that report trouble, against the real API server: a missing
ConfigMap degrades only its resource, a field owned by another applier is reported by
name, and a pod that cannot start degrades its service."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml
from kubernetes import client

from support.operator import OperatorProcess, apply, condition, get_hes, hes, ready


def test_another_applier_owning_a_field_is_reported_by_name(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    apps_v1: client.AppsV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    apply(kubectl, hes("contested", namespace, type="http", image="example/c:1.0"))
    wait_until(lambda: ready(custom_objects, namespace, "contested"), timeout=90)
    # A GitOps tool applies its own image for the same Deployment...
    rival = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "contested", "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "rival/c:9"}]}}},
    }
    kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=gitops-tool",
        "-f",
        "-",
        input=yaml.safe_dump(rival),
    )
    # ...and the user changes the resource, so the operator must apply the image too.
    apply(kubectl, hes("contested", namespace, type="http", image="example/c:2.0"))

    def conflict() -> dict[str, Any]:
        cond = condition(get_hes(custom_objects, namespace, "contested"), "Degraded")
        return cond if cond.get("reason") == "FieldConflict" else {}

    cond = wait_until(conflict, timeout=60, message="conflict was not reported")
    assert "gitops-tool" in cond["message"]
    assert (
        apps_v1.read_namespaced_deployment("contested", namespace)
        .spec.template.spec.containers[0]
        .image
        == "rival/c:9"
    ), "operator forced it"


def test_a_pod_that_cannot_start_degrades_its_service(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    """A missing Secret or an unpullable image shows in the pod's container status.

    kwok's fake kubelet never fails to start a container, so this test writes the status
    a real kubelet writes for a missing Secret (the only stand-in in this module: the
    failure cannot be produced without a real kubelet). The operator reads pods, never
    Secrets, so this is the path a missing Secret takes in production.
    """
    apply(
        kubectl,
        hes(
            "needs-secret", namespace, type="worker", image="example/w:1.0", kafka={"topics": ["t"]}
        ),
    )
    wait_until(lambda: ready(custom_objects, namespace, "needs-secret"), timeout=90)
    pod = core_v1.list_namespaced_pod(
        namespace, label_selector="huleedu.io/service=needs-secret"
    ).items[0]
    patch = {
        "status": {
            "containerStatuses": [
                {
                    "name": "app",
                    "image": "example/w:1.0",
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "state": {
                        "waiting": {
                            "reason": "CreateContainerConfigError",
                            "message": 'secret "kafka-credentials" not found',
                        }
                    },
                }
            ]
        }
    }
    kubectl(
        "patch",
        "pod",
        pod.metadata.name,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(patch),
    )

    def degraded() -> dict[str, Any]:
        cond = condition(get_hes(custom_objects, namespace, "needs-secret"), "Degraded")
        return cond if cond.get("reason") == "CreateContainerConfigError" else {}

    cond = wait_until(degraded, timeout=30, message="the pod failure was not reported")
    assert 'secret "kafka-credentials" not found' in cond["message"]
    assert (
        condition(get_hes(custom_objects, namespace, "needs-secret"), "Ready")["status"] == "False"
    )


def test_missing_configmap_degrades_only_that_resource(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    apply(kubectl, hes("healthy", namespace, type="http", image="example/h:1.0"))
    apply(
        kubectl,
        hes(
            "broken",
            namespace,
            type="http",
            image="example/b:1.0",
            envFrom=[{"configMapRef": {"name": "does-not-exist"}}],
        ),
    )

    def degraded() -> dict[str, Any]:
        cond = condition(get_hes(custom_objects, namespace, "broken"), "Degraded")
        return cond if cond.get("status") == "True" else {}

    cond = wait_until(degraded, timeout=60, message="broken never became Degraded")
    assert cond["reason"] == "MissingReference"
    assert "spec.envFrom[0].configMapRef.name" in cond["message"]
    assert "does-not-exist" in cond["message"]
    wait_until(lambda: ready(custom_objects, namespace, "healthy"), timeout=90)
    assert operator.proc.poll() is None
