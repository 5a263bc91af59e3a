"""Whose object is it? The one rule that decides whether the operator may write to an
existing object that has the name of one of its children. Pure.

The operator writes only to objects it controls: a ``controller: true`` ownerReference to
this HuleEduService's uid. Everything else with that name is somebody else's, however it
is labelled: a Service made by Helm or ``kubectl create``, a Deployment with another
selector, an object labelled like ours by a tenant. Such a name collision is reported as
``NameConflict`` (naming the object and who manages it) and the object is left exactly
as it is; a server-side apply would otherwise merge our fields into it, and our
ownerReference would let the garbage collector delete it with the HuleEduService.

Two cases are not conflicts:

- an earlier HuleEduService of the same name still owns it (deleted and re-created
  faster than the garbage collector runs): the collector removes it shortly, so the
  reconcile waits and retries;
- an *orphan this operator made* (our managed-by label and field manager, no controller
  owner left, e.g. after ``kubectl delete --cascade=orphan``) is adopted, but only when
  the HuleEduService asks for it with the annotation ``huleedu.io/adopt-orphans: "true"``.
  Adoption is never implicit: an orphan may have been handed over to someone else.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from huleedu_operator.api.identity import ADOPT_ANNOTATION, FIELD_MANAGER
from huleedu_runtime import contract

_HELM_RELEASE = "meta.helm.sh/release-name"


class Verdict(enum.Enum):
    OURS = "ours"
    ADOPT = "adopt"  # our orphan, adoption asked for
    WAIT = "wait"  # an earlier incarnation's child, about to be garbage-collected
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Ownership:
    verdict: Verdict
    message: str = ""


def _controller(live: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for ref in live.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def managers(live: Mapping[str, Any]) -> list[str]:
    """Who manages ``live``, as a person would name them: a Helm release, the
    managed-by label, then the field managers that wrote it (not us)."""
    metadata = live.get("metadata", {})
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    named: list[str] = []
    if annotations.get(_HELM_RELEASE):
        named.append(f"Helm release {annotations[_HELM_RELEASE]}")
    managed_by = labels.get(contract.LABEL_MANAGED_BY)
    if managed_by and managed_by != contract.MANAGED_BY_VALUE:
        named.append(f"{contract.LABEL_MANAGED_BY}={managed_by}")
    for entry in metadata.get("managedFields") or []:
        manager = entry.get("manager")
        if manager and manager != FIELD_MANAGER and f"field manager {manager}" not in named:
            named.append(f"field manager {manager}")
    return named


def made_by_us(live: Mapping[str, Any]) -> bool:
    metadata = live.get("metadata", {})
    labels = metadata.get("labels") or {}
    written_by_us = any(
        entry.get("manager") == FIELD_MANAGER for entry in metadata.get("managedFields") or []
    )
    return labels.get(contract.LABEL_MANAGED_BY) == contract.MANAGED_BY_VALUE and written_by_us


def adoption_requested(parent: Mapping[str, Any]) -> bool:
    annotations = parent.get("metadata", {}).get("annotations") or {}
    return str(annotations.get(ADOPT_ANNOTATION, "")).lower() == "true"


def classify(live: Mapping[str, Any], parent: Mapping[str, Any]) -> Ownership:
    """May the operator write ``live`` on behalf of ``parent`` (a HuleEduService body)?"""
    parent_meta = parent.get("metadata", {})
    kind = live.get("kind", "object")
    name = live.get("metadata", {}).get("name", "")
    label = f"{kind} {name!r}"
    controller = _controller(live)
    if controller is not None:
        if controller.get("uid") == parent_meta.get("uid"):
            return Ownership(Verdict.OURS)
        if (
            controller.get("kind") == "HuleEduService"
            and controller.get("name") == parent_meta.get("name")
            and str(controller.get("apiVersion", "")).startswith("huleedu.io/")
        ):
            return Ownership(
                Verdict.WAIT,
                f"{label} still belongs to an earlier HuleEduService of this name; "
                "waiting for the garbage collector to remove it",
            )
        owner = f"{controller.get('kind', '?')} {controller.get('name', '?')!r}"
        return Ownership(
            Verdict.CONFLICT,
            f"{label} already exists and is controlled by {owner}; it was left unchanged. "
            "Rename this HuleEduService or remove that object",
        )
    if made_by_us(live):
        if adoption_requested(parent):
            return Ownership(Verdict.ADOPT, f"{label}: adopted (annotation {ADOPT_ANNOTATION})")
        return Ownership(
            Verdict.CONFLICT,
            f"{label} already exists: an orphan made by huleedu-operator that no "
            "HuleEduService controls; it was left unchanged. To adopt it, annotate this "
            f'HuleEduService {ADOPT_ANNOTATION}="true"',
        )
    who = managers(live)
    by = f" (managed by {', '.join(who)})" if who else ""
    return Ownership(
        Verdict.CONFLICT,
        f"{label} already exists and is not managed by this HuleEduService{by}; it was left "
        "unchanged. Rename this HuleEduService or remove that object",
    )
