"""The operator's cache of parents: trimmed, copied out, status recorded."""

from __future__ import annotations

from typing import Any

import pytest

from huleedu_operator.controller.cache import Cache

pytestmark = pytest.mark.unit
KEY = ("team-a", "svc")


def parent(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "huleedu.io/v1alpha1",
        "kind": "HuleEduService",
        "metadata": {
            "name": "svc",
            "namespace": "team-a",
            "uid": "u-1",
            "generation": 2,
            "resourceVersion": "10",
            "annotations": {
                "huleedu.io/adopt-orphans": "true",
                "kubectl.kubernetes.io/last-applied-configuration": "{...}",
            },
            "managedFields": [{"manager": "kubectl"}],
        },
        "spec": {"type": "http", "image": "example/a:1.0"},
        "status": status,
    }


def test_a_parent_is_kept_without_managed_fields_or_last_applied() -> None:
    cache = Cache()
    assert cache.put_parent(KEY, parent()) is None
    kept = cache.parent(KEY)
    assert kept is not None
    assert "managedFields" not in kept["metadata"]
    assert kept["metadata"]["annotations"] == {"huleedu.io/adopt-orphans": "true"}
    assert kept["metadata"]["resourceVersion"] == "10"
    assert kept["spec"] == {"type": "http", "image": "example/a:1.0"}
    assert KEY in cache
    assert len(cache) == 1
    assert cache.parent_keys() == [KEY]


def test_the_parent_handed_out_is_a_copy() -> None:
    cache = Cache()
    cache.put_parent(KEY, parent())
    first = cache.parent(KEY)
    assert first is not None
    first["spec"]["image"] = "changed"
    assert (cache.parent(KEY) or {})["spec"]["image"] == "example/a:1.0"


def test_our_status_write_is_recorded_and_the_previous_state_returned() -> None:
    cache = Cache()
    cache.put_parent(KEY, parent())
    cache.set_status(KEY, {"observedGeneration": 2})
    assert (cache.parent(KEY) or {})["status"] == {"observedGeneration": 2}
    previous = cache.put_parent(KEY, parent(observedGeneration=3))
    assert previous is not None
    assert previous["status"] == {"observedGeneration": 2}
    cache.forget_parent(KEY)
    assert cache.parent(KEY) is None
    assert len(cache) == 0
    cache.set_status(KEY, {"x": 1})  # a late write for a deleted parent stores nothing
    assert cache.parent(KEY) is None
