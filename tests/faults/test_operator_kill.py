"""kill -9 the operator at random moments during a rollout, restarting it each time:
every resource converges, and the children are exactly the expected ones (names are
deterministic, so a duplicate would show as an unwanted name or a second owner)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fleet import SIZES, apply_fleet, child_problems, hes_tracker, images

from support import workload
from support.kube import Kube

PLAN = {  # resources, kills while creating, kills while updating, seconds between kills
    "reduced": (50, 1, 1, (0.5, 4.0)),
    "full": (500, 3, 2, (3.0, 20.0)),
}


@pytest.mark.parametrize("size", SIZES)
def test_operator_killed_during_a_rollout_converges_without_duplicate_or_orphaned_children(
    size: str,
    kube: Kube,
    fault_namespace: Callable[[str], str],
    operators: Callable[..., Any],
    record: Callable[..., None],
) -> None:
    n, creation_kills, update_kills, pause = PLAN[size]
    seed = int(time.time())
    rng = random.Random(seed)
    ns = fault_namespace("kill")
    operator = operators([ns])
    kills: list[dict[str, Any]] = []

    def rollout(docs: list[dict[str, Any]], generation: int, how_many: int) -> float:
        started = time.monotonic()
        with hes_tracker(kube, ns, generation) as tracker:
            applier = threading.Thread(target=apply_fleet, args=(kube, docs))
            applier.start()
            for _ in range(how_many):
                time.sleep(rng.uniform(*pause))
                ready = len(tracker.ok_now)
                operator.kill9()
                kills.append({"generation": generation, "ready_at_kill": ready, "of": n})
                operator.start()
            applier.join()
            tracker.wait_ok([d["metadata"]["name"] for d in docs], 120 + n)
        return time.monotonic() - started

    created = rollout(workload.resources(ns, n), 1, creation_kills)
    updated = rollout(workload.resources(ns, n, image="example/bench:2.0"), 2, update_kills)
    docs = workload.resources(ns, n, image="example/bench:2.0")

    assert child_problems(kube, ns, docs) == []
    assert set(images(kube, ns).values()) == {"example/bench:2.0"}
    assert any(k["ready_at_kill"] < n for k in kills), f"no kill landed mid-rollout: {kills}"
    record(
        resources=n,
        seed=seed,
        kills=kills,
        create_seconds=round(created, 1),
        update_seconds=round(updated, 1),
    )
