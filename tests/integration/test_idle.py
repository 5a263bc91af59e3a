"""An idle operator sends no writes, for every valid case of the render matrix
(tests/cases/valid_resources.py), not only the examples: any rendered field the server
stores in another spelling (a quantity ``cpu: 1`` stored as ``"1"``, ``0.5Gi`` as
``512Mi``) would otherwise be seen as drift on every reconcile and applied again.

The cases are rendered with the capabilities the cluster has, so the stand-in
Prometheus Operator and KEDA CRDs are installed for the test (and removed again if they
were not there): the cases that need them are covered, and the others only gain their
ServiceMonitor/PodMonitor.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from cases.valid_resources import VALID_CASES
from support.operator import OperatorProcess, get_hes

REPO = Path(__file__).resolve().parents[2]
STANDIN = sorted((REPO / "tests" / "fixtures" / "crds").glob("*.yaml"))
WRITES = ("PATCH", "POST", "PUT", "DELETE")


@pytest.fixture
def capability_crds(
    kubectl: Callable[..., Any], apiextensions_v1: client.ApiextensionsV1Api
) -> Iterator[None]:
    names = [yaml.safe_load(p.read_text())["metadata"]["name"] for p in STANDIN]
    present = {c.metadata.name for c in apiextensions_v1.list_custom_resource_definition().items}
    missing = [p for p, n in zip(STANDIN, names, strict=True) if n not in present]
    for path in missing:
        kubectl("apply", "--server-side", "-f", str(path))
    for name in names:
        kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
    yield
    for path in missing:
        kubectl("delete", "-f", str(path), "--ignore-not-found", "--wait=true")


def case_name(case_id: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", case_id.lower()).strip("-")[:50].strip("-")


def test_every_valid_case_goes_idle_after_converging(
    capability_crds: None,
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    docs = []
    for case in VALID_CASES:
        doc = {**case.document, "metadata": {"name": case_name(case.id), "namespace": namespace}}
        docs.append(doc)
    assert len({d["metadata"]["name"] for d in docs}) == len(docs), "case names collide"
    kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(docs))

    def observed(name: str) -> bool:
        obj = get_hes(custom_objects, namespace, name)
        return bool(
            (obj.get("status") or {}).get("observedGeneration") == obj["metadata"]["generation"]
        )

    wait_until(
        lambda: all(observed(d["metadata"]["name"]) for d in docs),
        timeout=180,
        interval=2,
        message="every case to be reconciled",
    )

    def writes() -> float:
        return sum(
            operator.metric(f'huleedu_operator_api_requests_total{{verb="{v}"}}') for v in WRITES
        )

    # Converged: status pacing and pods starting may still cause a few writes; wait
    # until a 10 s window has none, then measure.
    deadline = time.monotonic() + 120
    last = writes()
    while time.monotonic() < deadline:
        time.sleep(10)
        now = writes()
        if now == last:
            break
        last = now
    drift_before = operator.metric("huleedu_operator_drift_corrections_total")
    before = writes()
    time.sleep(30)
    idle = writes() - before
    drift = operator.metric("huleedu_operator_drift_corrections_total") - drift_before
    print(f"{len(docs)} cases: {idle:.0f} writes and {drift:.0f} drift corrections in 30 s idle")
    assert idle == 0
    assert drift == 0
