"""Drift detection: is a live child what we last applied, and still as we applied it?

A child is up to date when its ``huleedu.io/applied-hash`` annotation matches the hash
of its rendered form (the desired state has not changed) and every rendered value is
present and equal in the live object (nobody edited it). Values the server adds
(defaults) may be extra; values it normalises (quantities, omitted zeros) compare equal.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from huleedu_operator.api.identity import APPLIED_HASH


def desired_hash(child: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(child, sort_keys=True).encode()).hexdigest()[:20]


def with_hash(child: dict[str, Any]) -> dict[str, Any]:
    digest = desired_hash(child)
    metadata = child["metadata"]
    annotations = {**metadata.get("annotations", {}), APPLIED_HASH: digest}
    return {**child, "metadata": {**metadata, "annotations": annotations}}


def applied_hash(child: dict[str, Any]) -> str | None:
    """The hash a child was applied with (a rendered child's own, a live child's last)."""
    return (child.get("metadata", {}).get("annotations") or {}).get(APPLIED_HASH)


# Maps whose values are resource quantities, which the server stores in canonical form
# (``cpu: 1`` comes back ``"1"``, ``0.5Gi`` comes back ``512Mi``).
_QUANTITY_MAPS = frozenset({"requests", "limits"})


def _quantity(value: Any) -> Decimal | None:
    try:
        return Decimal(parse_quantity(value))  # type: ignore[no-untyped-call]
    except (ValueError, TypeError, ArithmeticError):
        return None


def is_subset(desired: Any, live: Any, quantities: bool = False) -> bool:
    """Every value in ``desired`` is present and equal in ``live`` (defaults may be extra).

    A zero value the server omits (``initialDelaySeconds: 0`` comes back absent, as Go's
    ``omitempty`` drops it) counts as equal to absent. Under ``requests``/``limits``
    values are quantities and compare by value, not spelling: otherwise every reconcile
    would see drift and apply again.
    """
    if live is None and desired in (0, False, "", [], {}):
        return True
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            is_subset(v, live.get(k), quantities=quantities or k in _QUANTITY_MAPS)
            for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(desired) == len(live)
            and all(is_subset(d, x) for d, x in zip(desired, live, strict=True))
        )
    if desired == live:
        return True
    if quantities and not isinstance(desired, bool):
        wanted, seen = _quantity(desired), _quantity(live)
        return wanted is not None and wanted == seen
    return False


def up_to_date(desired: dict[str, Any], live: dict[str, Any] | None) -> bool:
    if live is None:
        return False
    return (
        applied_hash(live) == applied_hash(desired)
        and is_subset({k: v for k, v in desired.items() if k != "metadata"}, live)
        and is_subset(desired["metadata"].get("labels", {}), live["metadata"].get("labels", {}))
    )
