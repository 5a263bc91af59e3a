"""The resync reads the parents' metadata first, and their whole objects only when one
differs from the view's copy.

The API server is stood in for by a class holding the collection (pure logic: which
lists are asked for, and what comes of their answers); that the API server answers a
metadata-only list is shown against the real one by tests/faults (the missed-deletions
test resyncs every 15 s).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from huleedu_operator.controller.cache import Cache
from huleedu_operator.controller.client import Kube
from huleedu_operator.controller.main import parents_as_served

pytestmark = pytest.mark.unit
NS = "team-a"


def parent(name: str, version: str) -> dict[str, Any]:
    return {
        "apiVersion": "huleedu.io/v1alpha1",
        "kind": "HuleEduService",
        "metadata": {"name": name, "namespace": NS, "resourceVersion": version},
        "spec": {"type": "http", "image": f"example/{name}:1.0"},
    }


class Served:
    """The HuleEduServices the API server holds, and the lists asked of it."""

    def __init__(self, *items: dict[str, Any]) -> None:
        self.items = list(items)
        self.asked: list[str] = []

    async def list(
        self, path: str, label_selector: str | None = None, metadata_only: bool = False
    ) -> list[dict[str, Any]]:
        assert path.endswith(f"/namespaces/{NS}/huleeduservices"), path
        self.asked.append("metadata" if metadata_only else "full")
        if metadata_only:
            return [{"metadata": dict(item["metadata"])} for item in self.items]
        return [dict(item) for item in self.items]


def served(cache: Cache, api: Served) -> dict[tuple[str, str], dict[str, Any] | None]:
    return asyncio.run(parents_as_served(cast(Kube, api), cache, NS))


def test_an_unchanged_namespace_is_read_as_metadata_only() -> None:
    cache = Cache()
    for name in ("a", "b"):
        cache.put_parent((NS, name), parent(name, "5"))
    api = Served(parent("a", "5"), parent("b", "5"))

    assert served(cache, api) == {(NS, "a"): None, (NS, "b"): None}
    assert api.asked == ["metadata"]


def test_a_changed_or_unknown_parent_comes_whole_and_the_unchanged_stay_none() -> None:
    cache = Cache()
    cache.put_parent((NS, "a"), parent("a", "5"))
    cache.put_parent((NS, "b"), parent("b", "5"))
    api = Served(parent("a", "5"), parent("b", "9"), parent("c", "7"))

    listed = served(cache, api)

    assert api.asked == ["metadata", "full"]
    assert listed[(NS, "a")] is None
    assert listed[(NS, "b")] == parent("b", "9")
    assert listed[(NS, "c")] == parent("c", "7")


def test_a_parent_gone_from_the_server_is_absent_from_the_answer() -> None:
    cache = Cache()
    cache.put_parent((NS, "a"), parent("a", "5"))
    cache.put_parent((NS, "gone"), parent("gone", "3"))
    api = Served(parent("a", "5"))

    assert served(cache, api) == {(NS, "a"): None}
    assert api.asked == ["metadata"]


def test_our_own_status_write_does_not_make_a_parent_look_unchanged() -> None:
    """set_status keeps the old resourceVersion, so a missed watch event of that write
    still reads as a difference, and the resync takes the server's copy."""
    cache = Cache()
    cache.put_parent((NS, "a"), parent("a", "5"))
    cache.set_status((NS, "a"), {"phase": "Ready"})
    api = Served(parent("a", "6"))

    assert served(cache, api)[(NS, "a")] == parent("a", "6")
