"""The one launcher of the operator as a local process (``huleedu-operator run``, the way
a user starts it) for the integration and fault tests (and ``bench/``), the ``operator``
fixture, and small helpers to declare HuleEduService resources.

The fixtures here need the integration fixtures ``kubectl``/``kubeconfig``/``wait_until``
(``tests/integration/conftest.py``), so only integration tests use them; the plugin is
registered for every tier by ``tests/conftest.py``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from .ground import REPO, kubeconfig_path
from .ports import free_port
from .workload import BOOTSTRAP

CRD = REPO / "crds" / "huleedu.io_huleeduservices.yaml"

# The namespaces of the Helm-installed in-cluster operator (the demo's and the e2e
# suite's; chart value watchNamespaces={huleedu,e2e-*}). Operators that share a cluster
# must serve disjoint namespaces: every operator the test suites start as a local
# process keeps out of these, unless a test names its own namespaces.
IN_CLUSTER_NAMESPACES = ("huleedu", "e2e-*")
# HULEEDU_OPERATOR_NAMESPACES for "every namespace but the in-cluster operator's".
OUTSIDE_IN_CLUSTER = ",".join(f"!{ns}" for ns in IN_CLUSTER_NAMESPACES)
WRITE_VERBS = ("PATCH", "POST", "PUT", "DELETE")


class OperatorProcess:
    """``huleedu-operator run`` as a subprocess, its output in ``log_path``.

    ``settings`` become ``HULEEDU_OPERATOR_<NAME>``; ``env`` is added as it is (full
    variable names). Without a ``namespaces`` setting it serves every namespace but
    :data:`IN_CLUSTER_NAMESPACES`. ``kubeconfig`` defaults to
    :func:`~support.ground.kubeconfig_path` (read at :meth:`start`). It starts at once
    unless ``start=False`` (then :meth:`start`, which can wait for liveness).
    ``module`` runs ``python -m <module>`` instead of the CLI (bench variants).
    """

    def __init__(
        self,
        kubeconfig: str | None,
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        module: str | None = None,
        start: bool = True,
        **settings: str,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.log_path = log_path
        self.extra_env = dict(env or {})
        self.settings = settings
        # ``-m <module>`` for a variant (bench/experiments); default: the real CLI.
        self.command = ["-m", module] if module else ["-m", "huleedu_operator.cli", "run"]
        self.proc: subprocess.Popen[bytes] | None = None
        self.metrics_port = self.liveness_port = 0
        if start:
            self.start(wait=False)

    def start(self, wait: bool = True) -> OperatorProcess:
        self.metrics_port, self.liveness_port = free_port(), free_port()
        env = {
            **os.environ,
            "KUBECONFIG": self.kubeconfig or kubeconfig_path(),
            "HULEEDU_OPERATOR_NAMESPACES": OUTSIDE_IN_CLUSTER,
            "HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP,
            "HULEEDU_OPERATOR_METRICS_PORT": str(self.metrics_port),
            "HULEEDU_OPERATOR_LIVENESS_PORT": str(self.liveness_port),
            "HULEEDU_OPERATOR_BIND_ADDRESS": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",  # tests read the log while it runs
            **{f"HULEEDU_OPERATOR_{k.upper()}": v for k, v in self.settings.items()},
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

    def running(self) -> bool:
        """The process has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def alive(self) -> bool:
        """The liveness endpoint answers; fails the test if the process exited."""
        assert self.running(), self.log_tail()
        url = f"http://127.0.0.1:{self.liveness_port}/healthz"
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return True
        except OSError:
            return False

    def wait_live(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"operator exited: {self.log_tail()}")
            if self.alive():
                return
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
        """The API requests the operator made, by HTTP verb."""
        prefix = 'huleedu_operator_api_requests_total{verb="'
        return {
            key[len(prefix) : -2]: value
            for key, value in self.metrics().items()
            if key.startswith(prefix)
        }

    def writes(self) -> float:
        by_verb = self.requests_by_verb()
        return sum(by_verb.get(v, 0.0) for v in WRITE_VERBS)

    def metric(self, name: str) -> float:
        """The sum of every sample whose ``name{labels}`` starts with ``name``."""
        return sum(value for key, value in self.metrics().items() if key.startswith(name))

    def kill9(self) -> None:
        if self.running():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if not self.running():
            return
        assert self.proc is not None
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


@pytest.fixture(scope="session")
def crd_installed(kubectl: Callable[..., Any]) -> None:
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
    kubectl(
        "wait", "--for=condition=Established", "crd/huleeduservices.huleedu.io", "--timeout=60s"
    )


@pytest.fixture(scope="module")
def operator(
    kubeconfig: str, crd_installed: None, tmp_path_factory: Any, wait_until: Callable[..., Any]
) -> Iterator[OperatorProcess]:
    """One operator for the test module, watching every namespace except the in-cluster
    operator's (:data:`IN_CLUSTER_NAMESPACES`)."""
    log_path = tmp_path_factory.mktemp("operator") / "operator.log"
    proc = OperatorProcess(kubeconfig, log_path)
    wait_until(proc.alive, timeout=60, message="operator liveness endpoint never answered")
    yield proc
    proc.stop()
    print(f"--- operator log tail ---\n{log_path.read_text()[-2000:]}")


def hes(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "huleedu.io/v1alpha1",
        "kind": "HuleEduService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def apply(kubectl: Callable[..., Any], obj: dict[str, Any], manager: str = "test") -> None:
    kubectl(
        "apply", "--server-side", f"--field-manager={manager}", "-f", "-", input=yaml.safe_dump(obj)
    )


def get_hes(custom_objects: client.CustomObjectsApi, ns: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = custom_objects.get_namespaced_custom_object(
        "huleedu.io", "v1alpha1", ns, "huleeduservices", name
    )
    return obj


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    for cond in obj.get("status", {}).get("conditions", []):
        if cond["type"] == type_:
            return dict(cond)
    return {}


def ready(custom_objects: client.CustomObjectsApi, ns: str, name: str) -> bool:
    obj = get_hes(custom_objects, ns, name)
    return (
        condition(obj, "Ready").get("status") == "True"
        and obj["status"].get("observedGeneration") == obj["metadata"]["generation"]
    )


def exists(fn: Callable[[], Any]) -> bool:
    try:
        fn()
        return True
    except client.ApiException as exc:
        if exc.status == 404:
            return False
        raise
