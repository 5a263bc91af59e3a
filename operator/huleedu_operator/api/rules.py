"""Cross-field validation rules, written once and enforced in two places.

Each :class:`Rule` carries a CEL expression (rendered into the CRD as
``x-kubernetes-validations``, so the API server rejects bad input at admission) and a
Python predicate with the same meaning (run by pydantic, so ``huleedu-operator render``
rejects the same input offline with the same message). Keeping both halves side by
side is what keeps them in step; ``tests/unit/api/test_rules.py`` and
``tests/integration/test_admission.py`` run one table of invalid resources through
both and expect the same message.

Messages follow the project's style: ``<field path>: <what is wrong>; <the fix>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    """One cross-field constraint on a model.

    ``cel`` sees the object the rule is attached to as ``self`` (and ``oldSelf`` for
    transition rules); ``check`` receives the validated pydantic model and returns
    True when the object is valid. ``field_path`` is relative to that object and is
    what the API server reports as the failing field.
    """

    cel: str
    message: str
    field_path: str
    check: Callable[[Any], bool]
    transition: bool = False

    def as_crd(self) -> dict[str, str]:
        """The ``x-kubernetes-validations`` entry for this rule."""
        entry = {"rule": self.cel, "message": self.message}
        if self.field_path:
            entry["fieldPath"] = self.field_path
        return entry


def rules_of(model: type[object]) -> tuple[Rule, ...]:
    """Rules attached to ``model`` through its ``__rules__`` class attribute."""
    return tuple(getattr(model, "__rules__", ()))
