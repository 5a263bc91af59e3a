"""A fleet of HuleEduService resources for the fault tests: apply with retries (the API
server may be away on purpose), wait until Ready, and check the children by label
against the names the renderer says must exist, no more and no fewer."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from huleedu_operator.controller.kinds import CHILD_KINDS
from huleedu_runtime import contract
from support import workload
from support.controlplane import ControlPlane
from support.kube import MANAGED_SELECTOR, Kube, Tracker, collection, hes_ready

Body = dict[str, Any]
# Every fault test runs in two sizes: reduced in `make test`, full in `make faults`.
SIZES = [
    pytest.param("reduced", id="reduced"),
    pytest.param("full", id="full", marks=[pytest.mark.slow, pytest.mark.timeout(3600)]),
]
# The child kinds every cluster serves, from the operator's registry: all of them are
# checked, so a stray child of any of them is found.
CHECKED_KINDS = tuple(kind.kind for kind in CHILD_KINDS if kind.capability is None)


def apply_patiently(kube: Kube, obj: Body, timeout: float = 180) -> Body:
    """Server-side apply, retried while the control plane is (deliberately) unavailable."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return kube.apply(obj)
        except ApiException as exc:
            if exc.status not in (0, 429, 500, 502, 503, 504) or time.monotonic() > deadline:
                raise
        except Exception:  # connection refused/reset, timeouts
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def apply_fleet(kube: Kube, docs: list[Body], concurrency: int = 16) -> None:
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in pool.map(lambda d: apply_patiently(kube, d), docs):
            pass


def at_generation(generation: int) -> Callable[[Body], bool]:
    def ready(obj: Body) -> bool:
        return hes_ready(obj) and int(obj["metadata"].get("generation", 0)) >= generation

    return ready


def hes_tracker(kube: Kube, ns: str, generation: int = 1) -> Tracker:
    return Tracker(kube, collection("HuleEduService", ns), at_generation(generation))


def child_problems(kube: Kube, ns: str, docs: list[Body]) -> list[str]:
    """Every expected child exists once, owned (as controller) by its current resource;
    nothing else carries the operator's label. Empty when all is well."""
    problems = []
    expected = workload.expected_children(docs)
    owners = {
        item["metadata"]["name"]: item["metadata"]["uid"]
        for item in kube.request("GET", collection("HuleEduService", ns))["items"]
    }
    for kind in CHECKED_KINDS:
        items = kube.request(
            "GET", collection(kind, ns), query=[("labelSelector", MANAGED_SELECTOR)]
        )["items"]
        names = [i["metadata"]["name"] for i in items]
        want = expected.get(kind, set())
        if missing := sorted(want - set(names)):
            problems.append(f"{kind}: missing {missing[:10]} ({len(missing)})")
        if orphans := sorted(set(names) - want):
            problems.append(f"{kind}: not wanted {orphans[:10]} ({len(orphans)})")
        if len(names) != len(set(names)):
            problems.append(f"{kind}: duplicate names")
        for item in items:
            refs = [r for r in item["metadata"].get("ownerReferences") or [] if r.get("controller")]
            owner = item["metadata"]["labels"].get(contract.LABEL_SERVICE, "")
            if [r["uid"] for r in refs] != [owners.get(owner)]:
                problems.append(f"{kind}/{item['metadata']['name']}: controller refs {refs}")
    return problems


def images(kube: Kube, ns: str) -> dict[str, str]:
    items = kube.request(
        "GET", collection("Deployment", ns), query=[("labelSelector", MANAGED_SELECTOR)]
    )["items"]
    return {
        i["metadata"]["name"]: i["spec"]["template"]["spec"]["containers"][0]["image"]
        for i in items
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def api_ready(kube: Kube) -> Callable[[], bool]:
    return kube.ready


class Etcd:
    """etcd's JSON gateway (v3 API over HTTP) on the client URL kube-apiserver uses."""

    def __init__(self, plane: ControlPlane) -> None:
        argv = Path(f"/proc/{plane.pid('kube-apiserver')}/cmdline").read_text().split("\0")
        flags = dict(a.split("=", 1) for a in argv if a.startswith("--") and "=" in a)
        self.url = flags["--etcd-servers"].split(",")[0]
        self.prefix = flags.get("--etcd-prefix", "/registry")

    def _call(self, op: str, body: dict[str, str]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 (http: etcd's own client URL)
            f"{self.url}/v3/kv/{op}", json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            result: dict[str, Any] = json.loads(response.read())
            return result

    def key(self, namespace: str, name: str) -> str:
        return f"{self.prefix}/huleedu.io/huleeduservices/{namespace}/{name}"

    def get(self, key: str) -> dict[str, Any]:
        kvs = self._call("range", {"key": _b64(key)})["kvs"]
        stored: dict[str, Any] = json.loads(base64.b64decode(kvs[0]["value"]))
        return stored

    def put(self, key: str, obj: dict[str, Any]) -> None:
        self._call("put", {"key": _b64(key), "value": _b64(json.dumps(obj))})

    def delete(self, key: str) -> int:
        """Delete ``key`` behind the API server's back; returns how many were deleted."""
        return int(self._call("deleterange", {"key": _b64(key)}).get("deleted", 0))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
