"""``huleedu-runtime new http|worker NAME``: a service skeleton from Jinja2 templates.

The templates are the patterns written down once: an http service is
``app.py`` + ``startup_setup.py`` + a blueprint + settings; a worker is settings
plus a handler wrapped in ``KafkaEventProcessor``. Each comes with a test, a
Dockerfile ``FROM`` the runtime image and a ``HuleEduService`` manifest.
:func:`render_service` is pure so the scaffold can be tested without a disk.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,50}[a-z0-9])?$")

# template -> output path; {pkg} is the Python package name.
_FILES = {
    "http": {
        "http/__init__.py.j2": "{pkg}/__init__.py",
        "http/app.py.j2": "{pkg}/app.py",
        "http/startup_setup.py.j2": "{pkg}/startup_setup.py",
        "http/config.py.j2": "{pkg}/config.py",
        "http/api_init.py.j2": "{pkg}/api/__init__.py",
        "http/routes.py.j2": "{pkg}/api/routes.py",
        "http/test_service.py.j2": "tests/test_{pkg}.py",
    },
    "worker": {
        "worker/__init__.py.j2": "{pkg}/__init__.py",
        "worker/config.py.j2": "{pkg}/config.py",
        "worker/worker.py.j2": "{pkg}/worker.py",
        "worker/test_handler.py.j2": "tests/test_{pkg}.py",
    },
}
_COMMON = {
    "common/Dockerfile.j2": "Dockerfile",
    "common/huleeduservice.yaml.j2": "huleeduservice.yaml",
    "common/pyproject.toml.j2": "pyproject.toml",
}


class ScaffoldError(Exception):
    pass


def render_service(kind: str, name: str) -> dict[str, str]:
    """Relative path -> file content for a new ``kind`` service called ``name``."""
    if kind not in _FILES:
        raise ScaffoldError(f"kind {kind!r}: choose 'http' or 'worker'")
    if not _NAME.match(name):
        raise ScaffoldError(
            f"name {name!r}: use a DNS label (lowercase letters, digits, '-'), "
            "e.g. 'content-service'"
        )
    pkg = name.replace("-", "_")
    context = {
        "kind": kind,
        "name": name,
        "pkg": pkg,
        "env_prefix": pkg.upper() + "_",
        "topic": f"huleedu.{name}.requested.v1",
    }
    env = Environment(
        loader=PackageLoader("huleedu_runtime", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - renders Python and YAML, not HTML
    )
    files = {**_FILES[kind], **_COMMON}
    return {
        out.format(pkg=pkg): env.get_template(template).render(context)
        for template, out in files.items()
    }


def write_service(kind: str, name: str, output_dir: Path) -> list[Path]:
    """Render and write the service; refuses to overwrite existing files."""
    files = render_service(kind, name)
    targets = [output_dir / rel for rel in files]
    existing = [p for p in targets if p.exists()]
    if existing:
        raise ScaffoldError(f"{existing[0]} already exists; choose an empty --output directory")
    for target, content in zip(targets, files.values(), strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return targets


def runtime_source() -> Path | None:
    """The huleedu-operator checkout this runtime is installed from (editable), if any."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "huleedu-operator"' in pyproject.read_text("utf-8"):
        return root
    return None


def next_steps(target: Path, source: Path | None) -> list[str]:
    """Shell commands from a fresh virtualenv to the service's tests passing and deployed.

    The runtime comes from the checkout the scaffolder runs from (``source``, see
    :func:`runtime_source`), or, with ``None`` (an installed wheel), from the package
    index ``dependencies`` resolves against. Paths after ``cd`` are relative to the
    service.
    """
    runtime = f"-e {shlex.quote(f'{source}[runtime]')} " if source is not None else ""
    return [
        f"cd {shlex.quote(str(target))}",
        "python3 -m venv .venv && . .venv/bin/activate",
        f"pip install {runtime}-e '.[test]'",
        "pytest",
        "kubectl apply -f huleeduservice.yaml",
    ]
