"""What ``huleedu-operator import`` prints passes admission on the real API server.

Every document imported from the compose fixtures (HuleEduServices and Secret
skeletons) is sent with ``kubectl apply --dry-run=server`` against the generated CRD:
kubectl validates fields strictly, so an unknown field is an error too, and the CRD's
CEL rules run as they would for a user. Dry-runs create nothing, so they share the
``default`` namespace.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cases.cluster_crds import install_huleedu_crd
from cases.valid_resources import REPO_ROOT
from huleedu_operator.importer import convert
from huleedu_operator.importer.load import load_project

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.integration

DRY_RUN_NAMESPACE = "default"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "compose" / "huleedu"
FILES = [FIXTURES / "docker-compose.yml", FIXTURES / "docker-compose.override.yml"]


def _imported() -> list[dict[str, Any]]:
    # The shell's environment wins over .env in compose interpolation; read the fixtures
    # with only .env, as the unit tests do.
    dotenv = [
        line.split("=", 1)[0]
        for line in Path(FIXTURES / ".env").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    with pytest.MonkeyPatch.context() as patch:
        for name in [*dotenv, "LOG_LEVEL", "LLM_MODEL", "COMPOSE_PROJECT_DIR"]:
            patch.delenv(name, raising=False)
        return convert(load_project(FILES), DRY_RUN_NAMESPACE).documents()


DOCUMENTS = _imported()


@pytest.fixture(scope="module")
def crd(kubectl: Kubectl) -> str:
    return install_huleedu_crd(kubectl)


def test_the_fixtures_import_to_services_and_secrets() -> None:
    kinds = {d["kind"] for d in DOCUMENTS}
    assert kinds == {"HuleEduService", "Secret"}


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_an_imported_document_passes_admission(
    crd: str, kubectl: Kubectl, doc: dict[str, Any]
) -> None:
    result = kubectl(
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "-o",
        "json",
        "-f",
        "-",
        input=yaml.safe_dump(doc),
        check=False,
    )
    assert result.returncode == 0, f"{doc['kind']}/{doc['metadata']['name']}: {result.stderr}"
    stored = json.loads(result.stdout)
    assert stored["metadata"]["name"] == doc["metadata"]["name"]
    if doc["kind"] == "HuleEduService":
        # The server kept every field the importer set (nothing pruned as unknown); it
        # may add its defaults around them.
        assert _kept(stored["spec"], doc["spec"]), (stored["spec"], doc["spec"])


def _kept(stored: Any, sent: Any) -> bool:
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(
            k in stored and _kept(stored[k], v) for k, v in sent.items()
        )
    if isinstance(sent, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(sent)
            and all(_kept(a, b) for a, b in zip(stored, sent, strict=True))
        )
    return bool(stored == sent)
