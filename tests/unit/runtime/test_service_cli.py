"""``huleedu-service http|worker`` and ``huleedu-runtime serve-http|run-worker`` are one CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from huleedu_runtime.cli import main, service_main

pytestmark = pytest.mark.unit


def test_the_service_spelling_runs_the_very_same_commands_as_the_runtime_spelling() -> None:
    assert service_main.commands["http"] is main.commands["serve-http"]
    assert service_main.commands["worker"] is main.commands["run-worker"]
    assert set(service_main.commands) == {"http", "worker"}


@pytest.mark.parametrize(
    ("group", "argv", "prog"),
    [
        (service_main, ["http", "no-colon"], "huleedu-service http"),
        (service_main, ["worker", "no-colon"], "huleedu-service worker"),
        (main, ["serve-http", "no-colon"], "huleedu-runtime serve-http"),
        (main, ["run-worker", "no-colon"], "huleedu-runtime run-worker"),
    ],
)
def test_a_malformed_import_path_is_a_usage_error_naming_the_command_used(
    group: object, argv: list[str], prog: str
) -> None:
    result = CliRunner().invoke(group, argv, prog_name=prog.split()[0])  # type: ignore[arg-type]
    assert result.exit_code == 2
    assert "expected 'package.module:attribute'" in result.output
    assert f"Try '{prog} --help'" in result.output


def test_an_import_path_naming_nothing_says_where_it_looked() -> None:
    result = CliRunner().invoke(
        service_main, ["worker", "no_such_module_xyz:create"], prog_name="huleedu-service"
    )
    assert result.exit_code == 2
    assert "no module 'no_such_module_xyz'" in result.output
