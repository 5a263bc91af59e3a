"""Pod Security admission: the operator's own pod and every pod it generates are admitted
in a namespace that enforces the ``restricted`` profile.

A pod that exists was admitted: Pod Security admission runs when the ReplicaSet
controller creates the pod, and a rejected pod never appears (the ReplicaSet reports
FailedCreate instead). The namespace also sets ``warn=restricted``, so the API server
returns a warning for any Deployment whose pod template would violate the profile; the
tests require there is none. A control pod that violates the profile is rejected, so
the namespace really enforces.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from cases.valid_resources import VALID_CASES
from huleedu_operator.render import render
from support.helm import CHART, REPO, run_helm

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
}
EXAMPLES = ("content-service.yaml", "event-worker.yaml")


@pytest.fixture
def restricted_namespace(namespace_factory: Callable[..., str]) -> str:
    return namespace_factory("restricted", labels=RESTRICTED)


def pods_of(core_v1: client.CoreV1Api, namespace: str, selector: dict[str, str]) -> int:
    label_selector = ",".join(f"{k}={v}" for k, v in selector.items())
    return len(core_v1.list_namespaced_pod(namespace, label_selector=label_selector).items)


def create_deployment(
    kubectl: Callable[..., subprocess.CompletedProcess[str]],
    namespace: str,
    deployment: dict[str, Any],
) -> None:
    """Create ``deployment`` in ``namespace``; fail on any Pod Security warning."""
    doc = copy.deepcopy(deployment)
    doc["metadata"]["namespace"] = namespace
    # The rendered owner does not exist here; the garbage collector would delete an
    # orphan whose owner is missing.
    doc["metadata"].pop("ownerReferences", None)
    proc = kubectl("create", "-f", "-", input=yaml.safe_dump(doc))
    assert "PodSecurity" not in proc.stderr, (
        f"Deployment {doc['metadata']['name']} would violate restricted: {proc.stderr}"
    )


def test_the_namespace_really_enforces_restricted(
    restricted_namespace: str,
    kubectl: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    bare = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bare", "namespace": restricted_namespace},
        "spec": {"containers": [{"name": "c", "image": "example/any:1"}]},
    }
    proc = kubectl("create", "-f", "-", input=yaml.safe_dump(bare), check=False)
    assert proc.returncode != 0, "a bare pod was admitted: restricted is not enforced"
    assert "violates PodSecurity" in proc.stderr, proc.stderr


@pytest.fixture
def chart_release(restricted_namespace: str, kubeconfig: str) -> Iterator[str]:
    release = f"psa-{uuid.uuid4().hex[:6]}"
    yield release
    run_helm(
        "uninstall",
        release,
        "--namespace",
        restricted_namespace,
        "--wait",
        check=False,
        kubeconfig=kubeconfig,
    )


def test_the_operator_pod_is_admitted_under_restricted(
    restricted_namespace: str,
    chart_release: str,
    kubeconfig: str,
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    wait_until: Callable[..., Any],
) -> None:
    proc = run_helm(
        "install",
        chart_release,
        str(CHART),
        "--namespace",
        restricted_namespace,
        "--set",
        "replicaCount=2",
        "--wait",
        "--timeout",
        "120s",
        kubeconfig=kubeconfig,
    )
    assert "PodSecurity" not in proc.stderr, proc.stderr
    fullname = f"{chart_release}-huleedu-operator"
    selector = {"app.kubernetes.io/instance": chart_release}
    wait_until(
        lambda: pods_of(core_v1, restricted_namespace, selector) == 2,
        timeout=90,
        message="the operator's pods were not admitted",
    )
    assert (
        apps_v1.read_namespaced_deployment(fullname, restricted_namespace).status.ready_replicas
        == 2
    )


def rendered_example_deployments() -> list[dict[str, Any]]:
    """Deployments of the examples, through the `render` CLI exactly as a user runs it."""
    exe = Path(sys.executable).parent / "huleedu-operator"
    deployments = []
    for name in EXAMPLES:
        proc = subprocess.run(
            [
                str(exe),
                "render",
                "-f",
                str(REPO / "examples" / name),
                "--kafka-bootstrap-servers",
                "x:9092",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        deployments += [
            d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] == "Deployment"
        ]
    assert len(deployments) == len(EXAMPLES)
    return deployments


def test_the_examples_pods_are_admitted_under_restricted(
    restricted_namespace: str,
    kubectl: Callable[..., subprocess.CompletedProcess[str]],
    core_v1: client.CoreV1Api,
    wait_until: Callable[..., Any],
) -> None:
    deployments = rendered_example_deployments()
    for deployment in deployments:
        create_deployment(kubectl, restricted_namespace, deployment)
    for deployment in deployments:
        selector = deployment["spec"]["selector"]["matchLabels"]
        wanted = deployment["spec"].get("replicas") or 1
        wait_until(
            lambda s=selector, w=wanted: pods_of(core_v1, restricted_namespace, s) >= w,
            timeout=90,
            message=f"pods of {deployment['metadata']['name']} were not admitted",
        )


def test_every_pod_shape_in_the_render_matrix_is_admitted_under_restricted(
    restricted_namespace: str,
    kubectl: Callable[..., subprocess.CompletedProcess[str]],
    core_v1: client.CoreV1Api,
    wait_until: Callable[..., Any],
) -> None:
    # Beyond the examples: init containers for migrations, separate metrics ports, SASL
    # and TLS mounts, custom probes, scheduling... every pod template the operator can
    # produce from tests/cases/valid_resources.py.
    created = []
    for case in VALID_CASES:
        for child in render(case.resource(), case.defaults()).children:
            if child["kind"] != "Deployment":
                continue
            deployment = copy.deepcopy(child)
            deployment["metadata"]["name"] = f"{case.id}"[:50]
            labels = {"huleedu.test/case": case.id[:63]}
            deployment["spec"]["selector"] = {"matchLabels": labels}
            deployment["spec"]["template"]["metadata"]["labels"] = labels
            deployment["spec"]["replicas"] = 1
            account = deployment["spec"]["template"]["spec"].get("serviceAccountName")
            if account:  # the ServiceAccount admission plugin refuses pods without it
                kubectl(
                    "apply",
                    "-n",
                    restricted_namespace,
                    "-f",
                    "-",
                    input=yaml.safe_dump(
                        {
                            "apiVersion": "v1",
                            "kind": "ServiceAccount",
                            "metadata": {"name": account},
                        }
                    ),
                )
            create_deployment(kubectl, restricted_namespace, deployment)
            created.append(labels)
    assert len(created) >= len(VALID_CASES) // 2
    for labels in created:
        wait_until(
            lambda s=labels: pods_of(core_v1, restricted_namespace, s) >= 1,
            timeout=90,
            message=f"a pod of case {labels} was not admitted",
        )
