"""``huleedu-runtime check-heartbeat``: the exec liveness probe of a worker without HTTP."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from huleedu_runtime import contract
from huleedu_runtime.cli import main

pytestmark = pytest.mark.unit


def check(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check-heartbeat", *args], env=env)
    return result.exit_code, result.output


def test_a_fresh_heartbeat_passes(tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    beat.touch()
    assert check("--file", str(beat), "--max-age", "30") == (0, "")


def test_a_missing_heartbeat_fails_saying_the_worker_never_beat(tmp_path: Path) -> None:
    code, output = check("--file", str(tmp_path / "absent"))
    assert code == 1
    assert "does not exist" in output


def test_a_heartbeat_older_than_max_age_fails_with_its_age(tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    beat.touch()
    long_ago = time.time() - 100
    os.utime(beat, (long_ago, long_ago))
    code, output = check("--file", str(beat), "--max-age", "30")
    assert code == 1
    assert "more than --max-age 30s" in output


def test_the_file_defaults_to_heartbeat_file_from_the_environment(tmp_path: Path) -> None:
    beat = tmp_path / "from-env"
    beat.touch()
    assert check(env={contract.Env.HEARTBEAT_FILE: str(beat)})[0] == 0
    assert check(env={contract.Env.HEARTBEAT_FILE: str(tmp_path / "absent")})[0] == 1
