"""Facts about the local test ground, read from the one file that defines them
(``scripts/lib/ground.env``), so tests never repeat an address or a node name; and where
its state and kubeconfig are (the default state directory is the one
``scripts/lib/common.sh`` ``state_dir`` gives: ``$HULEEDU_STATE_DIR``, else
``<repo>/.local``)."""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GROUND_ENV = REPO / "scripts" / "lib" / "ground.env"


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
    """Where ``scripts/local-cluster.sh up`` writes its kubeconfig."""
    return state_dir() / "kubeconfig"


def kubeconfig_path() -> str:
    """``$KUBECONFIG`` if set, else the local ground's kubeconfig."""
    env = os.environ.get("KUBECONFIG", "").strip()
    return env or str(local_kubeconfig())


def is_local_ground(kubeconfig: str) -> bool:
    return Path(kubeconfig).resolve() == local_kubeconfig().resolve()


GROUND_PROGRAMS = (
    "containerd",
    "kubelet",
    "kube-proxy",
    "socat",
    "etcd",
    "kube-apiserver",
    "kube-controller",
    "kube-scheduler",
    "kwok",
    "java",
    "prometheus",
)
"""Programs of the ground (the broker is ``java``), as ``ss -p`` names them."""


def exposed_listeners() -> list[str]:
    """Listening sockets of the ground's programs on anything but loopback or the node
    address (the network rule of these machines: never 0.0.0.0, never eth0)."""
    node = ground()["GROUND_NODE_IP"]
    allowed = ("127.0.0.1:", "[::1]:", "[::ffff:127.0.0.1]:", f"{node}:", f"[::ffff:{node}]:")
    out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    bad = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 6:
            continue
        local, users = fields[3], fields[5]
        programs = re.findall(r'\(\("([^"]+)"', users)
        if any(p.startswith(GROUND_PROGRAMS) for p in programs) and not local.startswith(allowed):
            bad.append(f"{local} {users}")
    return bad
