"""An operator serving a namespace pattern keeps every matching namespace's view live,
however many there are.

The defect this pins (it failed the e2e suite's tenth namespace): the operator's own
list/watch loops shared one HTTP connection pool of 100, and each namespace holds ten
long-lived watches of its children. From the eleventh namespace on, the new watches
waited for a free connection forever, the reconciler gave up waiting for the view
after its patience, created the children, and never heard of them again: the resource
sat at "0/1 replicas available" while its pods ran.

And the leak that filled the pool in the e2e suite: kopf stops a namespace's watch of
HuleEduServices when the namespace goes, racing their DELETED events, so a deleted
namespace's children stayed watched until the next resync (five of seven here). The
operator now watches the namespaces and lets go of one once it is terminating.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from support.operator import OperatorProcess, apply, get_hes, hes, ready

# More namespaces than one pool of 100 connections has room for (10 watches each).
NAMESPACES = 14


@pytest.fixture
def many_namespaces(namespace_factory: Callable[..., str]) -> list[str]:
    """NAMESPACES new namespaces whose names share a prefix no other test uses."""
    prefix = f"many-{uuid.uuid4().hex[:6]}"
    return [namespace_factory(prefix) for _ in range(NAMESPACES)]


def test_every_namespace_of_a_pattern_reports_its_pods(
    many_namespaces: list[str],
    crd_installed: None,
    kubeconfig: str,
    kubectl: Callable[..., Any],
    custom_objects: client.CustomObjectsApi,
    tmp_path: Path,
) -> None:
    pattern = many_namespaces[0].rsplit("-", 1)[0] + "-*"  # <prefix>-<random>
    log_path = tmp_path / "operator.log"
    with OperatorProcess(kubeconfig, log_path, namespaces=pattern, start=False) as operator:
        for namespace in many_namespaces:
            apply(kubectl, hes("web", namespace, type="http", image="example/web:1.0"))

        def not_ready() -> list[str]:
            return [ns for ns in many_namespaces if not ready(custom_objects, ns, "web")]

        deadline = time.monotonic() + 180
        while not_ready() and time.monotonic() < deadline:
            time.sleep(1)
        assert not not_ready(), f"not Ready: {not_ready()}\n{operator.log_tail()}"
        last = get_hes(custom_objects, many_namespaces[-1], "web")
        assert last["status"]["readyReplicas"] == 1, last["status"]
        # Ten loops of the children and eight of foreign names per namespace, and one
        # of the namespaces themselves (pattern mode: controller/terminating.py).
        deployments = 'huleedu_operator_watches{feed="deployments"}'
        assert operator.metrics()[deployments] == NAMESPACES
        assert "view_not_synced" not in operator.log_tail(10**6)

        # A namespace whose last resource is gone is no longer watched, whether the
        # resource or its whole namespace was deleted: nothing leaks.
        half = NAMESPACES // 2
        for namespace in many_namespaces[:half]:
            kubectl("delete", "huleeduservices", "web", "-n", namespace, "--wait=false")
        for namespace in many_namespaces[half:]:
            kubectl("delete", "namespace", namespace, "--wait=false")

        def watched() -> dict[str, float]:
            """The loops still running per collection, but the namespaces' own one."""
            return {
                key: value
                for key, value in operator.metrics().items()
                if key.startswith("huleedu_operator_watches{")
                and value
                and key != 'huleedu_operator_watches{feed="namespaces"}'
            }

        deadline = time.monotonic() + 60
        while watched() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert watched() == {}
        assert operator.metrics()['huleedu_operator_watches{feed="namespaces"}'] == 1
