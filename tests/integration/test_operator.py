"""The operator against the real API server: create, update, drift, delete, status, bad
input (capabilities: test_capability_flaps.py; name collisions: test_name_collisions.py). The
operator runs as a subprocess (`huleedu-operator run`), exactly as a user starts it."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import yaml
from kubernetes import client

from huleedu_operator.controller.kinds import CHILD_KINDS
from support.operator import OperatorProcess, apply, condition, exists, get_hes, hes, ready

MANAGER = "huleedu-operator"


def test_http_service_gets_its_children_and_becomes_ready(
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
        hes("content", namespace, type="http", image="example/content:1.0", replicas=2, port=8001),
    )
    wait_until(
        lambda: ready(custom_objects, namespace, "content"),
        timeout=90,
        message="content never became Ready",
    )
    obj = get_hes(custom_objects, namespace, "content")
    deployment = apps_v1.read_namespaced_deployment("content", namespace)
    service = core_v1.read_namespaced_service("content", namespace)
    for child in (deployment, service):
        refs = child.metadata.owner_references
        assert refs[0].uid == obj["metadata"]["uid"]
        assert refs[0].controller is True
    assert deployment.spec.replicas == 2
    assert service.spec.ports[0].port == 8001
    assert obj["status"]["url"] == f"http://content.{namespace}.svc:8001"
    assert obj["status"]["readyReplicas"] == 2
    assert obj["status"]["selector"]
    assert condition(obj, "Degraded")["status"] == "False"
    events = core_v1.list_namespaced_event(namespace).items
    assert any(e.reason == "Created" for e in events), [e.reason for e in events]


def test_worker_gets_kafka_settings_and_no_service(
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
            "events",
            namespace,
            type="worker",
            image="example/worker:1.0",
            kafka={"topics": ["huleedu.a.v1", "huleedu.b.v1"]},
        ),
    )
    wait_until(lambda: ready(custom_objects, namespace, "events"), timeout=90)
    config = core_v1.read_namespaced_config_map("events-kafka", namespace)
    assert config.data["KAFKA_TOPICS"] == "huleedu.a.v1,huleedu.b.v1"
    assert config.data["KAFKA_CONSUMER_GROUP"] == "events"
    assert config.data["KAFKA_BOOTSTRAP_SERVERS"] == "kafka.huleedu.svc:9092"
    assert not exists(lambda: core_v1.read_namespaced_service("events", namespace))


def test_update_rolls_the_deployment_and_delete_collects_children(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    spec = {
        "type": "http",
        "image": "example/app:1.0",
        "kafka": {"topics": ["t.one"]},
        "settings": {"FEATURE": "a"},
    }
    apply(kubectl, hes("app", namespace, **spec))
    wait_until(lambda: ready(custom_objects, namespace, "app"), timeout=90)
    before = apps_v1.read_namespaced_deployment("app", namespace)
    checksum = before.spec.template.metadata.annotations["huleedu.io/config-checksum"]

    spec.update(
        image="example/app:2.0", settings={"FEATURE": "b"}, kafka={"topics": ["t.one", "t.two"]}
    )
    apply(kubectl, hes("app", namespace, **spec))

    def rolled() -> bool:
        d = apps_v1.read_namespaced_deployment("app", namespace)
        c = d.spec.template.spec.containers[0]
        env = {e.name: e.value for e in c.env}
        return (
            c.image == "example/app:2.0"
            and env.get("FEATURE") == "b"
            and d.spec.template.metadata.annotations["huleedu.io/config-checksum"] != checksum
        )

    wait_until(rolled, timeout=60, message="update did not reach the Deployment")
    assert (
        core_v1.read_namespaced_config_map("app-kafka", namespace).data["KAFKA_TOPICS"]
        == "t.one,t.two"
    )
    wait_until(lambda: ready(custom_objects, namespace, "app"), timeout=90)

    kubectl("delete", "hes", "app", "-n", namespace, "--wait=true")
    wait_until(
        lambda: (
            not exists(lambda: apps_v1.read_namespaced_deployment("app", namespace))
            and not exists(lambda: core_v1.read_namespaced_service("app", namespace))
            and not exists(lambda: core_v1.read_namespaced_config_map("app-kafka", namespace))
        ),
        timeout=90,
        message="children were not garbage-collected",
    )


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


def _write_requests(kubectl: Callable[..., Any]) -> float:
    text = kubectl("get", "--raw", "/metrics").stdout
    resources = {"huleeduservices", "events", *(k.plural for k in CHILD_KINDS)}
    total = 0.0
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(
            part.split("=", 1) for part in line[line.index("{") + 1 : line.index("}")].split(",")
        )
        verb = labels.get("verb", "").strip('"')
        resource = labels.get("resource", "").strip('"')
        if verb in {"POST", "PUT", "PATCH", "DELETE", "APPLY", "CREATE", "UPDATE"} and (
            resource in resources
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_idle_operator_sends_no_writes(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    docs = [
        hes(
            f"idle-{i}",
            namespace,
            type="http" if i % 2 else "worker",
            image="example/i:1.0",
            **({"kafka": {"topics": ["t"]}} if i % 2 == 0 else {}),
        )
        for i in range(50)
    ]
    kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(docs))
    wait_until(
        lambda: all(ready(custom_objects, namespace, d["metadata"]["name"]) for d in docs),
        timeout=180,
        interval=2,
        message="50 resources never converged",
    )
    # Other tests' namespaces being torn down make the controllers write; wait them out
    # so the API server's own count is about this operator alone.
    wait_until(
        lambda: (
            not any(
                ns.status.phase == "Terminating"
                for ns in client.CoreV1Api(custom_objects.api_client).list_namespace().items
            )
        ),
        timeout=180,
        interval=2,
    )
    time.sleep(5)  # let trailing watch events settle
    writes = ("PATCH", "POST", "PUT", "DELETE")

    def operator_writes() -> float:
        return sum(
            operator.metric(f'huleedu_operator_api_requests_total{{verb="{v}"}}') for v in writes
        )

    before, own_before = _write_requests(kubectl), operator_writes()
    time.sleep(60)
    after, own_after = _write_requests(kubectl), operator_writes()
    print(
        f"idle writes in 60 s with 50 resources: operator {own_after - own_before:.0f}, "
        f"API server (all clients, managed kinds) {after - before:.0f}"
    )
    assert own_after - own_before == 0
    if os.environ.get("HULEEDU_EXCLUSIVE_CLUSTER") == "1":
        # Only meaningful when nothing else uses the cluster (.ci/run sets it).
        assert after - before == 0


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
