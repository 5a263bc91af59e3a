"""The steps ``huleedu-operator new`` prints, run in a fresh virtualenv (issue 12 item 12).

Slow (pip installs the runtime's dependencies from the package index, about two
minutes here) and outside tests/unit, so ``make test-unit`` stays fast and ``make test``
(``-m 'not slow'``) skips it. Run: ``.venv/bin/pytest tests/scaffold -m slow``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from huleedu_operator.cli import main


def printed_steps(tmp_path: Path, kind: str, name: str) -> list[str]:
    result = CliRunner().invoke(main, ["new", kind, name, "-o", str(tmp_path / name)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("next, in a fresh virtualenv:")
    return [line.strip() for line in lines[start + 1 :]]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_printed_steps_work_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    """Runs the printed steps in bash with a clean environment (pip reaches the index;
    `kubectl apply` is left out: it needs a cluster and is covered by the e2e tests)."""
    steps = printed_steps(tmp_path, "http", "grading-service")
    script = "\n".join(["set -euo pipefail", *steps[:-1], "test -f huleeduservice.yaml"])
    python_dir = str(Path(sys.base_prefix) / "bin")
    env = {"PATH": f"{python_dir}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    result = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=1700
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
