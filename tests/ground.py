"""Facts about the local test ground, read from the one file that defines them
(``scripts/lib/ground.env``), so tests never repeat an address or a node name."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GROUND_ENV = REPO / "scripts" / "lib" / "ground.env"

IN_CLUSTER_NAMESPACES = ("huleedu", "e2e-*")
"""Namespaces the Helm-installed operator of the demo and the e2e suite watches
(scripts/operator-install.sh). Operators the other suites start exclude them."""


@cache
def ground() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in GROUND_ENV.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def state_dir() -> Path:
    return Path(os.environ.get("HULEEDU_STATE_DIR") or REPO / ".local")


def local_kubeconfig() -> Path:
    return state_dir() / "kubeconfig"


def is_local_ground(kubeconfig: str) -> bool:
    return Path(kubeconfig).resolve() == local_kubeconfig().resolve()
