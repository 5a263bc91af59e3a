"""``scripts/local-cluster.sh up`` then ``down``, twice, leaves the host as it found it.

What the real node changes on the host, and what ``down`` must undo: processes
(containerd, shims, kubelet, kube-proxy, the API server forwarder), mounts (overlay
snapshots, kubelet volumes), iptables chains (the kubelet's and kube-proxy's, our
forwarding guard), network namespaces and veths, the bridge and its routes, sysctls
(the kubelet's and the bridge plugin's) and cgroups. Each is snapshotted before the
first ``up`` and compared after each ``down``. The second ``up`` is warm (everything is
built and cached): its wall time is the figure the README gives.

This suite stops and starts the ground, so it is not part of ``make test`` (which
needs the ground running); ``make test-ground`` and CI run it on a stopped ground.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from support.ground import REPO, exposed_listeners, ground, state_dir

SCRIPT = REPO / "scripts" / "local-cluster.sh"
RESULTS = REPO / "bench" / "results" / "ground.json"
SYSCTLS = (
    "net/ipv4/ip_forward",
    "net/bridge/bridge-nf-call-iptables",
    "vm/overcommit_memory",
    "kernel/panic",
    "kernel/panic_on_oops",
    "net/netfilter/nf_conntrack_max",
    "net/netfilter/nf_conntrack_tcp_timeout_established",
    "net/netfilter/nf_conntrack_tcp_timeout_close_wait",
    "net/ipv4/conf/all/route_localnet",
)
OUR_PROGRAMS = ("containerd", "containerd-shim", "kubelet", "kube-proxy", "socat", "pause")

COUNTERS = re.compile(r"\[\d+:\d+\]")

pytestmark = pytest.mark.ground


def sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def iptables_rules() -> list[str]:
    rules = []
    for table in ("filter", "nat", "mangle", "raw"):
        for line in sh("iptables-save", "-t", table).splitlines():
            if line.startswith(("#", "COMMIT")):
                continue
            rules.append(f"{table} {COUNTERS.sub('', line).strip()}")
    return sorted(rules)


def cgroups() -> list[str]:
    found = []
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        if hierarchy.is_dir():
            found += [f"{hierarchy.name}/{c.name}" for c in hierarchy.iterdir() if c.is_dir()]
    return sorted(found)


def our_processes() -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state == "Z":
            # Already dead: the daemons `up` started were re-parented to PID 1 when the
            # script exited, and PID 1 reaps them a moment after `down` killed them.
            continue
        if comm.startswith(OUR_PROGRAMS) or str(state_dir()) in cmdline:
            found.append(f"{comm}: {cmdline[:120]}")
    return sorted(found)


def snapshot() -> dict[str, object]:
    sysctls = {}
    for name in SYSCTLS:
        path = Path("/proc/sys") / name
        sysctls[name] = path.read_text().strip() if path.exists() else None
    netns = Path("/var/run/netns")
    return {
        "links": sorted(line.split(":")[1].strip() for line in sh("ip", "-o", "link").splitlines()),
        "addresses": sorted(sh("ip", "-o", "addr").splitlines()),
        "routes": sorted(sh("ip", "route", "show", "table", "all").splitlines()),
        "iptables": iptables_rules(),
        "sysctls": sysctls,
        "mounts": sorted(
            " ".join(m.split()[:3]) for m in Path("/proc/mounts").read_text().splitlines()
        ),
        "netns": sorted(p.name for p in netns.iterdir()) if netns.exists() else [],
        "cgroups": cgroups(),
        "processes": our_processes(),
        "listening": sorted(
            line.split()[3] for line in sh("ss", "-Hltn").splitlines() if line.strip()
        ),
    }


def differences(before: dict[str, object], after: dict[str, object]) -> dict[str, object]:
    diff: dict[str, object] = {}
    for key in before:
        a, b = before[key], after[key]
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            diff[key] = {"added": sorted(set(b) - set(a)), "removed": sorted(set(a) - set(b))}
        else:
            diff[key] = {"before": a, "after": b}
    return diff


def run(command: str) -> float:
    start = time.monotonic()
    proc = subprocess.run(
        [str(SCRIPT), command], capture_output=True, text=True, timeout=3600, check=False
    )
    took = time.monotonic() - start
    assert proc.returncode == 0, f"local-cluster.sh {command} failed:\n{proc.stderr[-4000:]}"
    return took


@pytest.mark.timeout(7200)
def test_up_down_up_down_leaves_the_host_as_it_was() -> None:
    if os.geteuid() != 0:
        pytest.fail(
            "the real node needs root; run as root or with HULEEDU_REAL_NODE=0 and skip this suite",
            pytrace=False,
        )
    status = subprocess.run([str(SCRIPT), "status"], capture_output=True, text=True, check=False)
    if status.returncode == 0:
        pytest.fail(
            "the ground is running: `make cluster-down` first (this test starts and stops it)",
            pytrace=False,
        )
    before = snapshot()
    if ground()["GROUND_BRIDGE"] in before["links"]:  # type: ignore[operator]
        pytest.fail(
            f"the host already carries a ground's bridge {ground()['GROUND_BRIDGE']} (another"
            " checkout's ground is running, or one crashed): stop it first, or the"
            " before/after comparison measures that ground, not this one",
            pytrace=False,
        )
    first_up = run("up")
    nodes = sh(
        str(REPO / ".venv" / "bin" / "kubectl"),
        "--kubeconfig",
        str(state_dir() / "kubeconfig"),
        "get",
        "nodes",
        "--no-headers",
    )
    assert ground()["GROUND_REAL_NODE"] in nodes, f"up brought no real node:\n{nodes}"
    during = snapshot()
    assert exposed_listeners() == []
    assert ground()["GROUND_BRIDGE"] in during["links"]  # type: ignore[operator]
    first_down = run("down")
    after_first = snapshot()
    second_up = run("up")
    second_down = run("down")
    after_second = snapshot()

    assert differences(before, after_first) == {}
    assert differences(before, after_second) == {}
    figures = {
        "first_up_seconds": round(first_up, 1),
        "warm_up_seconds": round(second_up, 1),
        "down_seconds": [round(first_down, 1), round(second_down, 1)],
    }
    print(json.dumps(figures))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
