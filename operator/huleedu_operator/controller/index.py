"""In-memory view of every managed child, fed by the label-filtered watches.

The reconciler reads children from here instead of GETting them, which is what lets
an idle operator make no API requests at all: a reconcile whose desired state matches
this view writes nothing. Bodies are trimmed (no managedFields) to bound memory.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from huleedu_runtime import contract

OwnerKey = tuple[str, str]  # (namespace, HuleEduService name)
ChildKey = tuple[str, str]  # (kind, name)


def owner_of(body: dict[str, Any]) -> OwnerKey | None:
    metadata = body.get("metadata", {})
    name = (metadata.get("labels") or {}).get(contract.LABEL_SERVICE)
    namespace = metadata.get("namespace")
    return (namespace, name) if name and namespace else None


def _trim(body: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in body.get("metadata", {}).items() if k != "managedFields"}
    return {**body, "metadata": metadata}


def _waiting(container_status: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {"name": container_status.get("name")}
    waiting = (container_status.get("state") or {}).get("waiting")
    if waiting:
        kept["state"] = {
            "waiting": {k: waiting[k] for k in ("reason", "message") if waiting.get(k)}
        }
    return kept


class ChildIndex:
    """children[(ns, owner)][(kind, name)] = last seen body."""

    def __init__(self) -> None:
        self._children: dict[OwnerKey, dict[ChildKey, dict[str, Any]]] = defaultdict(dict)
        self._pods: dict[OwnerKey, dict[str, dict[str, Any]]] = defaultdict(dict)
        self._endpoints: dict[OwnerKey, dict[str, int]] = defaultdict(dict)
        # Children the watch reported deleted (and not seen since): the reconciler need
        # not read them back before restoring them.
        self._deleted: dict[OwnerKey, set[ChildKey]] = defaultdict(set)

    def put(self, kind: str, body: dict[str, Any]) -> OwnerKey | None:
        owner = owner_of(body)
        if owner is not None:
            child = (kind, body["metadata"]["name"])
            self._children[owner][child] = _trim(body)
            if owner in self._deleted:
                self._deleted[owner].discard(child)
        return owner

    def remove(self, kind: str, body: dict[str, Any]) -> OwnerKey | None:
        owner = owner_of(body)
        if owner is not None:
            child = (kind, body["metadata"]["name"])
            self._children[owner].pop(child, None)
            self._deleted[owner].add(child)
        return owner

    def deleted(self, owner: OwnerKey, kind: str, name: str) -> bool:
        """The watch saw this child deleted and has not seen it since."""
        return (kind, name) in self._deleted.get(owner, ())

    def children(self, owner: OwnerKey) -> dict[ChildKey, dict[str, Any]]:
        return dict(self._children.get(owner, {}))

    def get(self, owner: OwnerKey, kind: str, name: str) -> dict[str, Any] | None:
        return self._children.get(owner, {}).get((kind, name))

    def put_pod(self, body: dict[str, Any], deleted: bool = False) -> OwnerKey | None:
        owner = owner_of(body)
        if owner is None:
            return None
        name = body["metadata"]["name"]
        if deleted:
            self._pods[owner].pop(name, None)
        else:
            # Only what status needs: each container's waiting reason and the kubelet's
            # message (it names a missing Secret). Anything more would re-queue the owner
            # on every restart count or probe change.
            status = body.get("status", {}) or {}
            self._pods[owner][name] = {
                "metadata": {"name": name},
                "status": {
                    key: [_waiting(cs) for cs in status.get(key) or []]
                    for key in ("containerStatuses", "initContainerStatuses")
                },
            }
        return owner

    def pods(self, owner: OwnerKey) -> list[dict[str, Any]]:
        return list(self._pods.get(owner, {}).values())

    def put_endpoints(self, body: dict[str, Any], deleted: bool = False) -> OwnerKey | None:
        owner = owner_of(body)
        if owner is None:
            return None
        name = body["metadata"]["name"]
        if deleted:
            self._endpoints[owner].pop(name, None)
        else:
            ready = sum(
                1
                for ep in body.get("endpoints") or []
                if (ep.get("conditions") or {}).get("ready", True)
            )
            self._endpoints[owner][name] = ready
        return owner

    def ready_endpoints(self, owner: OwnerKey) -> int | None:
        slices = self._endpoints.get(owner)
        return sum(slices.values()) if slices else None

    def forget(self, owner: OwnerKey) -> None:
        self._children.pop(owner, None)
        self._pods.pop(owner, None)
        self._endpoints.pop(owner, None)
        self._deleted.pop(owner, None)

    def size(self) -> int:
        return sum(len(c) for c in self._children.values())
