"""The operator against the real API server: what it creates for a HuleEduService, and
what an update and a delete do to the children. The operator runs as a subprocess
(`huleedu-operator run`), exactly as a user starts it (tests/support/operator.py).

Drift: test_drift.py; scaling: test_scaling.py; degraded status: test_degraded_status.py;
idle writes: test_idle_writes.py; capabilities: test_capability_flaps.py; name
collisions: test_name_collisions.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes import client

from huleedu_operator.api.identity import CONFIG_CHECKSUM_ANNOTATION
from support.operator import OperatorProcess, apply, condition, exists, get_hes, hes, ready


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
    checksum = before.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION]

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
            and d.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION] != checksum
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
