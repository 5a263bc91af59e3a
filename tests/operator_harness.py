"""Run the operator the way a user does (`huleedu-operator run` as a subprocess) for
integration tests, and small helpers to declare HuleEduService resources."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

REPO = Path(__file__).resolve().parents[1]
CRD = REPO / "crds" / "huleedu.io_huleeduservices.yaml"

# The namespaces of the Helm-installed in-cluster operator (the demo's and the e2e
# suite's; chart value watchNamespaces={huleedu,e2e-*}). Operators that share a cluster
# must serve disjoint namespaces: every operator the test suites start as a local
# process keeps out of these, unless a test names its own namespaces.
IN_CLUSTER_NAMESPACES = ("huleedu", "e2e-*")
# HULEEDU_OPERATOR_NAMESPACES for "every namespace but the in-cluster operator's".
OUTSIDE_IN_CLUSTER = ",".join(f"!{ns}" for ns in IN_CLUSTER_NAMESPACES)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OperatorProcess:
    """``huleedu-operator run``; ``settings`` become ``HULEEDU_OPERATOR_<NAME>``. Without
    ``namespaces`` it serves every namespace but :data:`IN_CLUSTER_NAMESPACES`."""

    def __init__(self, kubeconfig: str, log_path: Path, **settings: str) -> None:
        self.metrics_port, self.liveness_port = free_port(), free_port()
        env = {
            **os.environ,
            "KUBECONFIG": kubeconfig,
            "HULEEDU_OPERATOR_NAMESPACES": OUTSIDE_IN_CLUSTER,
            "HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS": "kafka.huleedu.svc:9092",
            "HULEEDU_OPERATOR_METRICS_PORT": str(self.metrics_port),
            "HULEEDU_OPERATOR_LIVENESS_PORT": str(self.liveness_port),
            "HULEEDU_OPERATOR_BIND_ADDRESS": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",  # tests read the log while it runs
            **{f"HULEEDU_OPERATOR_{k.upper()}": v for k, v in settings.items()},
        }
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "huleedu_operator.cli", "run"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def metric(self, name: str) -> float:
        text = (
            urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5)
            .read()
            .decode()
        )
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def alive(self) -> bool:
        assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
        url = f"http://127.0.0.1:{self.liveness_port}/healthz"
        try:
            urllib.request.urlopen(url, timeout=2)
            return True
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


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
