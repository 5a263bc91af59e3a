"""The generated CRD on a real API server: what it rejects, accepts and shows.

Every case of ``tests/cases/invalid_resources.py`` is sent with
``kubectl apply --dry-run=server`` (kubectl validates fields strictly, so unknown
fields are errors too) and must be rejected with a message naming the field. The
unit tier sends the same table through the pydantic model.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from cases.cluster_crds import install_huleedu_crd
from cases.invalid_resources import INVALID_CASES, InvalidCase
from cases.valid_resources import VALID_CASES, ValidCase, document

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.integration

# Dry-runs create nothing, so they can share a namespace that always exists.
DRY_RUN_NAMESPACE = "default"


@pytest.fixture(scope="module")
def crd(kubectl: Kubectl) -> str:
    return install_huleedu_crd(kubectl)


def apply(kubectl: Kubectl, doc: dict[str, Any], *flags: str) -> subprocess.CompletedProcess[str]:
    return kubectl("apply", *flags, "-f", "-", input=yaml.safe_dump(doc), check=False)


def get_hes(kubectl: Kubectl, name: str, namespace: str) -> dict[str, Any]:
    out = kubectl("get", "hes", name, "-n", namespace, "-o", "json").stdout
    loaded: dict[str, Any] = json.loads(out)
    return loaded


@pytest.mark.parametrize("case", INVALID_CASES, ids=lambda c: c.id)
def test_invalid_resource_is_rejected_at_admission_naming_the_field(
    crd: str, kubectl: Kubectl, case: InvalidCase
) -> None:
    result = apply(kubectl, case.document(DRY_RUN_NAMESPACE), "--dry-run=server")
    assert result.returncode != 0, f"{case.id}: the API server accepted it: {result.stdout}"
    error = result.stderr
    assert case.field in error, f"{case.id}: error does not name {case.field!r}: {error}"
    assert case.expected_at_admission in error, (
        f"{case.id}: expected {case.expected_at_admission!r} in: {error}"
    )


@pytest.mark.parametrize("case", [c for c in INVALID_CASES if c.kind == "rule"], ids=lambda c: c.id)
def test_a_rule_says_the_same_words_at_admission_as_offline(
    crd: str, kubectl: Kubectl, case: InvalidCase
) -> None:
    # The CEL message and its Python twin are one string: the API server's error must
    # contain the full "<field path>: <what is wrong>" prefix the CLI prints too.
    result = apply(kubectl, case.document(DRY_RUN_NAMESPACE), "--dry-run=server")
    assert result.returncode != 0
    assert f"{case.field}" in result.stderr
    assert case.message in result.stderr


@pytest.mark.parametrize("case", VALID_CASES, ids=lambda c: c.id)
def test_valid_resource_is_accepted_at_admission(
    crd: str, kubectl: Kubectl, case: ValidCase
) -> None:
    doc = {**case.document, "metadata": {**case.document["metadata"]}}
    doc["metadata"]["namespace"] = DRY_RUN_NAMESPACE
    doc["metadata"].pop("uid", None)
    result = apply(kubectl, doc, "--dry-run=server", "-o", "json")
    assert result.returncode == 0, f"{case.id}: {result.stderr}"
    stored = json.loads(result.stdout)
    assert stored["spec"]["type"] == case.spec()["type"]


def test_examples_are_created_with_schema_defaults_applied(
    crd: str, kubectl: Kubectl, namespace: str
) -> None:
    for case in (c for c in VALID_CASES if c.id.startswith("example-")):
        doc = {**case.document, "metadata": {**case.document["metadata"], "namespace": namespace}}
        result = apply(kubectl, doc)
        assert result.returncode == 0, result.stderr
    worker = get_hes(kubectl, "event-worker", namespace)
    assert worker["spec"]["kafka"]["autoOffsetReset"] == "earliest"
    assert worker["spec"]["kafka"]["maxPollRecords"] == 100
    http = get_hes(kubectl, "content-service", namespace)
    assert http["spec"]["shutdownGracePeriodSeconds"] == 25
    listed = kubectl("get", "huleedu", "-n", namespace, "-o", "name").stdout.split()
    assert sorted(listed) == [
        "huleeduservice.huleedu.io/content-service",
        "huleeduservice.huleedu.io/event-worker",
    ]


def test_printer_columns_show_type(crd: str, kubectl: Kubectl, namespace: str) -> None:
    apply(kubectl, document("printed", {"type": "http"}, namespace=namespace))
    table = kubectl("get", "hes", "-n", namespace).stdout.splitlines()
    header = table[0].split()
    for column in ("NAME", "TYPE", "READY", "REPLICAS", "IMAGE", "AGE"):
        assert column in header, table[0]
    assert table[1].split()[:2] == ["printed", "http"]


def test_kubectl_explain_shows_the_kafka_descriptions(
    crd: str, kubectl: Kubectl, wait_until: Callable[..., Any]
) -> None:
    def explained() -> str:
        result = kubectl("explain", "hes.spec.kafka", check=False)
        return (
            result.stdout if result.returncode == 0 and "bootstrapServers" in result.stdout else ""
        )

    text = wait_until(explained, timeout=60, message="kubectl explain hes.spec.kafka")
    assert "Kafka consumer settings" in text
    assert "Comma-separated host:port list" in text
    assert "A worker needs at least one" in text
    field = kubectl("explain", "hes.spec.kafka.security.sasl.secretRef").stdout
    assert "Secret holding the credentials" in field


def test_kubectl_scale_changes_spec_replicas(crd: str, kubectl: Kubectl, namespace: str) -> None:
    result = apply(
        kubectl, document("scaled", {"type": "http", "replicas": 1}, namespace=namespace)
    )
    assert result.returncode == 0, result.stderr
    kubectl("scale", "hes/scaled", "-n", namespace, "--replicas=3")
    assert get_hes(kubectl, "scaled", namespace)["spec"]["replicas"] == 3
    scale = json.loads(
        kubectl(
            "get",
            "--raw",
            f"/apis/huleedu.io/v1alpha1/namespaces/{namespace}/huleeduservices/scaled/scale",
        ).stdout
    )
    assert scale["kind"] == "Scale"
    assert scale["spec"]["replicas"] == 3


def test_changing_spec_type_is_rejected_after_creation(
    crd: str, kubectl: Kubectl, namespace: str
) -> None:
    created = apply(kubectl, document("fixed-type", {"type": "http"}, namespace=namespace))
    assert created.returncode == 0, created.stderr
    changed = document(
        "fixed-type", {"type": "worker", "kafka": {"topics": ["t.v1"]}}, namespace=namespace
    )
    result = apply(kubectl, changed)
    assert result.returncode != 0
    assert "spec.type: is immutable" in result.stderr
    assert get_hes(kubectl, "fixed-type", namespace)["spec"]["type"] == "http"


def test_other_spec_changes_are_accepted_after_creation(
    crd: str, kubectl: Kubectl, namespace: str
) -> None:
    apply(kubectl, document("mutable", {"type": "http"}, namespace=namespace))
    result = apply(
        kubectl, document("mutable", {"type": "http", "port": 8080}, namespace=namespace)
    )
    assert result.returncode == 0, result.stderr
    assert get_hes(kubectl, "mutable", namespace)["spec"]["port"] == 8080


def test_a_rule_on_an_update_is_enforced_like_on_create(
    crd: str, kubectl: Kubectl, namespace: str
) -> None:
    apply(kubectl, document("grows", {"type": "http", "replicas": 3}, namespace=namespace))
    bad = document(
        "grows",
        {"type": "http", "replicas": 3, "disruptionBudget": {"minAvailable": 3}},
        namespace=namespace,
    )
    result = apply(kubectl, bad)
    assert result.returncode != 0
    assert "spec.disruptionBudget.minAvailable: must be lower than the replica count" in (
        result.stderr
    )
