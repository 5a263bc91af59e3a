"""The operator with kopf's diff-base computation switched off.

kopf builds a "diff-base" essence (a deep copy of the body minus system fields) on every
event of every watched object, for change-detecting handlers. This operator registers
only low-level event handlers, so the essence is never used. Proposed for
``Operator.configure`` in controller/main.py; this runs it unchanged otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import kopf

from huleedu_operator.controller import main


class NoDiffBase(kopf.DiffBaseStorage):
    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None
    ) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


_configure = main.Operator.configure


def configure(self: main.Operator, settings: kopf.OperatorSettings) -> None:
    _configure(self, settings)
    settings.persistence.diffbase_storage = NoDiffBase()


main.Operator.configure = configure  # type: ignore[method-assign]

if __name__ == "__main__":
    main.run_operator()
