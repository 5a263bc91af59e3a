"""The operator as a subprocess (``huleedu-operator run``), exactly as a user starts it,
with its metrics read from its own endpoint and its CPU and RSS from /proc; and the peer
(bench/peer.py under ``kopf run``), started and measured the same way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.kube import REPO, kubeconfig_path
from tests.support.operator import OperatorProcess as Launcher
from tests.support.ports import free_port
from tests.support.workload import BOOTSTRAP

from bench import proc


class OperatorProcess(Launcher):
    """The tests' launcher of ``huleedu-operator run`` (tests/support/operator.py), serving
    exactly the benchmark's namespaces, with its CPU and RSS read from /proc. Started by
    :meth:`start` (or ``with``), not on construction."""

    def __init__(
        self,
        namespaces: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        module: str | None = None,
    ) -> None:
        if not namespaces:
            # Never the whole cluster: an in-cluster operator may serve other namespaces
            # of it (tests/support/operator.py IN_CLUSTER_NAMESPACES).
            raise ValueError("a benchmark operator serves the namespaces it is given; pass some")
        self.namespaces = namespaces
        super().__init__(
            None, log_path, env=env, module=module, start=False, namespaces=",".join(namespaces)
        )

    def rss_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS) in MiB."""
        return proc.memory_mib(self.pid)

    def cpu_seconds(self) -> float:
        """utime + stime (+ waited-for children) so far."""
        return proc.cpu_seconds(self.pid)


def other_operators(mine: set[int]) -> list[dict[str, str]]:
    """Other ``huleedu-operator run`` processes on this machine talking to the same
    cluster, with the namespaces they watch: a cluster-wide one also reconciles the
    benchmark's resources, which the results must say."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            if b"huleedu_operator.cli" not in cmdline and not any(
                arg.endswith(b"huleedu-operator") for arg in cmdline
            ):
                continue
            if b"run" not in cmdline:
                continue
            environ = dict(
                item.split(b"=", 1)
                for item in (entry / "environ").read_bytes().split(b"\0")
                if b"=" in item
            )
        except OSError:
            continue
        if environ.get(b"KUBECONFIG", b"").decode() != kubeconfig_path():
            continue
        namespaces = environ.get(b"HULEEDU_OPERATOR_NAMESPACES", b"").decode() or "*all*"
        found.append({"pid": entry.name, "namespaces": namespaces})
    return found


class PeerProcess(OperatorProcess):
    """bench/peer.py under ``kopf run --standalone --namespace <ns>`` (one ``--namespace``
    per namespace: it serves the benchmark's namespaces only), liveness through kopf's own
    ``--liveness`` endpoint. It has no metrics endpoint: its API requests are counted by
    the API server (bench/apiserver.py), as everyone's are."""

    def __init__(self, namespaces: list[str], log_path: Path) -> None:
        super().__init__(namespaces, log_path)
        self.command = ["-m", "kopf", "run", "--standalone"]

    def start(self, wait: bool = True) -> PeerProcess:
        self.liveness_port = free_port()
        env = {
            **os.environ,
            "KUBECONFIG": kubeconfig_path(),
            "BENCH_PEER_KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP,
            **self.extra_env,
        }
        argv = [sys.executable, *self.command]
        for namespace in self.namespaces:
            argv += ["--namespace", namespace]
        argv += ["--liveness", f"http://127.0.0.1:{self.liveness_port}/healthz"]
        argv.append(str(REPO / "bench" / "peer.py"))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        if wait:
            self.wait_live()
        return self

    def metrics(self) -> dict[str, float]:
        return {}
