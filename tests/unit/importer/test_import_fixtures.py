"""The importer on the compose fixtures in tests/fixtures/compose/huleedu: four files
(main, included infrastructure, override, .env) and 22 services, read through the compose
library (files only: no network, no subprocess), then through the CLI and ``render``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.cli import main
from huleedu_operator.importer import ComposeProject, ImportResult, convert
from huleedu_operator.importer.load import ComposeLoadError, load_project
from huleedu_operator.render import RenderDefaults, render

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "compose" / "huleedu"
FILES = [FIXTURES / "docker-compose.yml", FIXTURES / "docker-compose.override.yml"]
ENV = FIXTURES / ".env"
# Every value in .env must stay out of the output: they stand for credentials.
DOTENV = dict(
    line.split("=", 1)
    for line in ENV.read_text().splitlines()
    if line.strip() and not line.startswith("#")
)
SECRET_VALUES = [v for k, v in DOTENV.items() if k not in {"HULEEDU_VERSION", "DB_USER"}]
APPLICATIONS = {
    "api-gateway-service",
    "batch-orchestrator-service",
    "cj-assessment-service",
    "content-service",
    "essay-lifecycle-api",
    "essay-lifecycle-worker",
    "file-service",
    "llm-provider-service",
    "nlp-service",
    "result-aggregator-service",
    "spellchecker-service",
}


@pytest.fixture(scope="module", autouse=True)
def _clean_environment() -> Iterator[None]:
    # The shell's environment wins over .env in compose interpolation; keep the test's
    # own environment out of it.
    with pytest.MonkeyPatch.context() as patch:
        for name in [*DOTENV, "LOG_LEVEL", "LLM_MODEL", "COMPOSE_PROJECT_DIR", "COMPOSE_PROFILES"]:
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="module")
def project(_clean_environment: None) -> ComposeProject:
    return load_project(FILES, ENV)


@pytest.fixture(scope="module")
def result(project: ComposeProject) -> ImportResult:
    return convert(project, "huleedu")


def specs(result: ImportResult) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r["spec"] for r in result.resources}


def test_the_library_follows_include_override_anchors_and_interpolation(
    project: ComposeProject,
) -> None:
    assert len(project.services) == 22  # 11 here, 11 in the included infrastructure file
    content = project.services["content_service"]
    assert content["image"] == "ghcr.io/huleedu/content-service:1.5.0"  # ${X:-default}, .env
    assert content["environment"]["CONTENT_SERVICE_LOG_LEVEL"] == "DEBUG"  # the override
    assert content["logging"]["driver"] == "json-file"  # <<: *service-defaults, *logging
    assert project.services["batch_orchestrator_service"]["environment"]["LOG_LEVEL"] == "INFO"
    traced = project.traced["content_service"]["environment"]
    assert traced["CONTENT_SERVICE_DATABASE_URL"] == (
        "postgresql+asyncpg://${DB_USER}:${DB_PASSWORD}@content_db:5432/content"
    )
    assert project.services["file_service"]["volumes"][0] == {
        "type": "bind",
        "source": "./static",
        "target": "/app/static",
        "read_only": True,
    }


def test_the_env_file_defaults_to_the_one_beside_the_first_file(project: ComposeProject) -> None:
    assert load_project(FILES) == project


def test_a_missing_file_is_a_load_error() -> None:
    with pytest.raises(ComposeLoadError, match="no such file"):
        load_project([FIXTURES / "nope.yml"])


def test_every_application_service_and_no_infrastructure_is_imported(result: ImportResult) -> None:
    assert set(specs(result)) == APPLICATIONS
    reported = {f.service for f in result.findings if f.rule == "infrastructure"}
    assert reported == {
        "batch_db",
        "cj_db",
        "content_db",
        "essay_lifecycle_db",
        "grafana",
        "jaeger",
        "kafka",
        "prometheus",
        "redis",
        "zookeeper",
    }
    (bootstrap,) = [f for f in result.findings if f.service == "kafka_topic_setup"]
    assert bootstrap.rule == "ordering"
    for topic in (
        "huleedu.content.requested.v1",
        "huleedu.essay.submitted.v1",
        "huleedu.spellcheck.requested.v1",
    ):
        assert topic in bootstrap.message


def test_ports_from_ports_and_from_env(result: ImportResult) -> None:
    got = {n: s.get("port") for n, s in specs(result).items() if s["type"] == "http"}
    assert got == {
        "api-gateway-service": 4001,  # long syntax
        "batch-orchestrator-service": 5001,  # PORT
        "cj-assessment-service": 9095,  # <PREFIX>_PORT
        "content-service": 8000,  # container side of 8001:8000
        "essay-lifecycle-api": 6000,
        "file-service": 4002,  # HTTP_PORT
        "llm-provider-service": 8090,
        "result-aggregator-service": 4003,
    }
    assert specs(result)["file-service"]["settings"]["HTTP_PORT"] == "4002"  # the app reads it


def test_volumes_become_claims_and_empty_dirs_where_the_api_allows(
    result: ImportResult,
) -> None:
    got = {n: s.get("volumes") for n, s in specs(result).items() if s.get("volumes")}
    assert got == {
        "content-service": [
            {"name": "content-data", "mountPath": "/data", "persistentVolumeClaim": {"size": "1Gi"}}
        ],
        "essay-lifecycle-api": [
            {
                "name": "essay-uploads",
                "mountPath": "/uploads",
                "persistentVolumeClaim": {"claimName": "essay-uploads"},
            }
        ],
        "essay-lifecycle-worker": [
            {
                "name": "essay-uploads",
                "mountPath": "/uploads",
                "persistentVolumeClaim": {"claimName": "essay-uploads", "readOnly": True},
            }
        ],
        "nlp-service": [
            {"name": "nlp-models", "mountPath": "/models", "persistentVolumeClaim": {"size": "1Gi"}}
        ],
        "spellchecker-service": [
            {"name": "scratch-spellchecker", "mountPath": "/var/cache/spellchecker", "emptyDir": {}}
        ],
    }
    notes = {f.message for f in result.findings if f.rule == "volumes"}
    # /tmp is the runtime's: the API refuses it, and the report says so in its words.
    assert any("gateway_cache" in n and "may not be at, under or above" in n for n in notes)
    assert any("./static" in n and "an image concern" in n for n in notes)
    assert any("./config/file-service.toml" in n and "a ConfigMap" in n for n in notes)


def test_workers_are_workers(result: ImportResult) -> None:
    workers = {n for n, s in specs(result).items() if s["type"] == "worker"}
    assert workers == {"essay-lifecycle-worker", "nlp-service", "spellchecker-service"}
    assert specs(result)["spellchecker-service"]["kafka"]["topics"] == [
        "huleedu.spellcheck.requested.v1"
    ]


def test_no_credential_value_reaches_the_output_or_the_report(result: ImportResult) -> None:
    text = yaml.safe_dump_all(result.documents()) + "\n".join(result.report())
    for value in SECRET_VALUES:
        assert value not in text
    keys = {k for s in result.secrets for k in s["stringData"]}
    assert "CONTENT_SERVICE_DATABASE_URL" in keys
    assert "LLM_PROVIDER_SERVICE_ANTHROPIC_AUTH_HEADER" in keys  # "Bearer ${ANTHROPIC_API_KEY}"
    assert all(v == "<set me>" for s in result.secrets for v in s["stringData"].values())


def test_every_imported_resource_renders(result: ImportResult) -> None:
    for doc in result.resources:
        rendered = render(HuleEduService.model_validate(doc), RenderDefaults())
        kinds = [c["kind"] for c in rendered.children]
        assert "Deployment" in kinds
        assert ("Service" in kinds) == (doc["spec"]["type"] == "http")


def test_the_cli_prints_manifests_on_stdout_and_the_report_on_stderr(
    result: ImportResult,
) -> None:
    args = ["import", *(a for f in FILES for a in ("-f", str(f))), "--env-file", str(ENV)]
    runner = CliRunner()
    first = runner.invoke(main, [*args, "-n", "huleedu"], env={}, catch_exceptions=False)
    assert first.exit_code == 0, first.stderr
    docs = [d for d in yaml.safe_load_all(first.stdout) if d]
    kinds = [d["kind"] for d in docs]
    assert kinds.count("HuleEduService") == len(APPLICATIONS)
    assert kinds.count("Secret") == 8
    assert kinds == sorted(kinds, key=lambda k: k != "Secret")  # Secrets first
    assert "[infrastructure]" in first.stderr
    assert "[infrastructure]" not in first.stdout
    # Deterministic: the same bytes as converting the project loaded separately.
    assert docs == result.documents()
    assert first.stderr.splitlines() == result.report()


def test_render_accepts_what_import_prints() -> None:
    args = ["import", *(a for f in FILES for a in ("-f", str(f))), "--no-secrets"]
    runner = CliRunner()
    imported = runner.invoke(main, args, env={}, catch_exceptions=False)
    assert imported.exit_code == 0, imported.stderr
    rendered = runner.invoke(
        main,
        ["render", "-f", "-", "-n", "huleedu"],
        input=imported.stdout,
        env={},
        catch_exceptions=False,
    )
    assert rendered.exit_code == 0, rendered.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(rendered.stdout) if d]
    assert kinds.count("Deployment") == len(APPLICATIONS)


def test_the_cli_says_why_it_cannot_read_the_files() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["import", "-f", str(FIXTURES / "nope.yml")], env={})
    assert result.exit_code == 1
    assert "cannot read the compose files: no such file" in result.stderr
