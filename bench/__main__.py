"""``python -m bench``: every operator benchmark on the local control plane.

    python -m bench                 full: N = 100, 500, 1000; 5 idle minutes after the
                                    1000 (1 minute after the others); 100 latency samples
                                    into the converged 1000
    python -m bench --quick         N = 50, 100; 30 idle seconds; 30 latency samples
    python -m bench --sizes 200 --idle 60 --latency 50 --profile

    python -m bench --own-cluster   on a private control plane (.local/bench, started if
                                    needed): no other test's operator watches it

Results go to bench/results/<full|quick>.{json,md,png}. ``--profile`` adds a py-spy
profile of the operator during one more convergence of the largest N (kept out of the
timed runs: sampling slows the process it samples).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import convergence, profile, report
from bench.kube import Kube

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, short idle window")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--idle", type=float, help="idle window in seconds")
    parser.add_argument("--latency", type=int, help="latency samples at the largest N")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor runs")
    parser.add_argument("--profile", action="store_true", help="py-spy the largest N")
    parser.add_argument("--profile-only", action="store_true")
    parser.add_argument(
        "--operator-module", help="profile a variant, e.g. bench.experiments.no_diffbase"
    )
    parser.add_argument("--own-cluster", action="store_true", help="private control plane")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", help="results file stem (default: full or quick)")
    parser.add_argument(
        "--merge", action="store_true", help="keep earlier rows of other sizes in the results"
    )
    args = parser.parse_args(argv)

    sizes = args.sizes or ([50, 100] if args.quick else [100, 500, 1000])
    idle = args.idle if args.idle is not None else (30.0 if args.quick else 300.0)
    # The long idle window once, at the largest N: idleness does not improve with less.
    short_idle = min(idle, 60.0)
    samples = args.latency if args.latency is not None else (30 if args.quick else 100)
    stem = args.name or ("quick" if args.quick else "full")
    logs = args.out / "logs"

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    if args.own_cluster:
        os.environ["KUBECONFIG"] = own_cluster()
    kube = Kube()
    kube.ensure_crd()
    kube.ensure_pod_capacity(max(sizes) + samples)
    kube.ensure_service_capacity(max(sizes) + samples)
    results: dict[str, Any] = {
        "mode": stem,
        "environment": (
            f"{platform.node()}: {os.cpu_count()} cores, python {platform.python_version()}, "
            f"local control plane (kube-apiserver, etcd, controller-manager, scheduler, kwok) "
            f"on the same machine; started {time.strftime('%Y-%m-%d %H:%M')}"
        ),
        "sizes": sizes,
        "convergence": [],
    }
    earlier = args.out / f"{stem}.json"
    if args.merge and earlier.exists():
        kept = json.loads(earlier.read_text()).get("convergence", [])
        results["convergence"] = [r for r in kept if r["operator"]["n"] not in sizes]
    if not args.profile_only:
        for n in sizes:
            latency = samples if n == max(sizes) else 0
            floor = None if args.no_floor else convergence.run_floor(kube, n, log)
            window = idle if n == max(sizes) else short_idle
            op = convergence.run_operator(kube, n, logs, window, latency, log)
            row = {"operator": convergence.as_dict(op)}
            if floor:
                row["floor"] = convergence.as_dict(floor)
                log(
                    f"n={n}: operator {op.seconds:.1f}s / floor {floor.seconds:.1f}s = "
                    f"{op.seconds / floor.seconds:.2f}"
                )
            results["convergence"].append(row)
            results["convergence"].sort(key=lambda r: r["operator"]["n"])
            report.write(results, args.out, stem)
    if args.profile or args.profile_only:
        results["profile"] = profile.run(
            kube, max(sizes), args.out, stem, log, args.operator_module
        )
    for path in report.write(results, args.out, stem):
        log(f"wrote {path}")
    return 0


def own_cluster() -> str:
    """Start (or reuse) a second local control plane just for the benchmark: another
    engineer's cluster-wide operator on the shared one would reconcile the benchmark's
    resources too, and its tests would share the API server being measured."""
    repo = RESULTS.parents[1]
    state = repo / ".local" / "bench"
    env = {**os.environ, "HULEEDU_STATE_DIR": str(state)}
    env.pop("KUBECONFIG", None)
    subprocess.run([str(repo / "scripts" / "local-cluster.sh"), "up"], env=env, check=True)
    return str(state / "kubeconfig")


if __name__ == "__main__":
    sys.exit(main())
