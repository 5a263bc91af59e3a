"""Names of the objects the operator does *not* manage, so that creating a child needs
no GET to find out whether its name is taken.

The operator's own watches select ``app.kubernetes.io/managed-by=huleedu-operator``: an
object of the same name that someone else made is invisible to them, and applying over
it would take it over. Before this module, every child missing from the view was read
first (2.4 GETs per new resource). Here one metadata-only watch per core child kind and
namespace, with the complementary selector (``managed-by!=huleedu-operator``, which also
matches objects without the label), keeps the set of names taken by others. The two
selectors partition the namespace, so no event arrives twice, and a namespace without
foreign objects streams nothing.

A name is *free* only while its watch is synced: listed, and streaming since. Until
then, after an error, or for kinds whose API is optional (a CRD that may come and go),
the reconciler reads the object instead, exactly as before. The same race as a GET
remains: an object created by someone else between our view and our apply.

The watches are :mod:`controller.streams` loops asking for metadata only.
"""

from __future__ import annotations

from kubernetes.client import Configuration

from huleedu_operator.api.identity import FOREIGN_SELECTOR
from huleedu_operator.controller.kinds import ChildKind
from huleedu_operator.controller.streams import Body, Feed, Scope, Streams


class ForeignNames:
    """kind -> namespace -> names of objects not ours; and what is synced: (kind, a
    namespace) for a per-namespace watch, (kind, None) for a cluster-wide one."""

    def __init__(self) -> None:
        self._names: dict[str, dict[str, set[str]]] = {}
        self._synced: set[tuple[str, str | None]] = set()

    def free(self, kind: str, namespace: str, name: str) -> bool:
        """Known to be taken by nobody else (so far as a synced watch can know)."""
        synced = (kind, namespace) in self._synced or (kind, None) in self._synced
        return synced and name not in self._names.get(kind, {}).get(namespace, ())

    def listed(self, kind: str, scope: str | None, names: dict[str, set[str]]) -> None:
        """A LIST of ``kind`` in ``scope`` (a namespace, or None: all) returned ``names``
        (namespace -> names)."""
        held = self._names.setdefault(kind, {})
        if scope is None:
            held.clear()
            held.update(names)
        else:
            held[scope] = names.get(scope, set())
        self._synced.add((kind, scope))

    def seen(self, kind: str, namespace: str, name: str, deleted: bool) -> None:
        names = self._names.setdefault(kind, {}).setdefault(namespace, set())
        if deleted:
            names.discard(name)
        else:
            names.add(name)

    def lost(self, kind: str, scope: str | None) -> None:
        """The watch broke: until it has listed again, nothing is known to be free."""
        self._synced.discard((kind, scope))

    def forget(self, kind: str, scope: str | None) -> None:
        self.lost(kind, scope)
        if scope is None:
            self._names.pop(kind, None)
        else:
            self._names.get(kind, {}).pop(scope, None)


class _ForeignSink:
    """One kind's metadata stream into :class:`ForeignNames`."""

    def __init__(self, kind: str, names: ForeignNames) -> None:
        self.kind = kind
        self.names = names

    def listing(self, scope: Scope) -> None:
        return None

    def listed(self, scope: Scope, items: list[Body]) -> None:
        names: dict[str, set[str]] = {}
        for item in items:
            meta = item["metadata"]
            names.setdefault(meta.get("namespace", ""), set()).add(meta["name"])
        self.names.listed(self.kind, scope, names)

    def event(self, kind: str, body: Body) -> None:
        meta = body.get("metadata") or {}
        self.names.seen(self.kind, meta.get("namespace", ""), meta["name"], kind == "DELETED")

    def lost(self, scope: Scope) -> None:
        self.names.lost(self.kind, scope)

    def stopped(self, scope: Scope) -> None:
        self.names.forget(self.kind, scope)


def foreign_watches(
    config: Configuration, kinds: tuple[ChildKind, ...], names: ForeignNames
) -> Streams:
    """The metadata watches of ``kinds``: cluster-wide, or one set per namespace."""
    return Streams(
        config,
        tuple(
            Feed(
                name=f"foreign-{kind.plural}",
                path=kind.scoped_path,
                selector=FOREIGN_SELECTOR,
                sink=_ForeignSink(kind.kind, names),
                metadata_only=True,
            )
            for kind in kinds
        ),
    )
