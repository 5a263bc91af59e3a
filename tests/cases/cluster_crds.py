"""Install the CRDs integration tests need: ours, and stand-ins for optional APIs.

Used from session fixtures with the ``kubectl`` fixture of ``tests/integration/conftest.py``
(``run(*args, check=True, input=None) -> CompletedProcess``). CRDs are cluster-scoped and
shared by every test run against the cluster, so nothing here deletes them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import yaml

from cases.valid_resources import REPO_ROOT

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

HULEEDU_CRD_DIR = REPO_ROOT / "crds"
STAND_IN_CRD_DIR = REPO_ROOT / "tests" / "fixtures" / "crds"
STAND_IN_LABEL = "huleedu.test/stand-in"
_LABEL_JSONPATH = "jsonpath={.metadata.labels.huleedu\\.test/stand-in}"


def _crd_name(path: Path) -> str:
    name: str = yaml.safe_load(path.read_text())["metadata"]["name"]
    return name


def wait_established(kubectl: Kubectl, names: list[str], timeout: str = "60s") -> None:
    kubectl(
        "wait", "--for=condition=Established", f"--timeout={timeout}", *(f"crd/{n}" for n in names)
    )


def install_huleedu_crd(kubectl: Kubectl) -> str:
    """Apply the committed ``crds/`` (the file users install) and wait until served."""
    kubectl("apply", "-f", str(HULEEDU_CRD_DIR))
    names = [_crd_name(p) for p in sorted(HULEEDU_CRD_DIR.glob("*.yaml"))]
    wait_established(kubectl, names)
    return names[0]


def install_stand_in_crds(kubectl: Kubectl) -> dict[str, str]:
    """Apply each stand-in CRD unless the real one is installed; returns name -> origin.

    A real Prometheus Operator or KEDA installation is never overwritten: its CRD has
    no stand-in label, and is reported as ``"real"``.
    """
    origin: dict[str, str] = {}
    for path in sorted(STAND_IN_CRD_DIR.glob("*.yaml")):
        name = _crd_name(path)
        found = kubectl("get", "crd", name, "-o", _LABEL_JSONPATH, check=False)
        if found.returncode == 0 and found.stdout.strip() != "true":
            origin[name] = "real"
            continue
        kubectl("apply", "-f", str(path))
        origin[name] = "stand-in"
    wait_established(kubectl, list(origin))
    return origin
