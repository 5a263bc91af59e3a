"""An idle operator sends no writes (the examples' resources; every case of the render
matrix: test_idle.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import yaml
from kubernetes import client

from huleedu_operator.controller.kinds import CHILD_KINDS
from support.operator import OperatorProcess, hes, ready


def _write_requests(kubectl: Callable[..., Any]) -> float:
    text = kubectl("get", "--raw", "/metrics").stdout
    resources = {"huleeduservices", "events", *(k.plural for k in CHILD_KINDS)}
    total = 0.0
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(
            part.split("=", 1) for part in line[line.index("{") + 1 : line.index("}")].split(",")
        )
        verb = labels.get("verb", "").strip('"')
        resource = labels.get("resource", "").strip('"')
        if verb in {"POST", "PUT", "PATCH", "DELETE", "APPLY", "CREATE", "UPDATE"} and (
            resource in resources
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_idle_operator_sends_no_writes(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    docs = [
        hes(
            f"idle-{i}",
            namespace,
            type="http" if i % 2 else "worker",
            image="example/i:1.0",
            **({"kafka": {"topics": ["t"]}} if i % 2 == 0 else {}),
        )
        for i in range(50)
    ]
    kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(docs))
    wait_until(
        lambda: all(ready(custom_objects, namespace, d["metadata"]["name"]) for d in docs),
        timeout=180,
        interval=2,
        message="50 resources never converged",
    )
    # Other tests' namespaces being torn down make the controllers write; wait them out
    # so the API server's own count is about this operator alone.
    wait_until(
        lambda: (
            not any(
                ns.status.phase == "Terminating"
                for ns in client.CoreV1Api(custom_objects.api_client).list_namespace().items
            )
        ),
        timeout=180,
        interval=2,
    )
    time.sleep(5)  # let trailing watch events settle
    writes = ("PATCH", "POST", "PUT", "DELETE")

    def operator_writes() -> float:
        return sum(
            operator.metric(f'huleedu_operator_api_requests_total{{verb="{v}"}}') for v in writes
        )

    before, own_before = _write_requests(kubectl), operator_writes()
    time.sleep(60)
    after, own_after = _write_requests(kubectl), operator_writes()
    print(
        f"idle writes in 60 s with 50 resources: operator {own_after - own_before:.0f}, "
        f"API server (all clients, managed kinds) {after - before:.0f}"
    )
    assert own_after - own_before == 0
    if os.environ.get("HULEEDU_EXCLUSIVE_CLUSTER") == "1":
        # Only meaningful when nothing else uses the cluster (.ci/run sets it).
        assert after - before == 0
