"""When a reconcile may reuse the last render of a resource."""

from __future__ import annotations

from typing import Any

import pytest

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.controller.renders import RenderMemo, token
from huleedu_operator.render import Capability, RenderDefaults, Rendered, plan

pytestmark = pytest.mark.unit


def parent(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "huleedu.io/v1alpha1",
        "kind": "HuleEduService",
        "metadata": {"name": "svc", "namespace": "ns", "uid": "u1", "generation": 1},
        "spec": {"type": "http", "image": "example/svc:1.0", **spec},
    }


def rendered(name: str = "svc") -> Rendered:
    resource = HuleEduService.model_validate(parent())
    child = {"kind": "Service", "metadata": {"name": name}, "spec": {"ports": [{"port": 80}]}}
    return Rendered((child,), plan(resource, RenderDefaults()), ())


def test_a_status_change_keeps_the_render_and_a_spec_change_does_not() -> None:
    body = parent()
    body["metadata"]["resourceVersion"] = "10"
    # Our own status write: a new status and resourceVersion, the same spec.
    with_status = {
        **body,
        "metadata": {**body["metadata"], "resourceVersion": "11"},
        "status": {"phase": "Ready"},
    }
    assert token(body, []) == token(with_status, [])
    assert token(body, []) != token(parent(replicas=2), [])
    assert token(body, []) != token(body, [Capability.MONITORING])


def test_the_memo_returns_what_was_put_for_the_same_token_only() -> None:
    memo = RenderMemo()
    key = ("ns", "svc")
    memo.put(key, b"t1", rendered())
    got = memo.get(key, b"t1")
    assert got is not None
    assert got.children == rendered().children
    assert memo.get(key, b"t2") is None
    assert memo.get(("ns", "other"), b"t1") is None


def test_changing_a_returned_child_does_not_change_the_next_one() -> None:
    memo = RenderMemo()
    memo.put(("ns", "svc"), b"t", rendered())
    first = memo.get(("ns", "svc"), b"t")
    assert first is not None
    first.children[0]["metadata"]["name"] = "changed"
    second = memo.get(("ns", "svc"), b"t")
    assert second is not None
    assert second.children[0]["metadata"]["name"] == "svc"


def test_the_memo_is_bounded_and_drops_the_least_recently_used() -> None:
    memo = RenderMemo(size=2)
    for name in ("a", "b"):
        memo.put(("ns", name), b"t", rendered(name))
    assert memo.get(("ns", "a"), b"t") is not None  # a is now the most recent
    memo.put(("ns", "c"), b"t", rendered("c"))
    assert len(memo) == 2
    assert memo.get(("ns", "b"), b"t") is None
    assert memo.get(("ns", "a"), b"t") is not None
    memo.forget(("ns", "a"))
    assert memo.get(("ns", "a"), b"t") is None
