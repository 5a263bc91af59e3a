"""What the operator knows of the cluster, in one object: the HuleEduServices it serves
(as the watch last reported them) and the view of their children (:mod:`.index`).

The watch handlers write here, the reconciler and the resync read here, and nothing
else holds a copy. Parents are kept as compact JSON bytes without managedFields or
kubectl's last-applied annotation (a second copy of the object): a parent's dicts cost
some 10 KiB of Python objects, its bytes about 1.5 KiB, and one decode per reconcile is
cheap next to rendering.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from huleedu_operator.controller.index import ChildIndex, OwnerKey, trim_metadata
from huleedu_operator.controller.packing import pack


def _pack(body: dict[str, Any]) -> bytes:
    metadata = trim_metadata(body.get("metadata", {}))
    version = (body.get("metadata") or {}).get("resourceVersion")
    if version is not None:
        metadata["resourceVersion"] = version
    return pack({**body, "metadata": metadata})


class Cache:
    """Parents by key, plus the child index."""

    def __init__(self) -> None:
        self.index = ChildIndex()
        self._parents: dict[OwnerKey, bytes] = {}

    def __len__(self) -> int:
        return len(self._parents)

    def __contains__(self, key: object) -> bool:
        return key in self._parents

    def parent_keys(self) -> list[OwnerKey]:
        return list(self._parents)

    def parent(self, key: OwnerKey) -> dict[str, Any] | None:
        """A fresh copy of the parent (callers may change it freely)."""
        packed = self._parents.get(key)
        return orjson.loads(packed) if packed is not None else None

    def resource_version(self, key: OwnerKey) -> str | None:
        """The resourceVersion of the view's copy of the parent (None: not held)."""
        body = self.parent(key)
        return None if body is None else body["metadata"].get("resourceVersion")

    def parents(self) -> Iterator[tuple[OwnerKey, dict[str, Any]]]:
        for key in list(self._parents):
            body = self.parent(key)
            if body is not None:
                yield key, body

    def put_parent(self, key: OwnerKey, body: dict[str, Any]) -> dict[str, Any] | None:
        """Record the parent's new state; returns the previous one."""
        previous = self.parent(key)
        self._parents[key] = _pack(body)
        return previous

    def set_status(self, key: OwnerKey, status: dict[str, Any]) -> None:
        """Our own status write, so a re-queue before its watch event sees it."""
        body = self.parent(key)
        if body is not None:
            body["status"] = status
            self._parents[key] = _pack(body)

    def forget_parent(self, key: OwnerKey) -> None:
        self._parents.pop(key, None)
