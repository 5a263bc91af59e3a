"""The operator's own watches of what it manages: the children of the kinds every
cluster serves, and their pods and endpoint slices, streamed (:mod:`controller.streams`)
into the child index. A change the view of an owner cares about queues that owner.

After every LIST (the first, and each after a broken stream) the view of the listed
scope is made what the list returned, except where a newer event knows better
(:meth:`ChildIndex.reconcile_listing`), so what vanished while the stream was down is
forgotten too. A change that only moves what status reads (a Deployment's status, a
pod, an endpoint slice) is reported as such, so the operator can reconcile a burst of
them once.
"""

from __future__ import annotations

from collections.abc import Callable

from kubernetes.client import Configuration

from huleedu_operator.api.identity import MANAGED_SELECTOR
from huleedu_operator.controller import metrics
from huleedu_operator.controller.index import SPEC, ChildIndex, OwnerKey, owner_of
from huleedu_operator.controller.kinds import ChildKind
from huleedu_operator.controller.streams import Body, Feed, Scope, Streams

# Called with an owner whose view changed and how (index.SPEC or index.STATUS).
Notify = Callable[[OwnerKey, str], None]


class _OwnedSink:
    def __init__(self, kind: str, index: ChildIndex, notify: Notify) -> None:
        self.kind = kind
        self.index = index
        self.notify = notify
        self._before: dict[Scope, int] = {}
        self._broken: set[Scope] = set()  # scopes whose stream broke since their last LIST

    def listing(self, scope: Scope) -> None:
        self._before[scope] = self.index.mark()

    def listed(self, scope: Scope, items: list[Body]) -> None:
        before = self._before.pop(scope, 0)
        by_namespace: dict[str, list[Body]] = {}
        for item in items:
            item.setdefault("kind", self.kind)
            owner = owner_of(item)
            if owner is not None:
                by_namespace.setdefault(owner[0], []).append(item)
        namespaces = {scope} if scope is not None else by_namespace.keys() | self.index.namespaces()
        changed: set[OwnerKey] = set()
        for namespace in sorted(namespaces):
            listed = by_namespace.get(namespace, [])
            changed |= self.index.reconcile_listing(self.kind, namespace, listed, before)
        if scope in self._broken:
            self._broken.discard(scope)
            if changed:  # what the broken stream missed
                metrics.RESYNC_REPAIRS.labels(kind=self.kind).inc(len(changed))
        for key in sorted(changed):
            self.notify(key, SPEC)

    def event(self, kind: str, body: Body) -> None:
        changed = self.index.observe(self.kind, body, deleted=kind == "DELETED")
        if changed is not None:
            self.notify(*changed)

    def lost(self, scope: Scope) -> None:
        self._broken.add(scope)  # the view stays as it was until the next LIST corrects it

    def stopped(self, scope: Scope) -> None:
        return None


def owned_watches(
    config: Configuration,
    kinds: tuple[ChildKind, ...],
    index: ChildIndex,
    notify: Notify,
) -> Streams:
    """The full-object watches of ``kinds`` (label-selected: ours only)."""
    return Streams(
        config,
        tuple(
            Feed(
                name=kind.plural,
                path=kind.scoped_path,
                selector=MANAGED_SELECTOR,
                sink=_OwnedSink(kind.kind, index, notify),
            )
            for kind in kinds
        ),
    )
