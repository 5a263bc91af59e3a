"""A scaffolded service works out of the box: its own tests pass and it is lint-clean.

These run the generated project the way its author would (``pytest`` and
``ruff`` inside the new directory, in a child process with a clean environment),
so a template that renders valid Python but broken code fails here. They spawn
processes, hence no ``unit`` marker; they take a few seconds and run in
``make test``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from huleedu_runtime.scaffold import render_service, write_service

BIN = Path(sys.executable).parent


def clean_env(tmp_path: Path) -> dict[str, str]:
    """No KAFKA_*/PORT/... from the developer's shell leaks into the generated tests."""
    return {
        "PATH": f"{BIN}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def run(args: list[str], cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=clean_env(tmp_path), capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(("kind", "name"), [("http", "essay-service"), ("worker", "essay-worker")])
def test_a_generated_service_passes_its_own_tests(kind: str, name: str, tmp_path: Path) -> None:
    root = tmp_path / name
    write_service(kind, name, root)

    result = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        root,
        tmp_path,
    )

    assert result.returncode == 0, f"generated {kind} tests failed:\n{result.stdout}{result.stderr}"
    assert " passed" in result.stdout
    assert "failed" not in result.stdout


@pytest.mark.parametrize("kind", ["http", "worker"])
def test_a_generated_service_is_clean_under_ruff_check_and_format(
    kind: str, tmp_path: Path
) -> None:
    root = tmp_path / "svc"
    write_service(kind, "lint-me", root)

    check = run([str(BIN / "ruff"), "check", "--no-cache", "."], root, tmp_path)
    fmt = run([str(BIN / "ruff"), "format", "--no-cache", "--check", "."], root, tmp_path)

    assert check.returncode == 0, check.stdout + check.stderr
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_the_scaffolder_imports_without_the_runtime_extras() -> None:
    # `huleedu-operator new` calls render_service from the operator image, which has
    # jinja2 but not quart/aiokafka; a top-level import of either would break it.
    heavy = ["quart", "aiokafka", "hypercorn", "dishka", "werkzeug"]
    probe = (
        "import sys\n"
        f"for name in {heavy!r}:\n"
        "    sys.modules[name] = None  # any import of it now raises ImportError\n"
        "from huleedu_runtime.scaffold import render_service\n"
        "files = render_service('worker', 'probe')\n"
        "assert 'probe/worker.py' in files, sorted(files)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_render_service_names_every_file_relative_to_the_service_root() -> None:
    http = render_service("http", "essay-service")
    worker = render_service("worker", "essay-worker")

    assert {"essay_service/app.py", "essay_service/startup_setup.py"} <= set(http)
    assert {"essay_service/api/routes.py", "essay_service/config.py"} <= set(http)
    assert {"essay_worker/worker.py", "essay_worker/config.py"} <= set(worker)
    for files in (http, worker):
        assert {"Dockerfile", "huleeduservice.yaml", "pyproject.toml"} <= set(files)
        assert all(not Path(p).is_absolute() and ".." not in Path(p).parts for p in files)
