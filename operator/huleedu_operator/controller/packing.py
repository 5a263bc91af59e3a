"""JSON bytes for what the operator keeps beyond one call: parents, the view of their
children, the render memo.

orjson 3.12 and later return bytes whose allocation is rounded up to a power of two,
at least 4 KiB, and never shrunk (``sys.getsizeof`` shows only the length; tracemalloc
shows the rest). A 300-byte Deployment status kept as orjson returned it costs 4 KiB,
a 3 KiB parent 32 KiB: at N=1000 that was most of the operator's 66 MiB above its idle
size. :func:`pack` copies the JSON into bytes of its exact length (one memcpy, a few
hundred nanoseconds). Home Assistant trims its cached JSON the same way. Bytes sent and
dropped at once (request bodies, a lookup key compared and let go) need no copy: such a
caller dumps with orjson and hands :func:`exact` only what it decides to keep.
"""

from __future__ import annotations

from typing import Any

import orjson


def exact(data: bytes) -> bytes:
    """``data`` in an allocation of its own length (a copy)."""
    return bytes(memoryview(data))


def pack(value: Any) -> bytes:
    """``orjson.dumps(value)`` in an allocation of its own length."""
    return exact(orjson.dumps(value))
