"""Every rendered child of the render matrix is accepted by a real API server.

``kubectl apply --dry-run=server`` runs the whole admission chain (schema, defaulting,
validation, strict field checking) without persisting anything. ServiceMonitor,
PodMonitor, ScaledObject, TriggerAuthentication and HTTPRoute are checked against
stand-in CRDs (``tests/fixtures/crds``) unless the real ones are installed; the
monitoring and KEDA stand-ins accept any spec, so for those kinds the dry-run proves
group/version/kind/metadata only, while the HTTPRoute stand-in has a small schema of
the fields the operator renders.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
import yaml

from cases.cluster_crds import install_huleedu_crd, install_stand_in_crds
from cases.valid_resources import UID, VALID_CASES, ValidCase
from huleedu_operator.render import render

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.integration

DRY_RUN_NAMESPACE = "default"


@pytest.fixture(scope="module")
def optional_apis(kubectl: Kubectl) -> dict[str, str]:
    # Our CRD too: the owner references on every child point at a HuleEduService, and
    # the API server resolves the owner's kind when it checks them.
    install_huleedu_crd(kubectl)
    return install_stand_in_crds(kubectl)


def child_id(kind: str, name: str) -> str:
    return f"{kind.lower()}/{name}"


@pytest.mark.parametrize("case", VALID_CASES, ids=lambda c: c.id)
def test_every_rendered_child_passes_server_side_dry_run(
    optional_apis: dict[str, str], kubectl: Kubectl, case: ValidCase
) -> None:
    rendered = render(case.resource(namespace=DRY_RUN_NAMESPACE, uid=UID), case.defaults())
    text = yaml.safe_dump_all(list(rendered.children))
    result = kubectl("apply", "--dry-run=server", "-o", "name", "-f", "-", input=text, check=False)
    assert result.returncode == 0, f"{case.id}: {result.stderr}"
    accepted = set(result.stdout.split())
    for child in rendered.children:
        group = child["apiVersion"].split("/")[0] if "/" in child["apiVersion"] else ""
        kind = child["kind"].lower()
        expected = (
            f"{kind}.{group}/{child['metadata']['name']}"
            if group
            else (f"{kind}/{child['metadata']['name']}")
        )
        assert expected in accepted, f"{case.id}: {expected} not applied; got {accepted}"


def test_the_matrix_exercises_every_optional_kind(optional_apis: dict[str, str]) -> None:
    kinds = {
        child["kind"]
        for case in VALID_CASES
        for child in render(case.resource(), case.defaults()).children
    }
    assert {"ServiceMonitor", "PodMonitor", "ScaledObject", "TriggerAuthentication"} <= kinds
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "Service"} <= kinds
    assert {"PersistentVolumeClaim", "Ingress", "HTTPRoute"} <= kinds
    assert "NetworkPolicy" in kinds
    assert set(optional_apis) == {
        "servicemonitors.monitoring.coreos.com",
        "podmonitors.monitoring.coreos.com",
        "scaledobjects.keda.sh",
        "triggerauthentications.keda.sh",
        "httproutes.gateway.networking.k8s.io",
    }


def test_a_broken_child_would_be_caught(optional_apis: dict[str, str], kubectl: Kubectl) -> None:
    # Guards the test above against passing vacuously: strict field validation rejects
    # a Deployment with a misspelt field.
    case = VALID_CASES[0]
    (deployment,) = render(case.resource(namespace=DRY_RUN_NAMESPACE), case.defaults()).by_kind(
        "Deployment"
    )
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    result = kubectl(
        "apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(broken), check=False
    )
    assert result.returncode != 0
    assert 'unknown field "spec.replica"' in result.stderr
