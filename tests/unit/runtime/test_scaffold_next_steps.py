"""What ``huleedu-operator new`` tells its user to run works, in a fresh virtualenv.

The old hint (``cd x && pip install -e . && pytest; kubectl apply -f x/...``) failed three
ways in a new venv: pytest was not installed, ``huleedu-operator[runtime]`` was not
resolvable from the index, and the manifest path was wrong after the ``cd`` (issue 12
item 12). These check the printed steps; tests/scaffold/test_fresh_venv.py runs them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from huleedu_operator.cli import main
from huleedu_runtime.scaffold import next_steps, runtime_source

REPO_ROOT = Path(__file__).resolve().parents[3]


def printed_steps(tmp_path: Path, kind: str, name: str) -> list[str]:
    result = CliRunner().invoke(main, ["new", kind, name, "-o", str(tmp_path / name)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("next, in a fresh virtualenv:")
    return [line.strip() for line in lines[start + 1 :]]


@pytest.mark.parametrize("kind", ["http", "worker"])
def test_the_printed_steps_install_the_runtime_and_the_test_tools(
    kind: str, tmp_path: Path
) -> None:
    steps = printed_steps(tmp_path, kind, "grading-service")
    target = tmp_path / "grading-service"
    assert steps == next_steps(target, runtime_source())
    assert steps[0] == f"cd {target}"
    assert steps[1] == "python3 -m venv .venv && . .venv/bin/activate"
    # From a checkout the runtime comes from it; `.[test]` brings pytest + pytest-asyncio.
    assert steps[2] == f"pip install -e '{REPO_ROOT}[runtime]' -e '.[test]'"
    pyproject = tomllib.loads((target / "pyproject.toml").read_text())
    test_extra = pyproject["project"]["optional-dependencies"]["test"]
    assert any(r.startswith("pytest>=") for r in test_extra)
    assert any(r.startswith("pytest-asyncio>=") for r in test_extra)
    assert pyproject["build-system"]["build-backend"] == "setuptools.build_meta"
    # Every path after the `cd` is relative to the service directory.
    manifest = steps[-1].removeprefix("kubectl apply -f ")
    assert (target / manifest).is_file()


def test_an_installed_runtime_resolves_from_the_index(tmp_path: Path) -> None:
    # This checkout is where the dev venv's runtime comes from.
    assert runtime_source() == REPO_ROOT
    # Outside a checkout there is no path to install from: only the project itself,
    # whose dependency huleedu-operator[runtime] comes from the package index.
    assert next_steps(tmp_path / "svc", None)[2] == "pip install -e '.[test]'"
