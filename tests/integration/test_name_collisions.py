"""Name collisions on a shared cluster: the operator never takes over an object it does
not control (issue "Safe on a shared cluster", item 1). Each case creates the other
party's object first, then the HuleEduService whose child would have that name, and
checks that the object is byte-for-byte untouched (same resourceVersion), that status
says NameConflict naming the object and its manager, and that deleting the
HuleEduService leaves the object alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from kubernetes import client

from support.operator import OperatorProcess, apply, condition, get_hes, hes, ready


def untouched(before: Any, after: Any) -> bool:
    """The operator wrote nothing to it: spec, labels, annotations and owners as they
    were, and no field manager of ours (a real Deployment's resourceVersion moves anyway:
    kube-controller-manager writes its status)."""
    managers = {e.manager for e in after.metadata.managed_fields or []}

    def annotations(obj: Any) -> dict[str, str]:  # less the Deployment controller's own
        kept = obj.metadata.annotations or {}
        return {k: v for k, v in kept.items() if not k.startswith("deployment.kubernetes.io/")}

    return bool(
        after.spec == before.spec
        and after.metadata.labels == before.metadata.labels
        and annotations(after) == annotations(before)
        and not after.metadata.owner_references
        and "huleedu-operator" not in managers
    )


def conflict(custom_objects: client.CustomObjectsApi, ns: str, name: str) -> dict[str, Any]:
    obj = get_hes(custom_objects, ns, name)
    degraded = condition(obj, "Degraded")
    return degraded if degraded.get("reason") == "NameConflict" else {}


def create(kubectl: Callable[..., Any], obj: dict[str, Any]) -> None:
    kubectl("create", "-f", "-", input=yaml.safe_dump(obj))


def foreign_service(ns: str, name: str, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, **metadata},
        "spec": {"selector": {"app": "theirs"}, "ports": [{"port": 80, "targetPort": 9000}]},
    }


def test_a_service_made_with_kubectl_create_is_reported_and_never_touched(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    create(kubectl, foreign_service(namespace, "billing"))
    before = core_v1.read_namespaced_service("billing", namespace)
    apply(kubectl, hes("billing", namespace, type="http", image="example/b:1.0"))

    # The first test of the module: its operator has just started (and may still be
    # listing what earlier modules left behind).
    found = wait_until(lambda: conflict(custom_objects, namespace, "billing"), timeout=120)
    assert found["status"] == "True"
    assert "Service 'billing' already exists" in found["message"]
    assert "field manager kubectl-create" in found["message"]
    assert "left unchanged" in found["message"]
    assert condition(get_hes(custom_objects, namespace, "billing"), "Ready")["status"] == "False"
    after = core_v1.read_namespaced_service("billing", namespace)
    assert untouched(before, after)
    assert after.spec.selector == {"app": "theirs"}

    kubectl("delete", "huleeduservice", "billing", "-n", namespace, "--wait=true")
    kubectl("wait", "--for=delete", "deployment/billing", "-n", namespace, "--timeout=60s")
    assert untouched(before, core_v1.read_namespaced_service("billing", namespace))


def test_a_helm_release_and_a_look_alike_label_are_named_and_left_alone(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    helm = foreign_service(
        namespace,
        "ledger",
        labels={"app.kubernetes.io/managed-by": "Helm"},
        annotations={"meta.helm.sh/release-name": "payments"},
    )
    # A tenant labelling their object like ours does not make it ours.
    lookalike = foreign_service(
        namespace,
        "audit",
        labels={"app.kubernetes.io/managed-by": "huleedu-operator", "huleedu.io/service": "audit"},
    )
    create(kubectl, helm)
    create(kubectl, lookalike)
    versions = {n: core_v1.read_namespaced_service(n, namespace) for n in ("ledger", "audit")}
    for name in versions:
        apply(kubectl, hes(name, namespace, type="http", image="example/l:1.0"))

    ledger = wait_until(lambda: conflict(custom_objects, namespace, "ledger"), timeout=60)
    assert "Helm release payments" in ledger["message"]
    audit = wait_until(lambda: conflict(custom_objects, namespace, "audit"), timeout=60)
    assert "field manager kubectl-create" in audit["message"]
    for name, version in versions.items():
        live = core_v1.read_namespaced_service(name, namespace)
        assert untouched(version, live), name
        assert live.spec.selector == {"app": "theirs"}


def test_a_deployment_with_another_selector_is_a_conflict_not_a_retry_loop(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    apps_v1: client.AppsV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    labels = {"app": "legacy"}
    create(
        kubectl,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "legacy", "namespace": namespace},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "c", "image": "example/legacy:1"}]},
                },
            },
        },
    )
    before = apps_v1.read_namespaced_deployment("legacy", namespace)
    apply(
        kubectl,
        hes("legacy", namespace, type="worker", image="example/w:1.0", kafka={"topics": ["t"]}),
    )
    found = wait_until(lambda: conflict(custom_objects, namespace, "legacy"), timeout=60)
    assert "Deployment 'legacy' already exists" in found["message"]
    assert untouched(before, apps_v1.read_namespaced_deployment("legacy", namespace))
    # (On a cluster shared with other operators another one may have written that status.)
    wait_until(
        lambda: operator.metric('huleedu_operator_name_conflicts_total{kind="Deployment"}') >= 1,
        timeout=30,
        message="this operator to count the conflict",
    )


def test_an_orphan_of_ours_is_adopted_only_when_asked(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    doc = hes("grades", namespace, type="http", image="example/g:1.0")
    apply(kubectl, doc)
    wait_until(lambda: ready(custom_objects, namespace, "grades"), timeout=90)
    kubectl("delete", "huleeduservice", "grades", "-n", namespace, "--cascade=orphan")
    wait_until(
        lambda: (
            not apps_v1.read_namespaced_deployment("grades", namespace).metadata.owner_references
        ),
        timeout=60,
        message="the garbage collector to orphan the Deployment",
    )

    apply(kubectl, doc)  # a new HuleEduService (new uid) of the same name
    found = wait_until(lambda: conflict(custom_objects, namespace, "grades"), timeout=60)
    assert "an orphan made by huleedu-operator" in found["message"]
    assert 'huleedu.io/adopt-orphans="true"' in found["message"]
    assert not apps_v1.read_namespaced_deployment("grades", namespace).metadata.owner_references

    kubectl(
        "annotate", "huleeduservice", "grades", "-n", namespace, "huleedu.io/adopt-orphans=true"
    )
    wait_until(lambda: ready(custom_objects, namespace, "grades"), timeout=90)
    uid = get_hes(custom_objects, namespace, "grades")["metadata"]["uid"]
    for child in (
        apps_v1.read_namespaced_deployment("grades", namespace),
        core_v1.read_namespaced_service("grades", namespace),
    ):
        assert [r.uid for r in child.metadata.owner_references if r.controller] == [uid]
    events = core_v1.list_namespaced_event(namespace).items
    assert any(e.reason == "Adopted" for e in events), [e.reason for e in events]
