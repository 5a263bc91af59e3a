"""Find and run the pinned ``helm`` binary for the chart tests (tools and integration).

Where helm comes from, first match wins: ``$HELM`` (a path), the pinned build in
``~/.cache/huleedu/bin/helm-<HELM_VERSION>/helm`` (``scripts/local-cluster.sh build``
puts it there; the pin is ``scripts/versions.env``), then ``helm`` on ``PATH``.
A missing helm fails the test with the way to get one: chart tests never skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .ground import REPO, state_dir

CHART = REPO / "charts" / "huleedu-operator"


def _pinned_helm_version() -> str:
    for line in (REPO / "scripts" / "versions.env").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "HELM_VERSION":
            return value.strip().strip("\"'")
    return ""


def helm_path() -> str:
    explicit = os.environ.get("HELM", "").strip()
    if explicit:
        if not Path(explicit).is_file():
            pytest.fail(f"HELM={explicit!r} is not a file", pytrace=False)
        return explicit
    version = _pinned_helm_version()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    pinned = cache / "huleedu" / "bin" / f"helm-{version}" / "helm"
    if version and pinned.is_file():
        return str(pinned)
    on_path = shutil.which("helm")
    if on_path:
        return on_path
    pytest.fail(
        f"helm not found (looked at $HELM, {pinned}, PATH). Build the pinned helm with "
        "`scripts/local-cluster.sh build` (or `make cluster-up`), or set HELM=/path/to/helm.",
        pytrace=False,
    )


def run_helm(
    *args: str, check: bool = True, kubeconfig: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run helm with ``args``; on ``check`` a non-zero exit fails the test with stderr."""
    env = {**os.environ}
    if kubeconfig is not None:
        env["KUBECONFIG"] = kubeconfig
    # Keep helm's own caches and repository config out of the user's home.
    state = state_dir() / "helm"
    env.setdefault("HELM_CACHE_HOME", str(state / "cache"))
    env.setdefault("HELM_CONFIG_HOME", str(state / "config"))
    env.setdefault("HELM_DATA_HOME", str(state / "data"))
    proc = subprocess.run(
        [helm_path(), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"helm {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr.strip()}",
            pytrace=False,
        )
    return proc


def template(*args: str, release: str = "huleedu", namespace: str = "huleedu-system") -> str:
    """``helm template`` of the chart; returns the rendered manifests."""
    return run_helm("template", release, str(CHART), "--namespace", namespace, *args).stdout
