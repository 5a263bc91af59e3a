"""Fixtures for the fault-injection tests: the operator as a subprocess, namespaces that
are emptied and deleted afterwards, and the cluster harness shared with ``bench/``
(``tests/support``).

Every test comes in two sizes: ``reduced`` runs in the default ``make test`` (CI), and
``full`` carries the ``slow`` marker (``make faults``). Tests that stop kube-apiserver or
etcd need the local control plane (``scripts/local-cluster.sh``); on any other cluster
they are skipped, since its control plane is not ours to stop.

Results a human reads (restore p99, takeover time) are printed and also recorded in
``bench/results/faults.json`` by test id.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.controlplane import ControlPlane
from support.ground import REPO
from support.kube import Kube, kubeconfig_path
from support.operator import IN_CLUSTER_NAMESPACES, OperatorProcess

RESULTS = REPO / "bench" / "results" / "faults.json"
_results_lock = threading.Lock()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def kube() -> Kube:
    """``$KUBECONFIG``, else the local control plane's kubeconfig; never skips."""
    path = kubeconfig_path()
    if not Path(path).is_file():
        pytest.fail(
            f"No kubeconfig at {path}: start the local control plane with `make cluster-up` "
            "or point KUBECONFIG at a cluster you own.",
            pytrace=False,
        )
    os.environ["KUBECONFIG"] = path  # the operator subprocesses inherit it
    client = Kube(pool_size=64)
    try:
        client.request("GET", "/version", timeout=10)
    except Exception as exc:
        pytest.fail(f"The API server behind {path} is not reachable: {exc}", pytrace=False)
    client.ensure_crd()
    return client


@pytest.fixture
def fault_namespace(kube: Kube, request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    created: list[str] = []

    def make(prefix: str) -> str:
        name = kube.create_namespace(f"fault-{prefix}-{uuid.uuid4().hex[:5]}")
        created.append(name)
        return name

    yield make
    if created:
        kube.delete_namespaces(created)


@pytest.fixture
def operators(tmp_path: Path) -> Iterator[Callable[..., OperatorProcess]]:
    """``start(namespaces, **env)``: an operator subprocess, stopped after the test (its
    log tail printed, so a failure shows what the operator saw). An empty ``namespaces``
    serves every namespace but the in-cluster operator's, never the whole cluster."""
    started: list[OperatorProcess] = []

    def start(
        namespaces: list[str], env: dict[str, str] | None = None, name: str = "op"
    ) -> OperatorProcess:
        served = namespaces or [f"!{ns}" for ns in IN_CLUSTER_NAMESPACES]
        log_path = tmp_path / f"{name}-{len(started)}.log"
        proc = OperatorProcess(None, log_path, env=env, start=False, namespaces=",".join(served))
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        proc.stop()
    for proc in started[-2:]:
        print(f"--- {proc.log_path.name} tail ---\n{proc.log_tail(1500)}")


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``record(**numbers)``: print and keep them in bench/results/faults.json."""

    def save(**values: Any) -> None:
        print(f"{request.node.nodeid}: {json.dumps(values)}")
        with _results_lock:
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
            data[request.node.name] = values
            RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

    return save


@pytest.fixture
def control_plane() -> Iterator[ControlPlane]:
    """The local control plane, its components restarted if they exit; tests that stop
    kube-apiserver or etcd are skipped on any other cluster (not ours to stop)."""
    plane = ControlPlane.local()
    if plane is None:
        pytest.skip("the control plane is not the local one (scripts/local-cluster.sh)")
    with plane.supervise():
        yield plane
