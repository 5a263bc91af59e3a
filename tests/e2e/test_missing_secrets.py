"""A Secret that does not exist makes the HuleEduService Degraded, naming the field.

The operator never reads Secrets (it has no permission to); the kubelet of the real
node refuses to start the container (``CreateContainerConfigError``), and the operator
turns that into a condition that names the spec field and the fix.
"""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Kubectl, apply, conditions, get, load_example, wait_for


def degraded(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any] | None:
    resource = get(kubectl, namespace, f"huleeduservices/{name}")
    found = conditions(resource)
    cond = found.get("Degraded")
    if cond and cond["status"] == "True" and cond["reason"] == "CreateContainerConfigError":
        return {"degraded": cond, "ready": found.get("Ready", {})}
    return None


@pytest.mark.parametrize(
    ("form", "spec", "field"),
    [
        (
            "env-secretKeyRef",
            {
                "env": [
                    {
                        "name": "DB_PASSWORD",
                        "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}},
                    }
                ]
            },
            "spec.env[0].valueFrom.secretKeyRef.name",
        ),
        (
            "envFrom-secretRef",
            {"envFrom": [{"secretRef": {"name": "db-creds"}}]},
            "spec.envFrom[0].secretRef.name",
        ),
        (
            "kafka-sasl",
            {
                "kafka": {
                    "topics": ["e2e.sasl.v1"],
                    "security": {
                        "protocol": "SASL_PLAINTEXT",
                        "sasl": {"mechanism": "PLAIN", "secretRef": {"name": "db-creds"}},
                    },
                }
            },
            "spec.kafka.security.sasl.secretRef.name",
        ),
    ],
)
def test_a_missing_secret_degrades_the_service_naming_the_spec_field(
    operator: None, kubectl: Kubectl, namespace: str, form: str, spec: dict[str, Any], field: str
) -> None:
    apply(kubectl, load_example("content-service.yaml", namespace, replicas=1, **spec))
    found = wait_for(
        lambda: degraded(kubectl, namespace, "content-service"),
        120,
        f"{form}: Degraded/CreateContainerConfigError on the HuleEduService",
    )
    message = found["degraded"]["message"]
    assert field in message, message
    assert '"db-creds"' in message, message
    assert "create it" in message, message
    assert found["ready"].get("status") == "False", found
    # The pod really is stuck on the real kubelet's config error.
    pods = get(kubectl, namespace, "pods", "-l", "huleedu.io/service=content-service")["items"]
    reasons = {
        (cs.get("state", {}).get("waiting") or {}).get("reason")
        for p in pods
        for cs in p["status"].get("containerStatuses", [])
    }
    assert "CreateContainerConfigError" in reasons, reasons

    # Creating the Secret heals it without touching the resource.
    kubectl(
        "create",
        "secret",
        "generic",
        "db-creds",
        "-n",
        namespace,
        "--from-literal=password=not-logged",
        "--from-literal=username=e2e",
    )
    wait_for(
        lambda: (
            conditions(get(kubectl, namespace, "huleeduservices/content-service"))
            .get("Ready", {})
            .get("status")
            == "True"
        ),
        180,
        f"{form}: Ready once the Secret exists",
    )
    text = str(get(kubectl, namespace, "huleeduservices/content-service").get("status"))
    assert "not-logged" not in text
