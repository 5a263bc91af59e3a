"""`huleedu-operator new` writes a service whose manifest the operator accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.cli import main
from huleedu_operator.render import RenderDefaults, render

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kind", ["http", "worker"])
def test_new_service_manifest_is_valid_and_renders(kind: str, tmp_path: Path) -> None:
    target = tmp_path / "svc"
    result = CliRunner().invoke(main, ["new", kind, "grading-service", "-o", str(target)])
    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load((target / "huleeduservice.yaml").read_text())
    resource = HuleEduService.model_validate(manifest)
    assert resource.spec.type == kind
    rendered = render(resource, RenderDefaults(kafka_bootstrap_servers="kafka:9092"))
    assert any(c["kind"] == "Deployment" for c in rendered.children)
    assert (target / "Dockerfile").read_text().startswith(("FROM", "#", "ARG"))


def test_new_refuses_a_name_that_is_not_a_dns_label(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["new", "http", "Bad_Name", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "DNS label" in result.output
