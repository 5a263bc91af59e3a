"""Fixtures for the cluster-agnostic end-to-end suite: ``KUBECONFIG`` is the only input.

The same tests run against the local control plane and against a kind cluster
(``scripts/e2e-kind.sh``). Which operator serves the cluster:

- ``HULEEDU_E2E_OPERATOR=cluster``: one is already running in the cluster (the kind
  path installs the chart); the CRD comes with it.
- ``HULEEDU_E2E_OPERATOR=local``: the tests apply the CRD and start
  ``huleedu-operator run`` as a local process for the session. Needed on the local
  control plane, whose pods are fake (kwok) and so cannot run the operator image.
- unset: ``local`` when KUBECONFIG is the local control plane's
  (``$HULEEDU_STATE_DIR/kubeconfig``), else ``cluster``.

Nothing here skips: without ``KUBECONFIG`` every test fails saying what to set.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


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
            "local control plane (with HULEEDU_E2E_OPERATOR=local), or run "
            "scripts/e2e-kind.sh",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="session")
def kubectl(kubeconfig: str) -> Callable[..., subprocess.CompletedProcess[str]]:
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _default_mode(kubeconfig: str) -> str:
    local = Path(os.environ.get("HULEEDU_STATE_DIR") or REPO / ".local") / "kubeconfig"
    return "local" if Path(kubeconfig).resolve() == local.resolve() else "cluster"


# Module scope, not session: a cluster-wide operator left running would reconcile (and
# fight over) the namespaces of every test module that runs after this one.
@pytest.fixture(scope="module")
def operator(
    kubeconfig: str, kubectl: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    mode = os.environ.get("HULEEDU_E2E_OPERATOR") or _default_mode(kubeconfig)
    if mode == "cluster":
        # The chart brings the CRD; fail early and clearly when no operator is installed.
        found = kubectl(
            "get",
            "deployments",
            "-A",
            "-l",
            "app.kubernetes.io/name=huleedu-operator",
            "-o",
            "name",
            check=False,
        )
        if not found.stdout.strip():
            pytest.fail(
                "no huleedu-operator Deployment in the cluster: install the chart, "
                "or set HULEEDU_E2E_OPERATOR=local",
                pytrace=False,
            )
        yield
        return
    if mode != "local":
        pytest.fail(f"HULEEDU_E2E_OPERATOR={mode!r}: use 'cluster' or 'local'", pytrace=False)
    kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        str(REPO / "crds" / "huleedu.io_huleeduservices.yaml"),
    )
    kubectl(
        "wait", "--for=condition=Established", "crd/huleeduservices.huleedu.io", "--timeout=60s"
    )
    log_path = tmp_path_factory.mktemp("operator") / "operator.log"
    liveness = _free_port()
    env = {
        **os.environ,
        "KUBECONFIG": kubeconfig,
        "HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS": os.environ.get(
            "HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS", "kafka.kafka.svc:9092"
        ),
        "HULEEDU_OPERATOR_METRICS_PORT": str(_free_port()),
        "HULEEDU_OPERATOR_LIVENESS_PORT": str(liveness),
        "HULEEDU_OPERATOR_BIND_ADDRESS": "127.0.0.1",
    }
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "huleedu-operator"), "run"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{liveness}/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail("the local operator never answered /healthz", pytrace=False)
                time.sleep(0.5)
        yield
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def namespace(kubectl: Callable[..., Any], request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)
