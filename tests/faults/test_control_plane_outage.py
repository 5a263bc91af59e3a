"""The control plane goes away under the operator and comes back: the operator recovers
without a restart, and changes it could not see while it was away are reconciled.

kube-apiserver is stopped (SIGTERM) and started again with its exact command line; while
it is down, resources are changed *in etcd* directly, the way a second API server of an
HA control plane would accept writes while this one is gone (so the operator's watch must
notice on reconnect, not by a fresh event it could have seen before). etcd is restarted
the same way while a rollout is applying.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bench import workload
from bench.controlplane import ControlPlane
from bench.kube import Kube
from fleet import SIZES, apply_fleet, apply_patiently, child_problems, hes_tracker, images


@pytest.fixture
def control_plane(record: Callable[..., None]) -> Iterator[ControlPlane]:
    plane = ControlPlane.local()
    if plane is None:
        pytest.skip("the control plane is not the local one (scripts/local-cluster.sh)")
    with plane.supervise():
        yield plane


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


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


OUTAGE = {"reduced": (20, 10.0), "full": (60, 30.0)}  # resources, seconds down


@pytest.mark.parametrize("size", SIZES)
def test_operator_recovers_from_a_kube_apiserver_outage_without_restarting(
    size: str,
    kube: Kube,
    control_plane: ControlPlane,
    fault_namespace: Callable[[str], str],
    operators: Callable[..., Any],
    record: Callable[..., None],
) -> None:
    n, down = OUTAGE[size]
    ns = fault_namespace("apiserver")
    operator = operators([ns])
    docs = workload.resources(ns, n)
    with hes_tracker(kube, ns) as tracker:
        apply_fleet(kube, docs)
        tracker.wait_ok([d["metadata"]["name"] for d in docs], 120 + n)
    pid = operator.pid
    etcd = Etcd(control_plane)
    third = n // 3
    before, during = docs[:third], docs[third : 2 * third]
    new_image = "example/bench:2.0"

    # Changed just before the outage: the operator may or may not have seen these.
    apply_fleet(kube, [workload.resource(ns, i, new_image) for i in range(third)])
    with control_plane.outage("kube-apiserver", api_ready(kube)):
        stopped = time.monotonic()
        for doc in during:  # changed while no API server could tell the operator
            key = etcd.key(ns, doc["metadata"]["name"])
            stored = etcd.get(key)
            stored["spec"]["image"] = new_image
            stored["metadata"]["generation"] = stored["metadata"]["generation"] + 1
            etcd.put(key, stored)
        time.sleep(max(0.0, down - (time.monotonic() - stopped)))
    back = time.monotonic()
    changed = {d["metadata"]["name"] for d in before + during}

    with hes_tracker(kube, ns, generation=2) as tracker:
        tracker.wait_ok(changed, 180)
        recovered = max(tracker.first_ok[x] for x in changed) - back
    assert operator.alive(), "the operator exited"
    assert operator.pid == pid, "the operator restarted"
    deployed = images(kube, ns)
    assert {deployed[x] for x in changed} == {new_image}
    assert child_problems(kube, ns, workload.resources(ns, n)) == []
    record(resources=n, down_seconds=down, changed=len(changed), reconciled_after_s=recovered)


ETCD = {"reduced": (40, 5.0), "full": (200, 15.0)}


@pytest.mark.parametrize("size", SIZES)
def test_operator_rides_out_an_etcd_restart_under_load(
    size: str,
    kube: Kube,
    control_plane: ControlPlane,
    fault_namespace: Callable[[str], str],
    operators: Callable[..., Any],
    record: Callable[..., None],
) -> None:
    n, down = ETCD[size]
    ns = fault_namespace("etcd")
    operator = operators([ns])
    pid = operator.pid
    docs = workload.resources(ns, n)
    with hes_tracker(kube, ns) as tracker:
        applier = threading.Thread(target=apply_fleet, args=(kube, docs))
        applier.start()
        time.sleep(2)  # a rollout in flight
        ready_at_stop = len(tracker.ok_now)
        with control_plane.outage("etcd", api_ready(kube)):
            time.sleep(down)
        back = time.monotonic()
        # Changed right after: the API server's watch cache is being rebuilt.
        late = workload.resource(ns, n, name="after-etcd")
        apply_patiently(kube, late)
        applier.join()
        names = [d["metadata"]["name"] for d in [*docs, late]]
        tracker.wait_ok(names, 240 + n)
        recovered = max(tracker.first_ok[x] for x in names) - back
    assert operator.alive(), "the operator exited"
    assert operator.pid == pid, "the operator restarted"
    assert child_problems(kube, ns, [*docs, late]) == []
    record(
        resources=n + 1,
        down_seconds=down,
        ready_at_stop=ready_at_stop,
        all_ready_after_restart_s=round(recovered, 1),
    )
