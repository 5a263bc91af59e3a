"""The Helm chart on the real API server: install, upgrade, uninstall, both RBAC modes,
HA peering objects, and a bad value refused before anything is created.

In the local control plane kwok plays the kubelet: the operator pod becomes Running and
Ready without a container, so "Available" here proves the API objects are accepted and
wired (ServiceAccount, probes, selectors), not that the image runs. The operator's
behaviour under the chart's RBAC is proven in test_rbac.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from support.helm import CHART, run_helm

HelmInstall = Callable[..., str]


def deployment_available(apps_v1: client.AppsV1Api, namespace: str, name: str) -> bool:
    d = apps_v1.read_namespaced_deployment(name, namespace)
    conditions = {c.type: c.status for c in d.status.conditions or []}
    return bool(
        conditions.get("Available") == "True"
        and d.status.observed_generation == d.metadata.generation
        and (d.status.updated_replicas or 0) == d.spec.replicas
        and (d.status.ready_replicas or 0) == d.spec.replicas
    )


def not_found(fn: Callable[[], Any]) -> bool:
    try:
        fn()
    except client.ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


@pytest.fixture
def helm_install(kubeconfig: str) -> Iterator[HelmInstall]:
    """``helm_install(namespace, *helm_args) -> release``; uninstalled after the test
    (the ClusterRole and its binding are cluster-scoped and outlive the namespace)."""
    releases: list[tuple[str, str]] = []

    def install(namespace: str, *args: str, release: str | None = None) -> str:
        name = release or f"op-{uuid.uuid4().hex[:6]}"
        releases.append((name, namespace))
        run_helm(
            "install",
            name,
            str(CHART),
            "--namespace",
            namespace,
            "--wait",
            "--timeout",
            "120s",
            *args,
            kubeconfig=kubeconfig,
        )
        return name

    yield install
    for name, namespace in releases:
        run_helm(
            "uninstall",
            name,
            "--namespace",
            namespace,
            "--wait",
            check=False,
            kubeconfig=kubeconfig,
        )


def test_install_upgrade_and_uninstall(
    namespace: str,
    kubeconfig: str,
    helm_install: HelmInstall,
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    apiextensions_v1: client.ApiextensionsV1Api,
    wait_until: Callable[..., Any],
) -> None:
    release = helm_install(namespace, "--set", "operator.kafkaBootstrapServers=kafka:9092")
    fullname = f"{release}-huleedu-operator"
    wait_until(
        lambda: deployment_available(apps_v1, namespace, fullname),
        timeout=120,
        message="the operator Deployment never became Available",
    )
    deployment = apps_v1.read_namespaced_deployment(fullname, namespace)
    assert deployment.spec.template.spec.service_account_name == fullname
    assert core_v1.read_namespaced_service_account(fullname, namespace)
    rbac = client.RbacAuthorizationV1Api(core_v1.api_client)
    binding = rbac.read_cluster_role_binding(fullname)
    assert binding.subjects[0].name == fullname
    assert binding.subjects[0].namespace == namespace
    for crd in (
        "huleeduservices.huleedu.io",
        "clusterkopfpeerings.kopf.dev",
        "kopfpeerings.kopf.dev",
    ):
        assert apiextensions_v1.read_custom_resource_definition(crd)

    status = run_helm("status", release, "--namespace", namespace, kubeconfig=kubeconfig)
    assert f"rollout status deployment/{fullname}" in status.stdout  # NOTES: what next

    run_helm(
        "upgrade",
        release,
        str(CHART),
        "--namespace",
        namespace,
        "--reuse-values",
        "--set",
        "operator.logLevel=DEBUG",
        "--wait",
        "--timeout",
        "120s",
        kubeconfig=kubeconfig,
    )

    def upgraded() -> bool:
        d = apps_v1.read_namespaced_deployment(fullname, namespace)
        env = {e.name: e.value for e in d.spec.template.spec.containers[0].env}
        return (
            env.get("HULEEDU_OPERATOR_LOG_LEVEL") == "DEBUG"
            and env.get("HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS") == "kafka:9092"
            and deployment_available(apps_v1, namespace, fullname)
        )

    wait_until(upgraded, timeout=120, message="the upgrade did not roll out")

    run_helm("uninstall", release, "--namespace", namespace, "--wait", kubeconfig=kubeconfig)
    wait_until(
        lambda: (
            not_found(lambda: apps_v1.read_namespaced_deployment(fullname, namespace))
            and not_found(lambda: rbac.read_cluster_role(fullname))
            and not_found(lambda: rbac.read_cluster_role_binding(fullname))
        ),
        timeout=60,
        message="helm uninstall left the operator's objects behind",
    )
    # CRDs stay: deleting one would delete every HuleEduService in the cluster.
    assert apiextensions_v1.read_custom_resource_definition("huleeduservices.huleedu.io")


def test_namespaced_install_grants_only_the_listed_namespaces(
    namespace_factory: Callable[..., str],
    helm_install: HelmInstall,
    api_client: client.ApiClient,
) -> None:
    home = namespace_factory("op-home")
    team_a, team_b = namespace_factory("team-a"), namespace_factory("team-b")
    bystander = namespace_factory("bystander")
    release = helm_install(home, "--set", f"watchNamespaces={{{team_a},{team_b}}}")
    fullname = f"{release}-huleedu-operator"
    rbac = client.RbacAuthorizationV1Api(api_client)
    for ns in (team_a, team_b):
        assert rbac.read_namespaced_role(fullname, ns).rules
        assert rbac.read_namespaced_role_binding(fullname, ns).subjects[0].namespace == home
    assert not rbac.list_namespaced_role(bystander).items
    assert not rbac.list_namespaced_role(home).items
    cluster_rules = rbac.read_cluster_role(fullname).rules
    assert sorted((r.api_groups[0], r.resources[0], tuple(r.verbs)) for r in cluster_rules) == [
        ("", "namespaces", ("list", "watch")),
        ("apiextensions.k8s.io", "customresourcedefinitions", ("list", "watch")),
    ]


def test_replicas_get_a_peering_object_and_a_disruption_budget(
    namespace: str,
    helm_install: HelmInstall,
    apps_v1: client.AppsV1Api,
    custom_objects: client.CustomObjectsApi,
    api_client: client.ApiClient,
    wait_until: Callable[..., Any],
) -> None:
    release = helm_install(
        namespace, "--set", "replicaCount=2", "--set", "podDisruptionBudget.enabled=true"
    )
    fullname = f"{release}-huleedu-operator"
    wait_until(lambda: deployment_available(apps_v1, namespace, fullname), timeout=120)
    assert apps_v1.read_namespaced_deployment(fullname, namespace).status.ready_replicas == 2
    peering = custom_objects.get_cluster_custom_object(
        "kopf.dev", "v1", "clusterkopfpeerings", fullname
    )
    assert peering["metadata"]["name"] == fullname
    pdb = client.PolicyV1Api(api_client).read_namespaced_pod_disruption_budget(fullname, namespace)
    assert pdb.spec.min_available == 1


def test_a_bad_value_fails_the_install_and_creates_nothing(
    namespace: str,
    kubeconfig: str,
    apps_v1: client.AppsV1Api,
) -> None:
    proc = run_helm(
        "install",
        "bad",
        str(CHART),
        "--namespace",
        namespace,
        "--set",
        "operator.logLevel=LOUD",
        check=False,
        kubeconfig=kubeconfig,
    )
    assert proc.returncode != 0
    assert "/operator/logLevel" in proc.stderr, proc.stderr
    assert "INFO" in proc.stderr, proc.stderr  # the allowed values are listed
    assert not apps_v1.list_namespaced_deployment(namespace).items
    listing = run_helm("list", "--namespace", namespace, "-q", kubeconfig=kubeconfig)
    assert listing.stdout.strip() == ""
