"""In-memory view of every managed child, fed by the label-filtered watches and
repaired by the periodic resync.

The reconciler reads children from here instead of GETting them, which is what lets
an idle operator make no API requests at all: a reconcile whose desired state matches
this view writes nothing.

Memory: a child is kept as compact JSON bytes of what the reconciler reads (no
managedFields, no last-applied annotation, and of ``status`` only what the resource's
status is computed from), decoded on the rare read. A live Deployment as Python dicts
is some 30 KiB; its bytes here are about 2 KiB. The same trimmed form decides whether an
event changed anything: a Deployment's status churn that status does not read (times,
collisionCount) queues no reconcile.

Watches alone are not enough: after a reconnect or a 410 Gone, kopf lists again and
reports what exists, but nothing says what disappeared meanwhile. :meth:`ChildIndex.
reconcile_listing` compares a fresh LIST with the view and forgets what the list no
longer has. Every change is stamped with a sequence number, so a listing taken before a
watch event cannot undo it: the resync only touches entries older than its LIST.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import orjson

from huleedu_operator.controller.packing import pack
from huleedu_runtime import contract

OwnerKey = tuple[str, str]  # (namespace, HuleEduService name)
ChildKey = tuple[str, str]  # (kind, name)
# What an event changed in the view of an owner: a child's object (created, edited,
# deleted), or only what status is computed from (a Deployment's status, pods,
# endpoint slices), which may wait a moment to be reconciled together.
SPEC = "spec"
STATUS = "status"
POD = "Pod"
ENDPOINT_SLICE = "EndpointSlice"


def owner_of(body: dict[str, Any]) -> OwnerKey | None:
    metadata = body.get("metadata", {})
    name = (metadata.get("labels") or {}).get(contract.LABEL_SERVICE)
    namespace = metadata.get("namespace")
    return (namespace, name) if name and namespace else None


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Of a Deployment's status, what controller/status.py reads; other kinds' status is not
# read at all.
_DEPLOYMENT_STATUS = (
    "observedGeneration",
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
)
_CONDITION_FIELDS = ("type", "status", "reason", "message")


def trim_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata without what no reconcile reads and what costs most memory: managedFields
    (the rare path that needs them reads the object whole) and kubectl's last-applied
    copy of the object (a second body in an annotation)."""
    kept = {k: v for k, v in metadata.items() if k not in ("managedFields", "resourceVersion")}
    annotations = kept.get("annotations")
    if annotations and LAST_APPLIED in annotations:
        kept["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return kept


def _deployment_status(status: dict[str, Any]) -> dict[str, Any]:
    kept = {k: status[k] for k in _DEPLOYMENT_STATUS if k in status}
    conditions = status.get("conditions")
    if conditions:
        kept["conditions"] = [{k: c[k] for k in _CONDITION_FIELDS if k in c} for c in conditions]
    return kept


def _trim(kind: str, body: dict[str, Any]) -> tuple[bytes, bytes]:
    """The trimmed object without its status, and the status kept (empty if none)."""
    trimmed = {k: v for k, v in body.items() if k not in ("metadata", "status")}
    trimmed["metadata"] = trim_metadata(body.get("metadata", {}))
    status = b""
    if kind == "Deployment" and body.get("status"):
        status = pack(_deployment_status(body["status"]))
    return pack(trimmed), status


class _Child:
    """One child as the view holds it: its resourceVersion, its trimmed body and
    (apart, so a change of it alone is told from an edit) the status kept."""

    __slots__ = ("blob", "status", "version")

    def __init__(self, version: str | None, blob: bytes, status: bytes) -> None:
        self.version = version
        self.blob = blob
        self.status = status

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = orjson.loads(self.blob)
        if self.status:
            body["status"] = orjson.loads(self.status)
        if self.version is not None:
            body["metadata"]["resourceVersion"] = self.version
        return body


def _waiting(container_status: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {"name": container_status.get("name")}
    waiting = (container_status.get("state") or {}).get("waiting")
    if waiting:
        kept["state"] = {
            "waiting": {k: waiting[k] for k in ("reason", "message") if waiting.get(k)}
        }
    return kept


def _pod_view(body: dict[str, Any]) -> dict[str, Any]:
    """Only what status needs: each container's waiting reason and the kubelet's message
    (it names a missing Secret). Anything more would re-queue the owner on every restart
    count or probe change."""
    status = body.get("status", {}) or {}
    return {
        "metadata": {"name": body["metadata"]["name"]},
        "status": {
            key: [_waiting(cs) for cs in status.get(key) or []]
            for key in ("containerStatuses", "initContainerStatuses")
        },
    }


def _ready_endpoints(body: dict[str, Any]) -> int:
    return sum(
        1 for ep in body.get("endpoints") or [] if (ep.get("conditions") or {}).get("ready", True)
    )


class ChildIndex:
    """children[(ns, owner)][(kind, name)] = last seen body (trimmed); pods and endpoint
    slices reduced to what status reads."""

    def __init__(self) -> None:
        self._children: dict[OwnerKey, dict[ChildKey, _Child]] = defaultdict(dict)
        self._pods: dict[OwnerKey, dict[str, dict[str, Any]]] = defaultdict(dict)
        self._endpoints: dict[OwnerKey, dict[str, int]] = defaultdict(dict)
        # Children the watch reported deleted (and not seen since): the reconciler need
        # not read them back before restoring them.
        self._deleted: dict[OwnerKey, set[ChildKey]] = defaultdict(set)
        # (owner, kind, name) -> sequence number of the last change, deletions included.
        self._stamps: dict[tuple[OwnerKey, str, str], int] = {}
        # kind -> when it was last dropped (its CRD deleted): older answers are void.
        self._dropped: dict[str, int] = {}
        self._seq = 0

    def _stamp(self, owner: OwnerKey, kind: str, name: str) -> None:
        self._seq += 1
        self._stamps[owner, kind, name] = self._seq

    def mark(self) -> int:
        """A point in the index's history: changes after it are newer than a LIST
        started now."""
        self._seq += 1
        return self._seq

    def observe(
        self, kind: str, body: dict[str, Any], deleted: bool
    ) -> tuple[OwnerKey, str] | None:
        """A watch event of ``kind`` (a child kind, :data:`POD` or
        :data:`ENDPOINT_SLICE`): record it; returns the owner and :data:`SPEC` or
        :data:`STATUS` when what its drift check or its status reads changed (so it
        needs a reconcile), else None."""
        if kind in (POD, ENDPOINT_SLICE):
            owner = owner_of(body)
            read = self.pods if kind == POD else self.ready_endpoints
            before = read(owner) if owner else None
            self._store(kind, body, deleted)
            return (owner, STATUS) if owner is not None and before != read(owner) else None
        if deleted:
            owner = self.remove(kind, body)
            return (owner, SPEC) if owner is not None else None
        return self._put(kind, body)

    # --- children ------------------------------------------------------------------

    def put(self, kind: str, body: dict[str, Any], since: int | None = None) -> OwnerKey | None:
        """Record ``body``; returns its owner when the view of it changed (so the owner
        needs a reconcile), None when it did not or the body names no owner.

        ``since``: ``body`` answers a request sent at that :meth:`mark` (an apply, a
        read). If a watch event of the child arrived meanwhile, the watch knows better
        and ``body`` is not kept: under load the watch can deliver the Deployment's
        status update before the reconcile resumes with its apply's answer, and the
        older answer would stay the view ("0/1 available" with the pod ready) until the
        next resync, since nothing changes any more. The other way round is harmless:
        every write is an event, so a view older than the answer is brought up to date.
        """
        if since is not None and self._stale(kind, body, since):
            return None
        changed = self._put(kind, body)
        return changed[0] if changed else None

    def _stale(self, kind: str, body: dict[str, Any], since: int) -> bool:
        """The view learnt of this child (or its kind's CRD went) after ``since``."""
        owner = owner_of(body)
        if owner is None:
            return False
        stamp = self._stamps.get((owner, kind, body["metadata"]["name"]), 0)
        return max(stamp, self._dropped.get(kind, 0)) > since

    def _put(self, kind: str, body: dict[str, Any]) -> tuple[OwnerKey, str] | None:
        owner = owner_of(body)
        if owner is None:
            return None
        child = (kind, body["metadata"]["name"])
        blob, status = _trim(kind, body)
        held = self._children[owner].get(child)
        self._children[owner][child] = _Child(body["metadata"].get("resourceVersion"), blob, status)
        self._stamp(owner, *child)
        if owner in self._deleted:
            self._deleted[owner].discard(child)
        if held is None or held.blob != blob:
            return owner, SPEC
        return (owner, STATUS) if held.status != status else None

    def remove(self, kind: str, body: dict[str, Any]) -> OwnerKey | None:
        owner = owner_of(body)
        if owner is not None:
            child = (kind, body["metadata"]["name"])
            children = self._children.get(owner, {})
            children.pop(child, None)
            if not children:
                self._children.pop(owner, None)
            self._deleted[owner].add(child)
            self._stamp(owner, *child)
        return owner

    def deleted(self, owner: OwnerKey, kind: str, name: str) -> bool:
        """The watch saw this child deleted and has not seen it since."""
        return (kind, name) in self._deleted.get(owner, ())

    def names(self, owner: OwnerKey) -> set[ChildKey]:
        return set(self._children.get(owner, ()))

    def get(self, owner: OwnerKey, kind: str, name: str) -> dict[str, Any] | None:
        held = self._children.get(owner, {}).get((kind, name))
        return held.body() if held is not None else None

    def drop_kind(self, kind: str) -> set[OwnerKey]:
        """Every child of ``kind`` is gone (its CRD was deleted, which deletes them all),
        and so is any object of it that a request in flight will answer with."""
        self._dropped[kind] = self.mark()
        owners = set()
        for owner, children in self._children.items():
            for child in [c for c in children if c[0] == kind]:
                del children[child]
                self._deleted[owner].add(child)
                self._stamp(owner, *child)
                owners.add(owner)
        return owners

    # --- pods and endpoint slices --------------------------------------------------

    def put_pod(self, body: dict[str, Any], deleted: bool = False) -> OwnerKey | None:
        owner = owner_of(body)
        if owner is None:
            return None
        name = body["metadata"]["name"]
        if deleted:
            self._pods[owner].pop(name, None)
            if not self._pods[owner]:
                del self._pods[owner]
        else:
            self._pods[owner][name] = _pod_view(body)
        self._stamp(owner, POD, name)
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
            if not self._endpoints[owner]:
                del self._endpoints[owner]
        else:
            self._endpoints[owner][name] = _ready_endpoints(body)
        self._stamp(owner, ENDPOINT_SLICE, name)
        return owner

    def ready_endpoints(self, owner: OwnerKey) -> int | None:
        slices = self._endpoints.get(owner)
        return sum(slices.values()) if slices else None

    def release(self, owner: OwnerKey) -> None:
        """The owner is gone; what it knew of deleted children goes with it."""
        self._deleted.pop(owner, None)

    def drop_namespace(self, namespace: str) -> None:
        """Nothing in ``namespace`` is watched any more: forget what the view holds of
        it (a later watch lists it afresh)."""
        held = self._children.keys() | self._pods.keys() | self._endpoints.keys()
        for owner in [o for o in held | self._deleted.keys() if o[0] == namespace]:
            self.forget(owner)

    def forget(self, owner: OwnerKey) -> None:
        self._children.pop(owner, None)
        self._pods.pop(owner, None)
        self._endpoints.pop(owner, None)
        self._deleted.pop(owner, None)
        for stamp in [s for s in self._stamps if s[0] == owner]:
            del self._stamps[stamp]

    # --- resync --------------------------------------------------------------------

    def namespaces(self) -> set[str]:
        """Namespaces the view holds anything of."""
        return {
            owner[0]
            for table in (self._children, self._pods, self._endpoints)
            for owner, held in table.items()
            if held
        }

    def _names(self, kind: str, namespace: str) -> dict[tuple[OwnerKey, str], Any]:
        """What the view holds of ``kind`` in ``namespace``: (owner, name) -> value."""
        held: dict[tuple[OwnerKey, str], Any] = {}
        if kind == POD:
            for owner, pods in self._pods.items():
                if owner[0] == namespace:
                    held.update({(owner, name): view for name, view in pods.items()})
        elif kind == ENDPOINT_SLICE:
            for owner, slices in self._endpoints.items():
                if owner[0] == namespace:
                    held.update({(owner, name): ready for name, ready in slices.items()})
        else:
            for owner, children in self._children.items():
                if owner[0] == namespace:
                    held.update(
                        {
                            (owner, name): child.version
                            for (k, name), child in children.items()
                            if k == kind
                        }
                    )
        return held

    def _value(self, kind: str, body: dict[str, Any]) -> Any:
        if kind == POD:
            return _pod_view(body)
        if kind == ENDPOINT_SLICE:
            return _ready_endpoints(body)
        return body.get("metadata", {}).get("resourceVersion")

    def _store(self, kind: str, body: dict[str, Any], deleted: bool) -> None:
        if kind == POD:
            self.put_pod(body, deleted=deleted)
        elif kind == ENDPOINT_SLICE:
            self.put_endpoints(body, deleted=deleted)
        elif deleted:
            self.remove(kind, body)
        else:
            self.put(kind, body)

    def reconcile_listing(
        self, kind: str, namespace: str, listed: Iterable[dict[str, Any]], before: int
    ) -> set[OwnerKey]:
        """Make the view of ``kind`` in ``namespace`` what a LIST started at ``before``
        (:meth:`mark`) returned, except where a watch event since then knows better.
        Returns the owners whose view changed (to reconcile); an unchanged view changes
        nothing, so a resync of an idle operator queues no work and writes nothing."""
        held = self._names(kind, namespace)
        changed: set[OwnerKey] = set()
        seen: set[tuple[OwnerKey, str]] = set()
        for body in listed:
            owner = owner_of(body)
            if owner is None or owner[0] != namespace:
                continue
            name = body["metadata"]["name"]
            seen.add((owner, name))
            if self._stamps.get((owner, kind, name), 0) > before:
                continue  # the watch has something newer
            if (owner, name) not in held or held[owner, name] != self._value(kind, body):
                self._store(kind, body, deleted=False)
                changed.add(owner)
        for owner, name in held.keys() - seen:
            if self._stamps.get((owner, kind, name), 0) > before:
                continue
            gone = {
                "metadata": {
                    "name": name,
                    "namespace": owner[0],
                    "labels": {contract.LABEL_SERVICE: owner[1]},
                }
            }
            self._store(kind, gone, deleted=True)
            changed.add(owner)
        return changed

    def settle(self, before: int) -> None:
        """Forget the stamps of deletions older than ``before``; a later LIST cannot
        contain those objects any more."""
        live = {
            (owner, kind, name)
            for owner, children in self._children.items()
            for kind, name in children
        }
        live |= {(o, POD, n) for o, pods in self._pods.items() for n in pods}
        live |= {(o, ENDPOINT_SLICE, n) for o, s in self._endpoints.items() for n in s}
        for stamp in [s for s, seq in self._stamps.items() if seq < before and s not in live]:
            del self._stamps[stamp]
