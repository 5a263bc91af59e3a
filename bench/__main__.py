"""``python -m bench``: the operator against the floor and the peer on the local ground.

    python -m bench                 N = 100, 1000, 3000; 300 idle seconds after the 3000
                                    (60 s after the others); floor sweep at N = 1000
    python -m bench --quick         N = 50, 100; 30 idle seconds; sweep at N = 100
    python -m bench --sizes 100,1000 --idle 60 --sweep 8,16,32,64 --sweep-n 1000

    python -m bench --own-cluster   on a private control plane (.local/bench, kwok nodes
                                    only; started if needed, and then stopped at the end):
                                    no other test's operator watches it and no other test
                                    loads its API server

For every N, each in a fresh namespace, one after another (a namespace is gone before
the next measurement starts): the floor (plain server-side apply of parents, children
and one status write per resource, at the fastest concurrency of the sweep), the
project's operator (``huleedu-operator run``), then the peer (bench/peer.py under
``kopf run``). Results: bench/results/operator.{json,md,png} (``--quick``:
operator-quick.*); ``python -m bench.report --readme`` puts them into README.md.
"""

from __future__ import annotations

import argparse
import atexit
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from tests.support.kube import REPO, Kube

from bench import convergence, profile, report

RESULTS = Path(__file__).resolve().parent / "results"
# What the measured code is: a change elsewhere in the tree does not make a run dirty.
MEASURED_PATHS = ("operator", "bench", "crds", "pyproject.toml", "scripts")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 50,100, short idle window")
    parser.add_argument("--sizes", type=_ints, help="comma-separated N (default 100,1000,3000)")
    parser.add_argument("--idle", type=float, help="idle seconds after the largest N (300)")
    parser.add_argument("--short-idle", type=float, help="idle seconds after the others (60)")
    parser.add_argument("--sweep", type=_ints, help="floor concurrencies (8,16,32,64)")
    parser.add_argument("--sweep-n", type=int, help="N of the floor sweep (1000 if measured)")
    parser.add_argument("--latency", type=int, default=0, help="latency samples at largest N")
    parser.add_argument("--no-peer", action="store_true", help="skip the peer")
    parser.add_argument("--profile", action="store_true", help="py-spy the largest N too")
    parser.add_argument(
        "--operator-module", help="a variant of the operator, e.g. bench.experiments.no_diffbase"
    )
    parser.add_argument("--own-cluster", action="store_true", help="private control plane")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", help="results file stem (default operator / operator-quick)")
    args = parser.parse_args(argv)
    if args.profile:
        profile.py_spy()  # missing: say so now, not after the whole run

    sizes = args.sizes or ([50, 100] if args.quick else [100, 1000, 3000])
    idle = args.idle if args.idle is not None else (30.0 if args.quick else 300.0)
    short_idle = args.short_idle if args.short_idle is not None else min(idle, 60.0)
    sweep = args.sweep or [8, 16, 32, 64]
    sweep_n = args.sweep_n or (1000 if 1000 in sizes else max(sizes))
    stem = args.name or ("operator-quick" if args.quick else "operator")
    logs = args.out / "logs"
    began = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    if args.own_cluster:
        kubeconfig, started = own_cluster()
        os.environ["KUBECONFIG"] = kubeconfig
        if started:  # stopped again however the run ends; a reused one is left running
            atexit.register(stop_own_cluster)
    kube = Kube()
    kube.ensure_crd()
    kube.ensure_pod_capacity(max(max(sizes), sweep_n) + args.latency)
    kube.ensure_service_capacity(max(max(sizes), sweep_n) + args.latency)
    phases: list[dict[str, Any]] = []
    results: dict[str, Any] = {
        "commit": commit(),
        "ground": ground(kube, sizes, idle, short_idle),
        "runs": {},
        "phases": phases,
    }

    def phase(name: str, since: float) -> None:
        phases.append({"phase": name, "seconds": round(time.monotonic() - since, 1)})

    def teardown(ns: str) -> None:
        since = time.monotonic()
        kube.start_namespace_deletion(ns)
        asked = time.monotonic() - since
        waited = kube.wait_namespaces_gone([ns], timeout=1800 + 2 * max(sizes))
        log(f"  namespace {ns} gone after {asked + waited:.1f}s ({asked:.1f}s of deletes)")
        phase(f"teardown {ns}", since)

    # A first measurement on a cold ground runs slower (caches, connections): not a point.
    since = time.monotonic()
    _, ns = convergence.run_floor(kube, min(sweep_n, 50), sweep[0], log, available=False)
    phase("warm-up", since)
    teardown(ns)
    log(f"floor sweep at n={sweep_n}: concurrency {sweep}")
    points = []
    for concurrency in sweep:
        since = time.monotonic()
        point, ns = convergence.run_floor(kube, sweep_n, concurrency, log, available=False)
        phase(f"sweep n={sweep_n} c={concurrency}", since)
        points.append(
            {
                "concurrency": concurrency,
                "t_children": point["t_children"],
                "applied_seconds": point["applied_seconds"],
                "writes_per_resource": point["requests"]["writes_per_resource"],
            }
        )
        teardown(ns)
    best = min(points, key=lambda p: p["t_children"])["concurrency"]
    results["ground"]["floor_sweep"] = {"n": sweep_n, "points": points, "best": best}
    log(f"floor: concurrency {best} is the fastest here")

    for n in sizes:
        window = idle if n == max(sizes) else short_idle
        since = time.monotonic()
        floor, ns = convergence.run_floor(kube, n, best, log)
        phase(f"floor n={n}", since)
        teardown(ns)
        since = time.monotonic()
        project, ns = convergence.run_owner(
            kube,
            "project",
            n,
            logs,
            window,
            best,
            log,
            module=args.operator_module,
            latency=args.latency if n == max(sizes) else 0,
        )
        phase(f"project n={n} (idle {window:.0f}s)", since)
        teardown(ns)
        peer = None
        if not args.no_peer:
            since = time.monotonic()
            peer, ns = convergence.run_owner(kube, "peer", n, logs, 0, best, log)
            phase(f"peer n={n}", since)
            teardown(ns)
        results["runs"][str(n)] = report.row(n, floor, project, peer)
        results["targets"] = report.targets(results["runs"])
        report.write(results, args.out, stem)
        log(f"n={n}: {report.one_line(results['runs'][str(n)])}")

    if args.profile:
        since = time.monotonic()
        results["profile"] = profile.run(
            kube, max(sizes), args.out, stem, log, args.operator_module
        )
        phase("profile", since)
    results["ground"]["total_seconds"] = round(time.monotonic() - began, 1)
    for path in report.write(results, args.out, stem):
        log(f"wrote {path}")
    return 0


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()

    sha = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", *MEASURED_PATHS)
    return f"{sha}-dirty" if dirty else sha


def ground(kube: Kube, sizes: list[int], idle: float, short_idle: float) -> dict[str, Any]:
    env = {}
    for line in (REPO / "scripts" / "lib" / "ground.env").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("GROUND_CONTROLLER_"):
            env[key.removeprefix("GROUND_").lower()] = int(value)
    version = kube.request("GET", "/version")
    return {
        "machine": platform.node(),
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "kubernetes": version.get("gitVersion"),
        "kopf": metadata.version("kopf"),
        "kubernetes_client": metadata.version("kubernetes"),
        # kube-controller-manager and kube-scheduler client QPS and burst, and the
        # concurrent syncs of the controllers (scripts/lib/ground.env).
        **env,
        "control_plane": "kube-apiserver, etcd, controller-manager, scheduler, kwok on "
        "this machine; kwok nodes only",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sizes": sizes,
        "idle_seconds": {"largest_n": idle, "other_n": short_idle},
        "settle_seconds": convergence.SETTLE_SECONDS,
    }


OWN_STATE = REPO / ".local" / "bench"


def _own_cluster(command: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "HULEEDU_STATE_DIR": str(OWN_STATE), "HULEEDU_REAL_NODE": "0"}
    env.pop("KUBECONFIG", None)
    script = str(REPO / "scripts" / "local-cluster.sh")
    return subprocess.run([script, command], env=env, check=check)


def own_cluster() -> tuple[str, bool]:
    """Start (or reuse) a second local control plane just for the benchmark, kwok nodes
    only: another engineer's cluster-wide operator on the shared one would reconcile the
    benchmark's resources too, and its tests would share the API server being measured.
    Returns its kubeconfig and whether this run started it."""
    running = _own_cluster("status", check=False).returncode == 0
    _own_cluster("up")
    return str(OWN_STATE / "kubeconfig"), not running


def stop_own_cluster() -> None:
    _own_cluster("down", check=False)


if __name__ == "__main__":
    sys.exit(main())
