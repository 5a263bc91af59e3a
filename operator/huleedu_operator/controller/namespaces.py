"""Which namespaces an operator serves: ``HULEEDU_OPERATOR_NAMESPACES`` and its one
translation into kopf's namespace patterns. Pure.

The value is a comma-separated list of namespace globs (``*`` any characters, ``?`` one
character); an entry starting with ``!`` excludes. The operator serves every namespace
that matches any inclusive glob (every namespace when there is none) and no excluded
glob. So ``team-*,!team-b`` serves ``team-a`` and not ``team-b``, and
``!huleedu,!e2e-*`` serves everything except those.

kopf reads patterns differently: inside one pattern string, inclusive globs after the
first only re-match what an exclusion removed (``"a, b"`` does not serve ``b``), while a
*list* of patterns is an OR. Hence one pattern per inclusive glob, each carrying every
exclusion.

Three modes, decided by one rule the chart applies too (``_helpers.tpl``):

- ``cluster``: no entries. Cluster-wide watches; a ``ClusterKopfPeering`` for HA.
- ``namespaces``: literal names only. kopf watches exactly these (even without
  permission to list namespaces); a ``KopfPeering`` in each of them for HA.
- ``patterns``: any entry with ``*``, ``?`` or a leading ``!``. kopf lists and watches
  namespaces and serves the matching ones as they come and go (one watch per kind per
  served namespace). For HA the operator keeps its keep-alive in a ``ClusterKopfPeering``
  instead of kopf's default of one ``KopfPeering`` per served namespace: nobody can create
  those in advance in namespaces that appear later, and kopf pauses an operator whose
  mandatory peering object is missing.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

ENV = "HULEEDU_OPERATOR_NAMESPACES"
# A DNS label in which '*' and '?' may stand for characters.
_ENTRY = re.compile(r"^!?[a-z0-9*?]([-a-z0-9*?]{0,61}[a-z0-9*?])?$")
_GLOB = re.compile(r"[*?]")

Mode = Literal["cluster", "namespaces", "patterns"]


@dataclass(frozen=True)
class NamespaceSelection:
    include: tuple[str, ...] = ()  # globs; empty means every namespace
    exclude: tuple[str, ...] = ()  # globs, without the '!'

    @classmethod
    def parse(cls, entries: Iterable[str]) -> NamespaceSelection:
        include: list[str] = []
        exclude: list[str] = []
        for entry in entries:
            if not _ENTRY.match(entry):
                raise ValueError(
                    f"{ENV}: {entry!r} is not a namespace name or glob; use lowercase "
                    "letters, digits, '-', '*' (any characters) and '?' (one character), "
                    "with '!' in front to exclude, e.g. team-*,!team-b"
                )
            target = exclude if entry.startswith("!") else include
            glob = entry.removeprefix("!")
            if glob not in target:
                target.append(glob)
        return cls(tuple(include), tuple(exclude))

    @property
    def mode(self) -> Mode:
        if not self.include and not self.exclude:
            return "cluster"
        if self.exclude or any(_GLOB.search(g) for g in self.include):
            return "patterns"
        return "namespaces"

    @property
    def clusterwide_peering(self) -> bool:
        """kopf peering through a ClusterKopfPeering (else a KopfPeering per namespace)."""
        return self.mode != "namespaces"

    def kopf_namespaces(self) -> list[str]:
        """The ``namespaces=`` for ``kopf.operator`` (empty in cluster mode)."""
        if self.mode == "cluster":
            return []
        exclusions = [f"!{g}" for g in self.exclude]
        if not self.include:
            # A pattern that starts with an exclusion starts from every namespace.
            return [", ".join(exclusions)]
        return [", ".join([glob, *exclusions]) for glob in self.include]

    def matches(self, namespace: str) -> bool:
        """The documented rule, stated directly (the tests hold kopf's reading to it)."""
        included = not self.include or any(fnmatch.fnmatchcase(namespace, g) for g in self.include)
        return included and not any(fnmatch.fnmatchcase(namespace, g) for g in self.exclude)

    def describe(self) -> str:
        served = ", ".join(self.include) or "all"
        return f"{served} except {', '.join(self.exclude)}" if self.exclude else served
