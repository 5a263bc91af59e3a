"""The operator as a subprocess (``huleedu-operator run``), exactly as a user starts it,
with its metrics read from its own endpoint and its CPU and RSS from /proc; and the peer
(bench/peer.py under ``kopf run``), started and measured the same way."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.kube import REPO, kubeconfig_path
from tests.support.workload import BOOTSTRAP

from bench import proc

WRITE_VERBS = ("PATCH", "POST", "PUT", "DELETE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OperatorProcess:
    def __init__(
        self,
        namespaces: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        module: str | None = None,
    ) -> None:
        if not namespaces:
            # Never the whole cluster: an in-cluster operator may serve other namespaces
            # of it (tests/operator_harness.py IN_CLUSTER_NAMESPACES).
            raise ValueError("a benchmark operator serves the namespaces it is given; pass some")
        self.namespaces = namespaces
        # ``-m <module>`` for a variant (bench/experiments); default: the real CLI.
        self.command = ["-m", module] if module else ["-m", "huleedu_operator.cli", "run"]
        self.log_path = log_path
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.metrics_port = self.liveness_port = 0

    def start(self, wait: bool = True) -> OperatorProcess:
        self.metrics_port, self.liveness_port = free_port(), free_port()
        env = {
            **os.environ,
            "KUBECONFIG": kubeconfig_path(),
            "HULEEDU_OPERATOR_NAMESPACES": ",".join(self.namespaces),
            "HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP,
            "HULEEDU_OPERATOR_METRICS_PORT": str(self.metrics_port),
            "HULEEDU_OPERATOR_LIVENESS_PORT": str(self.liveness_port),
            "HULEEDU_OPERATOR_BIND_ADDRESS": "127.0.0.1",
            **self.extra_env,
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, *self.command],
                cwd=REPO,  # so a bench.experiments variant imports
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if wait:
            self.wait_live()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_live(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"operator exited: {self.log_tail()}")
            try:
                urllib.request.urlopen(
                    f"http://127.0.0.1:{self.liveness_port}/healthz", timeout=2
                ).read()
                return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"operator liveness never answered: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def metrics(self) -> dict[str, float]:
        """Every sample as ``name{labels}`` -> value."""
        text = (
            urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10)
            .read()
            .decode()
        )
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def requests_by_verb(self) -> dict[str, float]:
        prefix = 'huleedu_operator_api_requests_total{verb="'
        return {
            key[len(prefix) : -2]: value
            for key, value in self.metrics().items()
            if key.startswith(prefix)
        }

    def writes(self) -> float:
        by_verb = self.requests_by_verb()
        return sum(by_verb.get(v, 0.0) for v in WRITE_VERBS)

    def rss_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS) in MiB."""
        return proc.memory_mib(self.pid)

    def cpu_seconds(self) -> float:
        """utime + stime (+ waited-for children) so far."""
        return proc.cpu_seconds(self.pid)

    def kill9(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or not self.alive():
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> OperatorProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


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

    def start(self, wait: bool = True) -> OperatorProcess:
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
