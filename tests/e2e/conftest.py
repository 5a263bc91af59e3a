"""Fixtures for the end-to-end suite: real containers, the in-cluster operator.

``KUBECONFIG`` picks the cluster:

- the local ground's kubeconfig (``$HULEEDU_STATE_DIR/kubeconfig``, what ``make test``
  sets): pods run as real containers on the ground's real node
  (``scripts/local-cluster.sh``). The session installs the operator with Helm from the
  image built here from the Dockerfile (``scripts/operator-install.sh``: it reuses the
  release ``make demo`` installed), and every test namespace is steered onto the real
  node by namespace annotations, under the enforced ``restricted`` Pod Security
  Standard. Without the real node every test fails and says why.
- any other cluster (kind, through ``scripts/e2e-kind.sh``): the chart must already be
  installed there.

The suite talks to Services from inside the cluster, through a client pod
(:class:`ClientPod`), so the path under test is pod -> ClusterIP -> kube-proxy -> pod,
the way the services call each other. Kafka is checked from this process with aiokafka
(``KAFKA_BOOTSTRAP_SERVERS``); pods reach the same broker on the node address.
Nothing here skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.ground import REPO, ground, is_local_ground

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
CLIENT_SCRIPT = Path(__file__).with_name("client_script.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    value = os.environ.get("KUBECONFIG", "").strip()
    if not value:
        pytest.fail(
            "tests/e2e needs KUBECONFIG: `source <(scripts/local-cluster.sh env)` for the "
            "local ground (make test does it), or run scripts/e2e-kind.sh",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="session")
def kubectl(kubeconfig: str) -> Kubectl:
    venv_kubectl = Path(sys.executable).parent / "kubectl"
    exe = str(venv_kubectl) if venv_kubectl.exists() else "kubectl"

    def run(
        *args: str, check: bool = True, input: str | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [exe, *args],
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
            check=False,
            env={**os.environ, "KUBECONFIG": kubeconfig},
        )
        if check and proc.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}", pytrace=False)
        return proc

    return run


@dataclass(frozen=True)
class Ground:
    local: bool
    real_node: str | None
    kafka_bootstrap: str
    """Where this test process reaches the broker."""


@pytest.fixture(scope="session")
def real_ground(kubeconfig: str, kubectl: Kubectl) -> Ground:
    local = is_local_ground(kubeconfig)
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if not kafka:
        pytest.fail(
            "KAFKA_BOOTSTRAP_SERVERS is not set: `source <(scripts/kafka-local.sh env)` "
            "(make test does it)",
            pytrace=False,
        )
    if not local:
        return Ground(local=False, real_node=None, kafka_bootstrap=kafka)
    node = ground()["GROUND_REAL_NODE"]
    found = kubectl(
        "get",
        "node",
        node,
        "-o",
        "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
        check=False,
    )
    if found.returncode != 0 or found.stdout.strip() != "True":
        status = subprocess.run(
            [str(REPO / "scripts" / "local-cluster.sh"), "status"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        pytest.fail(
            f"the local ground has no Ready real node {node}: tests/e2e needs real "
            f"containers (scripts/local-cluster.sh up adds it when the host allows; "
            f"HULEEDU_REAL_NODE=0 turns it off).\n{status}",
            pytrace=False,
        )
    return Ground(local=True, real_node=node, kafka_bootstrap=kafka)


@pytest.fixture(scope="session")
def operator(real_ground: Ground, kubectl: Kubectl) -> None:
    """The chart's operator, running as a pod. On the local ground it is installed (or
    reused) from the image built here; elsewhere it must already be installed."""
    if real_ground.local:
        proc = subprocess.run(
            [str(REPO / "scripts" / "operator-install.sh")],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"scripts/operator-install.sh failed:\n{proc.stderr[-4000:]}", pytrace=False
            )
    found = kubectl(
        "get", "deployments", "-A", "-l", "app.kubernetes.io/name=huleedu-operator", "-o", "name"
    )
    if not found.stdout.strip():
        pytest.fail(
            "no huleedu-operator Deployment in the cluster: install the chart", pytrace=False
        )


@pytest.fixture
def namespace(kubectl: Kubectl, real_ground: Ground) -> Iterator[str]:
    """A fresh ``e2e-*`` namespace (the in-cluster operator watches that pattern) whose
    pods run on the real node under the enforced restricted Pod Security Standard."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    if real_ground.local:
        subprocess.run(
            [str(REPO / "scripts" / "local-cluster.sh"), "real-namespace", name],
            check=True,
            capture_output=True,
            timeout=60,
        )
    else:
        kubectl("create", "namespace", name)
        kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted")
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


# --- helpers the tests share ---------------------------------------------------------


RESULTS = REPO / "bench" / "results" / "e2e.json"


def record(name: str, **figures: Any) -> None:
    """Print a test's figures and keep them in bench/results/e2e.json (the README's
    rollout figures come from that file)."""
    print(f"{name}: {json.dumps(figures)}")
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[name] = figures
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def load_example(filename: str, namespace: str, **spec: Any) -> dict[str, Any]:
    resource: dict[str, Any] = yaml.safe_load((REPO / "examples" / filename).read_text())
    resource["metadata"]["namespace"] = namespace
    resource["spec"].update(spec)
    return resource


def apply(kubectl: Kubectl, resource: dict[str, Any], manager: str = "e2e") -> None:
    kubectl(
        "apply",
        "--server-side",
        f"--field-manager={manager}",
        "-f",
        "-",
        input=yaml.safe_dump(resource),
    )


def get(kubectl: Kubectl, namespace: str, *what: str) -> dict[str, Any]:
    out = kubectl("get", *what, "-n", namespace, "-o", "json").stdout
    result: dict[str, Any] = json.loads(out)
    return result


def conditions(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in resource.get("status", {}).get("conditions", [])}


def wait_ready(kubectl: Kubectl, namespace: str, name: str, timeout: float = 240) -> None:
    proc = kubectl(
        "wait",
        f"huleeduservices/{name}",
        "-n",
        namespace,
        "--for=condition=Ready",
        f"--timeout={int(timeout)}s",
        check=False,
        timeout=timeout + 30,
    )
    if proc.returncode != 0:
        status = get(kubectl, namespace, f"huleeduservices/{name}").get("status", {})
        pods = kubectl("get", "pods", "-n", namespace, "-o", "wide", check=False).stdout
        operator_log = kubectl(
            "logs",
            "-n",
            "huleedu-system",
            "-l",
            "app.kubernetes.io/name=huleedu-operator",
            "--tail=40",
            check=False,
        ).stdout
        pytest.fail(
            f"{name} not Ready after {timeout:.0f}s; status: {json.dumps(status)}\n{pods}\n"
            f"--- the operator's last log lines ---\n{operator_log}",
            pytrace=False,
        )


def wait_for(predicate: Callable[[], Any], timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s: {message}", pytrace=False)
        time.sleep(1)


def pods_of(kubectl: Kubectl, namespace: str, service: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get(
        kubectl, namespace, "pods", "-l", f"huleedu.io/service={service}"
    )["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


class ClientPod:
    """A pod of the runtime image that runs ``client_script.py`` commands, so requests
    take the in-cluster path (pod -> Service ClusterIP -> kube-proxy -> pod)."""

    def __init__(self, kubectl: Kubectl, namespace: str) -> None:
        self.kubectl = kubectl
        self.namespace = namespace

    def run(self, *args: str, timeout: float = 120) -> Any:
        proc = self.kubectl(
            "exec",
            "-i",
            "-n",
            self.namespace,
            "e2e-client",
            "--",
            "python3",
            "-",
            *args,
            input=CLIENT_SCRIPT.read_text(),
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            pytest.fail(f"client {' '.join(args)} failed: {proc.stderr[-2000:]}", pytrace=False)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Run in the background; :meth:`result` collects the JSON it prints."""
        venv_kubectl = Path(sys.executable).parent / "kubectl"
        proc = subprocess.Popen(
            [
                *(str(venv_kubectl), "exec", "-i", "-n", self.namespace, "e2e-client", "--"),
                *("python3", "-", *args),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None
        proc.stdin.write(CLIENT_SCRIPT.read_text())
        proc.stdin.close()
        proc.stdin = None  # written and closed: communicate() must not flush it again
        return proc

    @staticmethod
    def result(proc: subprocess.Popen[str], timeout: float = 180) -> Any:
        out, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            pytest.fail(f"client failed: {err[-2000:]}", pytrace=False)
        return json.loads(out.strip().splitlines()[-1])


RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@pytest.fixture
def client(kubectl: Kubectl, namespace: str, operator: None) -> ClientPod:
    image = runtime_image(kubectl)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "e2e-client", "namespace": namespace},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "client",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python3", "-c", "import time; time.sleep(10**9)"],
                    "securityContext": RESTRICTED_CONTAINER,
                }
            ],
        },
    }
    kubectl("apply", "-f", "-", input=yaml.safe_dump(pod))
    kubectl("wait", "-n", namespace, "pod/e2e-client", "--for=condition=Ready", "--timeout=120s")
    return ClientPod(kubectl, namespace)


def runtime_image(kubectl: Kubectl) -> str:
    """The runtime image the in-cluster operator defaults to (the chart's appVersion)."""
    chart = yaml.safe_load((REPO / "charts" / "huleedu-operator" / "Chart.yaml").read_text())
    return f"ghcr.io/huleedu/huleedu-runtime:{chart['appVersion']}"
