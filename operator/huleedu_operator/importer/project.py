"""What the importer reads and what it hands back, as plain data (no I/O here).

:class:`ComposeProject` is a compose project after the compose library has done its work
(files merged, ``include:`` followed, anchors and merge keys expanded, ``${VAR}``
interpolated): :mod:`huleedu_operator.importer.load` builds it, the pure
:func:`huleedu_operator.importer.rules.convert` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ComposeProject:
    """A merged, interpolated compose project.

    ``services`` holds each service as the compose library normalised it, with every
    ``${VAR}`` replaced by its value. ``traced`` holds the same services with every
    variable replaced by its own name (``${DB_PASSWORD}``), so the converter can tell
    which values came from which variables without ever seeing a credential's value.
    Volume entries are long-form dicts (``type``, ``source``, ``target``,
    ``read_only``) with bind sources relative to the project directory.
    """

    services: Mapping[str, Mapping[str, Any]]
    traced: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    volumes: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()


@dataclass(frozen=True, order=True)
class Finding:
    """One line of the report: what was not converted (or converted with a caveat), why,
    and what to do instead. ``service`` is the compose service name ("" for the
    project)."""

    service: str
    rule: str
    message: str

    def line(self) -> str:
        where = self.service or "(project)"
        return f"{where}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class ImportResult:
    """The manifests (HuleEduServices and Secret skeletons) and the report."""

    resources: tuple[dict[str, Any], ...]
    secrets: tuple[dict[str, Any], ...]
    findings: tuple[Finding, ...]

    def documents(self, *, with_secrets: bool = True) -> list[dict[str, Any]]:
        """Secrets first (the pods that read them come after), then the services."""
        return [*(self.secrets if with_secrets else ()), *self.resources]

    def report(self) -> list[str]:
        return [f.line() for f in self.findings]
