"""The shipped examples, applied as a user would, become Ready with their children.

Cluster-agnostic (KUBECONFIG only): on the local control plane kwok makes the pods
Ready; on kind (scripts/e2e-kind.sh) real containers of the runtime image must pass
their readiness probes, and the worker must reach the Kafka broker the script deploys.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
Kubectl = Callable[..., Any]


def apply_example(kubectl: Kubectl, filename: str, namespace: str) -> dict[str, Any]:
    resource: dict[str, Any] = yaml.safe_load((REPO / "examples" / filename).read_text())
    resource["metadata"]["namespace"] = namespace
    kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(resource))
    return resource


def get(kubectl: Kubectl, namespace: str, *what: str) -> dict[str, Any]:
    out = kubectl("get", *what, "-n", namespace, "-o", "json").stdout
    result: dict[str, Any] = json.loads(out)
    return result


def wait_ready(kubectl: Kubectl, namespace: str, name: str, timeout: float = 300) -> None:
    proc = kubectl(
        "wait",
        f"huleeduservices/{name}",
        "-n",
        namespace,
        "--for=condition=Ready",
        f"--timeout={int(timeout)}s",
        check=False,
        timeout=timeout + 30,
    )
    if proc.returncode != 0:
        status = get(kubectl, namespace, f"huleeduservices/{name}").get("status", {})
        pytest.fail(
            f"{name} not Ready after {timeout:.0f}s; status: {json.dumps(status)}", pytrace=False
        )


def owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    return any(
        ref.get("uid") == owner["metadata"]["uid"] and ref.get("controller")
        for ref in obj["metadata"].get("ownerReferences", [])
    )


def test_the_http_example_becomes_ready_with_its_children(
    operator: None,
    kubectl: Kubectl,
    namespace: str,
) -> None:
    apply_example(kubectl, "content-service.yaml", namespace)
    wait_ready(kubectl, namespace, "content-service")
    owner = get(kubectl, namespace, "huleeduservices/content-service")
    deployment = get(kubectl, namespace, "deployment/content-service")
    service = get(kubectl, namespace, "service/content-service")
    assert owned_by(deployment, owner)
    assert owned_by(service, owner)
    assert deployment["status"].get("readyReplicas") == owner["spec"]["replicas"]
    assert service["spec"]["ports"][0]["port"] == owner["spec"]["port"]
    assert owner["status"]["observedGeneration"] == owner["metadata"]["generation"]


def test_the_worker_example_becomes_ready_with_its_consumer_settings(
    operator: None,
    kubectl: Kubectl,
    namespace: str,
) -> None:
    resource = apply_example(kubectl, "event-worker.yaml", namespace)
    wait_ready(kubectl, namespace, "event-worker")
    owner = get(kubectl, namespace, "huleeduservices/event-worker")
    deployment = get(kubectl, namespace, "deployment/event-worker")
    settings = get(kubectl, namespace, "configmap/event-worker-kafka")
    assert owned_by(deployment, owner)
    assert owned_by(settings, owner)
    assert settings["data"]["KAFKA_TOPICS"] == ",".join(resource["spec"]["kafka"]["topics"])
    assert (deployment["status"].get("readyReplicas") or 0) >= 1


def test_deleting_an_example_collects_its_children(
    operator: None,
    kubectl: Kubectl,
    namespace: str,
) -> None:
    apply_example(kubectl, "content-service.yaml", namespace)
    wait_ready(kubectl, namespace, "content-service")
    kubectl("delete", "huleeduservices/content-service", "-n", namespace, "--wait=true")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        left = kubectl(
            "get",
            "deployment,service",
            "-n",
            namespace,
            "-l",
            "app.kubernetes.io/instance=content-service",
            "-o",
            "name",
        ).stdout
        if not left.strip():
            return
        time.sleep(1)
    pytest.fail(f"children left after deleting content-service: {left}", pytrace=False)
