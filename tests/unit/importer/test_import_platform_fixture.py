"""``import --runtime-example`` on tests/fixtures/compose/platform (the fixture the e2e
test runs on the real node), through the CLI as a user runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.cli import main

pytestmark = pytest.mark.unit

PLATFORM = Path(__file__).resolve().parents[2] / "fixtures" / "compose" / "platform"
ARGS = ["import", "-f", str(PLATFORM / "docker-compose.yml"), "-n", "huleedu"]


def run(*extra: str) -> tuple[list[dict[str, Any]], list[str]]:
    result = CliRunner().invoke(main, [*ARGS, *extra], env={"KAFKA_PREFIX": "t"})
    assert result.exit_code == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d], result.stderr.splitlines()


def test_the_platform_is_ten_services_three_of_them_workers_with_secrets_and_claims() -> None:
    docs, report = run()
    services = [d for d in docs if d["kind"] == "HuleEduService"]
    assert len(services) == 10
    assert sorted(s["metadata"]["name"] for s in services if s["spec"]["type"] == "worker") == [
        "essay-lifecycle-worker",
        "nlp-service",
        "spellchecker-service",
    ]
    assert len([d for d in docs if d["kind"] == "Secret"]) == 7
    claims = {
        v["persistentVolumeClaim"].get("claimName", v["name"])
        for s in services
        for v in s["spec"].get("volumes", [])
        if "persistentVolumeClaim" in v
    }
    assert claims == {"content-data", "essay-uploads", "nlp-models"}
    # The worker's healthcheck asks its health server: a worker still, probed there.
    worker = next(s for s in services if s["metadata"]["name"] == "essay-lifecycle-worker")
    assert worker["spec"]["metrics"] == {"port": 9090}
    assert worker["spec"]["kafka"]["consumerGroup"] == "t.essay-lifecycle"  # the shell won
    assert all(s["spec"]["image"].startswith("ghcr.io/huleedu/") for s in services)
    assert not any("[image]" in line for line in report)


def test_runtime_example_all_leaves_out_every_image_and_command() -> None:
    docs, report = run("--runtime-example", "all")
    services = [d for d in docs if d["kind"] == "HuleEduService"]
    assert len(services) == 10
    for service in services:
        assert not {"image", "command", "args"} & set(service["spec"]), service
        HuleEduService.model_validate(service)
    lines = [line for line in report if "[image] --runtime-example" in line]
    assert len(lines) == 10
    # Every probe path of the fixture is one the example serves.
    assert not any("does not serve" in line for line in lines)


def test_runtime_example_names_one_service_and_refuses_an_unknown_one() -> None:
    docs, _ = run("--runtime-example", "nlp_service")
    images = {d["metadata"]["name"]: d["spec"].get("image") for d in docs if "spec" in d}
    assert images["nlp-service"] is None
    assert images["content-service"] == "ghcr.io/huleedu/content-service:1.6.0"
    result = CliRunner().invoke(main, [*ARGS, "--runtime-example", "nlp"], env={})
    assert result.exit_code == 2
    assert "no compose service nlp" in result.stderr
    assert "nlp_service" in result.stderr  # the services it has
