"""Stop and start one component of the local control plane (kube-apiserver, etcd) for
fault injection, with the exact command line, environment and log file kwokctl gave it.

kwokctl can only stop or start a whole cluster, so a component is stopped by its pid
(read from the cluster's ``pids/`` directory, checked against its command line) and
started again the way kwokctl started it: same argv, environment and working directory,
output appended to its log, a new session, and its pid file rewritten so
``scripts/local-cluster.sh down`` still finds it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .ground import kubeconfig_path


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: str


class ControlPlane:
    """One kwokctl cluster's processes. Stopping kube-apiserver for longer than the
    leader-election renew deadline (10 s) makes kube-controller-manager and
    kube-scheduler exit, as they do in any cluster; there the kubelet restarts them
    (static pods), here :meth:`supervise` does."""

    def __init__(self, cluster_dir: Path) -> None:
        self.cluster_dir = cluster_dir
        self.stopped: set[str] = set()
        self.restarted: list[str] = []

    @classmethod
    def local(cls) -> ControlPlane | None:
        """The control plane behind ``$KUBECONFIG`` when ``local-cluster.sh`` started it
        (its kubeconfig sits next to ``kwok/clusters/huleedu``); None for other clusters."""
        state = Path(kubeconfig_path()).resolve().parent
        cluster_dir = state / "kwok" / "clusters" / "huleedu"
        return cls(cluster_dir) if (cluster_dir / "pids").is_dir() else None

    def launches(self) -> dict[str, Launch]:
        """How kwokctl starts each component (its cluster config records it)."""
        import yaml

        docs = yaml.safe_load_all((self.cluster_dir / "kwok.yaml").read_text())
        config = next(d for d in docs if d and d.get("kind") == "KwokctlConfiguration")
        env = dict(os.environ)
        out = {}
        for component in config.get("components") or []:
            binary = component.get("binary") or component["command"][0]
            out[component["name"]] = Launch(
                [binary, *(component.get("args") or [])],
                env,
                component.get("workDir") or str(self.cluster_dir),
            )
        return out

    def pid(self, component: str) -> int | None:
        try:
            pid = int((self.cluster_dir / "pids" / f"{component}.pid").read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        if str(self.cluster_dir).encode() not in cmdline or not _alive(pid):
            return None
        return pid

    def stop(self, component: str) -> None:
        pid = self.pid(component)
        if pid is None:
            raise RuntimeError(f"{component} of {self.cluster_dir} is not running")
        self.stopped.add(component)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)

    def start(self, component: str) -> int:
        launch = self.launches()[component]
        log = self.cluster_dir / "logs" / f"{component}.log"
        with log.open("ab") as out, open(os.devnull, "rb") as devnull:
            proc = subprocess.Popen(
                launch.argv,
                env=launch.env,
                cwd=launch.cwd,
                stdin=devnull,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        (self.cluster_dir / "pids" / f"{component}.pid").write_text(str(proc.pid))
        self.stopped.discard(component)
        return proc.pid

    def restore(self) -> list[str]:
        """Start every component that is not running and not stopped on purpose."""
        started = []
        for component in self.launches():
            if component not in self.stopped and self.pid(component) is None:
                self.start(component)
                started.append(component)
        self.restarted += started
        return started

    @contextlib.contextmanager
    def supervise(self, interval: float = 1.0) -> Iterator[ControlPlane]:
        """Restart any component that exits (what the kubelet does for static pods)
        while the block runs, and once more when it ends."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                with contextlib.suppress(Exception):
                    self.restore()

        thread = threading.Thread(target=loop, daemon=True, name="control-plane supervisor")
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self.stopped.clear()
            self.restore()

    @contextlib.contextmanager
    def outage(
        self, component: str, ready: Callable[[], bool], timeout: float = 120
    ) -> Iterator[None]:
        """``component`` is down inside the block and running again after it, however
        the block ends (the cluster may be shared: it is restored in any case)."""
        self.stop(component)
        try:
            yield
        finally:
            self.start(component)
            deadline = time.monotonic() + timeout
            while not _ready(ready):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{component} did not come back within {timeout:.0f}s")
                time.sleep(0.5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (our own child, not yet reaped) is gone for every purpose here.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _ready(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except Exception:
        return False
