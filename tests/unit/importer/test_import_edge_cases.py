"""The compose dialect's corners, on tests/fixtures/compose/edge (files only): extends
from another file, profiles, a required variable, a pass-through variable, expose,
stop_grace_period, start_interval and a migration one-shot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from huleedu_operator.importer import ImportResult, convert
from huleedu_operator.importer.load import ComposeLoadError, load_project

pytestmark = pytest.mark.unit

EDGE = Path(__file__).resolve().parents[2] / "fixtures" / "compose" / "edge"
FILES = [EDGE / "compose.yaml"]


@pytest.fixture(scope="module", autouse=True)
def _environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("GRADING_FEATURE_FLAGS", "COMPOSE_PROFILES", "COMPOSE_PROJECT_DIR"):
            patch.delenv(name, raising=False)
        patch.setenv("GRADING_TAG", "2.0")
        yield


@pytest.fixture(scope="module")
def result(_environment: None) -> ImportResult:
    return convert(load_project(FILES))


def grading(result: ImportResult) -> dict[str, Any]:
    (resource,) = result.resources
    spec: dict[str, Any] = resource["spec"]
    return spec


def test_a_required_variable_that_is_unset_is_a_load_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GRADING_TAG")
    with pytest.raises(ComposeLoadError, match="GRADING_TAG"):
        load_project(FILES)


def test_extends_is_resolved_and_profiles_are_left_out(result: ImportResult) -> None:
    spec = grading(result)
    assert spec["image"] == "ghcr.io/huleedu/grading:2.0"
    assert spec["settings"] == {"LOG_LEVEL": "INFO", "MODE": "strict"}  # LOG_LEVEL: extends
    assert not [f for f in result.findings if f.service == "debug_shell"]
    assert not [f for f in result.findings if "extends" in f.message]


def test_expose_stop_grace_period_and_start_interval(result: ImportResult) -> None:
    spec = grading(result)
    assert spec["port"] == 7000
    assert spec["shutdownGracePeriodSeconds"] == 20
    # 20s of start_period at one try per 2s (start_interval), then 3 retries.
    assert spec["probes"]["startup"] == {
        "path": "/healthz",
        "port": 7000,
        "periodSeconds": 2,
        "failureThreshold": 13,
    }


def test_a_pass_through_variable_is_reported(result: ImportResult) -> None:
    (env,) = [f for f in result.findings if f.rule == "env"]
    assert "GRADING_FEATURE_FLAGS" in env.message


def test_a_migration_one_shot_points_at_spec_migrations_of_its_service(
    result: ImportResult,
) -> None:
    (migrate,) = [f for f in result.findings if f.service == "migrate"]
    assert "give grading-api spec.migrations: {command: [alembic, upgrade, head]}" in (
        migrate.message
    )
