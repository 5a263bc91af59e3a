"""The control plane goes away under the operator and comes back: the operator recovers
without a restart, and changes it could not see while it was away are reconciled.

kube-apiserver is stopped (SIGTERM) and started again with its exact command line; while
it is down, resources are changed *in etcd* directly, the way a second API server of an
HA control plane would accept writes while this one is gone (so the operator's watch must
notice on reconnect, not by a fresh event it could have seen before). etcd is restarted
the same way while a rollout is applying.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fleet import (
    SIZES,
    Etcd,
    api_ready,
    apply_fleet,
    apply_patiently,
    child_problems,
    hes_tracker,
    images,
)

from support import workload
from support.controlplane import ControlPlane
from support.kube import Kube

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
    assert operator.running(), "the operator exited"
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
    assert operator.running(), "the operator exited"
    assert operator.pid == pid, "the operator restarted"
    assert child_problems(kube, ns, [*docs, late]) == []
    record(
        resources=n + 1,
        down_seconds=down,
        ready_at_stop=ready_at_stop,
        all_ready_after_restart_s=round(recovered, 1),
    )
