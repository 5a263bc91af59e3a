"""In pattern mode, the namespaces themselves, watched (metadata only) so the operator
lets go of a namespace as soon as it is being deleted.

Why not wait for the HuleEduServices' own DELETED events: kopf watches them one
namespace at a time in pattern mode and stops a namespace's watch when the namespace
goes, which races with the namespace controller deleting its content. Seven namespaces
deleted at once here lost five of those events (the operator kept watching their
children until the next resync, up to 300 s later, and each kept ten connections); and
while a namespace terminates its children vanish one by one, which would be
reconciled into applies the API server refuses (403, "being terminated").

So the first sight of a ``deletionTimestamp`` (or of the namespace gone, in an event or
absent from a listing) reports the namespace as terminating; the operator forgets its
resources and stops its streams at once. A namespace of that name created later is
served afresh.
"""

from __future__ import annotations

from collections.abc import Callable

from kubernetes.client import Configuration

from huleedu_operator.controller.paths import api_path
from huleedu_operator.controller.streams import Body, Feed, Scope, Streams

# Called with a namespace that is being deleted, or one that is alive again.
OnTerminating = Callable[[str], None]
OnAlive = Callable[[str], None]


def _terminating(body: Body) -> bool:
    return bool((body.get("metadata") or {}).get("deletionTimestamp"))


class _NamespaceSink:
    def __init__(self, terminating: OnTerminating, alive: OnAlive) -> None:
        self.terminating = terminating
        self.alive = alive
        self._known: set[str] = set()  # alive at the last listing or event

    def listing(self, scope: Scope) -> None:
        return None

    def listed(self, scope: Scope, items: list[Body]) -> None:
        seen: set[str] = set()
        for item in items:
            name = item["metadata"]["name"]
            seen.add(name)
            self._report(name, _terminating(item))
        for name in sorted(self._known - seen):  # deleted while the stream was down
            self._report(name, True)

    def event(self, kind: str, body: Body) -> None:
        self._report(body["metadata"]["name"], kind == "DELETED" or _terminating(body))

    def _report(self, name: str, going: bool) -> None:
        if going:
            self._known.discard(name)
            self.terminating(name)
        elif name not in self._known:
            self._known.add(name)
            self.alive(name)

    def lost(self, scope: Scope) -> None:
        return None

    def stopped(self, scope: Scope) -> None:
        return None


def namespace_watch(config: Configuration, terminating: OnTerminating, alive: OnAlive) -> Streams:
    """One cluster-wide metadata watch of the namespaces (start it with ``watch(None)``)."""
    return Streams(
        config,
        (
            Feed(
                name="namespaces",
                path=lambda _scope: api_path("api", "v1", "namespaces"),
                selector="",
                sink=_NamespaceSink(terminating, alive),
                metadata_only=True,
            ),
        ),
    )
