"""The test ground is a real Kubernetes control plane, not a mock.

Each test proves one behaviour that only a real API server (with its admission chain,
controller-manager and scheduler) has, so a green run means the operator's integration
tests run against the real thing. Every test works in its own namespace and cleans up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.integration

GROUND_GROUP = "ground.huleedu.test"
CEL_MESSAGE = "spec.minReplicas must not exceed spec.replicas"


@pytest.fixture
def cel_crd(
    apiextensions_v1: client.ApiextensionsV1Api, wait_until: Callable[..., Any]
) -> Iterator[dict[str, str]]:
    """A throwaway namespaced CRD whose spec carries one CEL rule; deleted afterwards."""
    suffix = uuid.uuid4().hex[:6]
    plural, kind = f"gauges{suffix}", f"Gauge{suffix}"
    name = f"{plural}.{GROUND_GROUP}"
    spec_schema = {
        "type": "object",
        "required": ["replicas", "minReplicas"],
        "properties": {
            "replicas": {"type": "integer", "minimum": 0},
            "minReplicas": {"type": "integer", "minimum": 0},
        },
        "x-kubernetes-validations": [
            {"rule": "self.minReplicas <= self.replicas", "message": CEL_MESSAGE}
        ],
    }
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name, "labels": {"huleedu.test/ephemeral": "true"}},
        "spec": {
            "group": GROUND_GROUP,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": plural, "kind": kind},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": spec_schema},
                        }
                    },
                }
            ],
        },
    }
    apiextensions_v1.create_custom_resource_definition(crd)

    def established() -> bool:
        obj = apiextensions_v1.read_custom_resource_definition(name)
        conditions = (obj.status.conditions or []) if obj.status else []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    try:
        wait_until(established, timeout=60, message=f"CRD {name} to be Established")
        yield {"group": GROUND_GROUP, "version": "v1", "plural": plural, "kind": kind}
    finally:
        apiextensions_v1.delete_custom_resource_definition(name)


def test_crd_cel_rule_rejects_invalid_object_at_admission_with_its_message(
    cel_crd: dict[str, str],
    custom_objects: client.CustomObjectsApi,
    namespace: str,
    wait_until: Callable[..., Any],
) -> None:
    def body(name: str, replicas: int, min_replicas: int) -> dict[str, Any]:
        return {
            "apiVersion": f"{cel_crd['group']}/{cel_crd['version']}",
            "kind": cel_crd["kind"],
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "minReplicas": min_replicas},
        }

    def create(obj: dict[str, Any]) -> Any:
        return custom_objects.create_namespaced_custom_object(
            cel_crd["group"], cel_crd["version"], namespace, cel_crd["plural"], obj
        )

    # A valid object is admitted (retried: a just-Established CRD may take a moment to serve).
    created = wait_until(
        lambda: create(body("valid", replicas=3, min_replicas=1)),
        timeout=30,
        message="the new CRD to accept a valid object",
    )
    assert created["metadata"]["name"] == "valid"

    with pytest.raises(ApiException) as excinfo:
        create(body("invalid", replicas=1, min_replicas=3))
    assert excinfo.value.status == 422
    assert CEL_MESSAGE in (excinfo.value.body or "")
    assert "invalid" not in {
        item["metadata"]["name"]
        for item in custom_objects.list_namespaced_custom_object(
            cel_crd["group"], cel_crd["version"], namespace, cel_crd["plural"]
        )["items"]
    }


def test_server_side_apply_records_field_manager_in_managed_fields(
    dynamic_client: dynamic.DynamicClient, namespace: str
) -> None:
    configmaps = dynamic_client.resources.get(api_version="v1", kind="ConfigMap")
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied", "namespace": namespace},
        "data": {"owned-key": "one"},
    }
    applied = configmaps.server_side_apply(
        body=manifest, namespace=namespace, field_manager="huleedu-ground"
    ).to_dict()

    entries = applied["metadata"]["managedFields"]
    ours = [e for e in entries if e["manager"] == "huleedu-ground"]
    assert len(ours) == 1, entries
    assert ours[0]["operation"] == "Apply"
    assert "f:owned-key" in ours[0]["fieldsV1"]["f:data"]

    # A second manager changing the same field conflicts unless it forces: real SSA semantics.
    rival = {**manifest, "data": {"owned-key": "two"}}
    with pytest.raises(ApiException) as excinfo:
        configmaps.server_side_apply(body=rival, namespace=namespace, field_manager="rival")
    assert excinfo.value.status == 409
    assert "huleedu-ground" in (excinfo.value.body or "")


def test_deployment_with_two_replicas_becomes_available(
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    namespace: str,
    wait_until: Callable[..., Any],
) -> None:
    labels = {"app": "ground-web"}
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="ground-web"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[
                        client.V1Container(
                            name="web",
                            image="registry.invalid/ground-web:1.0.0",
                            ports=[client.V1ContainerPort(container_port=8001)],
                        )
                    ]
                ),
            ),
        ),
    )
    apps_v1.create_namespaced_deployment(namespace, deployment)

    def available() -> bool:
        status = apps_v1.read_namespaced_deployment_status("ground-web", namespace).status
        conditions = {c.type: c.status for c in status.conditions or []}
        return status.available_replicas == 2 and conditions.get("Available") == "True"

    wait_until(available, timeout=120, message="Deployment ground-web to have 2 available replicas")

    pods = core_v1.list_namespaced_pod(namespace, label_selector="app=ground-web").items
    assert len(pods) == 2
    for pod in pods:
        assert pod.spec.node_name, "the scheduler bound the pod to a (fake) node"
        assert pod.status.phase == "Running"
        ready = {c.type: c.status for c in pod.status.conditions or []}
        assert ready.get("Ready") == "True"


def test_deleting_owner_garbage_collects_child_through_owner_reference(
    core_v1: client.CoreV1Api, namespace: str, wait_until: Callable[..., Any]
) -> None:
    owner = core_v1.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"), data={"role": "owner"}),
    )
    core_v1.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(
                name="child",
                owner_references=[
                    client.V1OwnerReference(
                        api_version="v1",
                        kind="ConfigMap",
                        name=owner.metadata.name,
                        uid=owner.metadata.uid,
                    )
                ],
            ),
            data={"role": "child"},
        ),
    )
    core_v1.delete_namespaced_config_map("owner", namespace, propagation_policy="Background")

    def child_gone() -> bool:
        try:
            core_v1.read_namespaced_config_map("child", namespace)
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return False

    wait_until(child_gone, timeout=60, message="the garbage collector to delete the child")


def _pod(name: str, security_context: client.V1SecurityContext) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="main",
                    image="registry.invalid/ground:1.0.0",
                    security_context=security_context,
                )
            ],
        ),
    )


def test_restricted_namespace_rejects_privileged_pod(
    core_v1: client.CoreV1Api, namespace_factory: Callable[..., str]
) -> None:
    namespace = namespace_factory(
        "restricted", labels={"pod-security.kubernetes.io/enforce": "restricted"}
    )
    privileged = _pod("privileged", client.V1SecurityContext(privileged=True))
    with pytest.raises(ApiException) as excinfo:
        core_v1.create_namespaced_pod(namespace, privileged)
    assert excinfo.value.status == 403
    body = excinfo.value.body or ""
    assert "violates PodSecurity" in body
    assert "privileged" in body

    # The same namespace admits a pod that meets the restricted profile: the rejection
    # above is the policy at work, not a namespace that refuses everything.
    compliant = _pod(
        "compliant",
        client.V1SecurityContext(
            run_as_non_root=True,
            run_as_user=10001,
            allow_privilege_escalation=False,
            capabilities=client.V1Capabilities(drop=["ALL"]),
            seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
        ),
    )
    assert core_v1.create_namespaced_pod(namespace, compliant).metadata.name == "compliant"


def test_server_reports_pinned_kubernetes_version(
    server_version: client.VersionInfo, is_local_cluster: bool, pinned_versions: dict[str, str]
) -> None:
    pinned = pinned_versions["KUBE_VERSION"]
    if is_local_cluster:
        assert server_version.git_version == pinned
    else:
        # A cluster the user brought via KUBECONFIG: same minor as the pin (kubectl's pin).
        major, minor = pinned.removeprefix("v").split(".")[:2]
        assert (server_version.major, server_version.minor.rstrip("+")) == (major, minor), (
            f"server {server_version.git_version} is not Kubernetes {major}.{minor} ({pinned})"
        )
    assert server_version.git_version != "v0.0.0-master", "servers must report a real version"
