"""The last renders, so a reconcile of an unchanged resource does not render it again.

While a resource converges it is reconciled several times (its children appear, its
Deployment's status moves, its pods start), each time from the same spec. Rendering
and hashing its children is about 0.36 ms a time; decoding a kept copy is a tenth of
that. A render is reused only for the same parent (everything but its status) rendered
for the same capabilities, and the children are kept as compact bytes in a bounded
least-recently-used table, so the table costs about 5 KiB per entry and no more than
:data:`SIZE` entries, however many resources the operator manages.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import orjson

from huleedu_operator.controller.packing import exact, pack
from huleedu_operator.render import Capability, Plan, Rendered, RenderWarning

SIZE = 512
OwnerKey = tuple[str, str]


def token(body: dict[str, Any], capabilities: Iterable[Capability]) -> bytes:
    """What a render depends on: the parent without its status (and without the
    resourceVersion our own status writes move), and the capabilities."""
    metadata = {k: v for k, v in body.get("metadata", {}).items() if k != "resourceVersion"}
    rest = {k: v for k, v in body.items() if k not in ("status", "metadata")}
    return orjson.dumps([sorted(capabilities), metadata, rest])


class RenderMemo:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._kept: OrderedDict[OwnerKey, tuple[bytes, Plan, tuple[RenderWarning, ...], bytes]] = (
            OrderedDict()
        )

    def get(self, key: OwnerKey, token: bytes) -> Rendered | None:
        kept = self._kept.get(key)
        if kept is None or kept[0] != token:
            return None
        self._kept.move_to_end(key)
        _, plan, warnings, children = kept
        return Rendered(tuple(orjson.loads(children)), plan, warnings)

    def put(self, key: OwnerKey, token: bytes, rendered: Rendered) -> None:
        # A token is computed on every reconcile and kept only here, on a miss.
        kept = (exact(token), rendered.plan, rendered.warnings, pack(rendered.children))
        self._kept[key] = kept
        self._kept.move_to_end(key)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def forget(self, key: OwnerKey) -> None:
        self._kept.pop(key, None)

    def __len__(self) -> int:
        return len(self._kept)
