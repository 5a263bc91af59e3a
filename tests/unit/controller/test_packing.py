"""What the operator keeps per resource costs about its JSON length, not orjson's buffer.

orjson 3.12 and later return bytes whose allocation is rounded up to a power of two
and at least 4 KiB, and never shrink it: a 300-byte Deployment status held as orjson's
own bytes costs 4 KiB. Before the fix the child index, the parents and the render memo
held them so: 36 MiB at N=1000 (tracemalloc of the operator after convergence), 12.8 KiB
per resource in the second test below.
Measured with tracemalloc, which sees the real allocation (``sys.getsizeof`` reports
only the length).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from huleedu_operator.controller.cache import Cache
from huleedu_operator.controller.packing import pack

pytestmark = pytest.mark.unit
N = 200


def deployment(i: int) -> dict[str, Any]:
    labels = {"huleedu.io/service": f"svc-{i}", "app.kubernetes.io/managed-by": "huleedu-operator"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"svc-{i}",
            "namespace": "team-a",
            "labels": labels,
            "resourceVersion": str(1000 + i),
            "managedFields": [{"manager": "huleedu-operator", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": f"example/svc-{i}:1.0"}]},
            },
        },
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "availableReplicas": 1,
            "conditions": [{"type": "Available", "status": "True", "reason": "Ready"}],
        },
    }


def parent(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "huleedu.io/v1alpha1",
        "kind": "HuleEduService",
        "metadata": {"name": f"svc-{i}", "namespace": "team-a", "resourceVersion": str(i)},
        "spec": {"type": "http", "image": f"example/svc-{i}:1.0", "port": 8000},
    }


def traced_growth(fill: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = fill()
        grown = tracemalloc.get_traced_memory()[0] - before
        del kept
        return grown
    finally:
        tracemalloc.stop()


def test_pack_keeps_the_json_and_only_its_length() -> None:
    value = deployment(1)["status"]
    packed = pack(value)
    assert packed == orjson.dumps(value)
    per_item = traced_growth(lambda: [pack(value) for _ in range(N)]) / N
    assert per_item < len(packed) + 200, per_item


def test_the_view_of_a_child_costs_about_its_json_not_orjsons_buffer() -> None:
    bodies = [deployment(i) for i in range(N)]

    def fill() -> Cache:
        cache = Cache()
        for body in bodies:
            cache.index.put("Deployment", body)
            cache.put_parent(("team-a", body["metadata"]["name"]), parent(0))
        return cache

    json_length = len(orjson.dumps(bodies[0])) + len(orjson.dumps(parent(0)))
    per_resource = traced_growth(fill) / N
    # Bookkeeping (dict entries, keys, stamps) is some hundreds of bytes; orjson's
    # buffers alone were 3 x 4 KiB.
    assert per_resource < 2 * json_length, (per_resource, json_length)


def test_a_kept_render_costs_about_its_json_not_orjsons_buffers() -> None:
    from huleedu_operator.api.v1alpha1 import HuleEduService
    from huleedu_operator.controller.renders import RenderMemo, token
    from huleedu_operator.render import RenderDefaults, render

    body = parent(0)
    rendered = render(HuleEduService.model_validate(body), RenderDefaults())
    key_bytes = token(body, [])
    json_length = len(key_bytes) + len(orjson.dumps(rendered.children))

    def fill() -> RenderMemo:
        memo = RenderMemo(size=N)
        for i in range(N):
            memo.put(("team-a", f"svc-{i}"), token(body, []), rendered)
        return memo

    per_entry = traced_growth(fill) / N
    # The plan and warnings are shared with ``rendered``; an entry is its two byte
    # strings plus a tuple and a table slot.
    assert per_entry < json_length + 400, (per_entry, json_length)
