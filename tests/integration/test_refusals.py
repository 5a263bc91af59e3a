"""Requests the API server refuses as sent are a terminal, named condition, retried
slowly, never a tight loop (issue "Safe on a shared cluster", item 5).

The refusal is real: a ValidatingAdmissionPolicy, the way a platform team enforces a
rule, denies Deployments in the test's namespace, once with reason Invalid (422) and
once Forbidden (403). A too-large object cannot be produced here for real: the renderer
refuses anything over 1 MiB before any request (tests/unit/render/test_size_limit.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client

from support.operator import OperatorProcess, apply, condition, get_hes, hes


@pytest.fixture(params=["Invalid", "Forbidden"])
def denying_policy(
    request: pytest.FixtureRequest, kubectl: Callable[..., Any], namespace: str
) -> Iterator[tuple[str, int]]:
    reason = str(request.param)
    name = f"deny-deployments-{uuid.uuid4().hex[:6]}"
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["apps"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["deployments"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": "false",
                    "message": "platform policy: no Deployments in this namespace",
                    "reason": reason,
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            },
        },
    }
    kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all([policy, binding]))
    # The policy takes effect asynchronously: wait until a probe Deployment is refused.
    probe = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "probe", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "e/x:1"}]},
            },
        },
    }
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = kubectl(
            "apply", "--dry-run=server", "-f", "-", check=False, input=yaml.safe_dump(probe)
        )
        if result.returncode != 0 and "platform policy" in result.stderr:
            break
        time.sleep(0.5)
    yield reason, 422 if reason == "Invalid" else 403
    kubectl("delete", "validatingadmissionpolicybinding", name, "--ignore-not-found")
    kubectl("delete", "validatingadmissionpolicy", name, "--ignore-not-found")


def test_a_refused_apply_is_a_named_terminal_condition_without_a_retry_loop(
    denying_policy: tuple[str, int],
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    _, status = denying_policy
    apply(kubectl, hes("refused", namespace, type="http", image="example/r:1.0"))

    def failed() -> dict[str, Any]:
        degraded = condition(get_hes(custom_objects, namespace, "refused"), "Degraded")
        return degraded if degraded.get("reason") == "ApplyFailed" else {}

    found = wait_until(failed, timeout=120, message="an ApplyFailed condition")
    # Server-side apply of a new object is a create: the policy's reason decides the code
    # (Forbidden 403; Invalid is reported as 422 by some releases and 403 by others).
    assert found["message"].startswith("Deployment/refused: the API server refused it (4")
    assert "platform policy: no Deployments in this namespace" in found["message"]
    assert status in (403, 422)

    def refusals() -> int:
        """This resource's refused applies, from the operator's log (its counter also
        counts other namespaces: the module's operator serves every namespace, and
        terminating ones refuse everything)."""
        lines = operator.log_path.read_text().splitlines()
        return sum(
            1 for line in lines if "apply_refused" in line and f'"namespace": "{namespace}"' in line
        )

    time.sleep(3)  # the status write and its event land
    before = refusals()
    time.sleep(20)
    # A tight retry loop would be dozens (the queue's backoff starts at fractions of a
    # second); the refusal is remembered and asked again after 300 s.
    assert refusals() - before <= 1
