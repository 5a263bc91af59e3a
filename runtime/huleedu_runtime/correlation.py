"""Which incoming correlation ids are trusted: one rule for http requests and Kafka messages.

A correlation id arrives from outside (the ``X-Correlation-ID`` header of a request, or
of a Kafka message) and is then written verbatim into every log line and onto every
response and event produced for it. So it is adopted only when short and plain; anything
else (oversized, spaces, newlines that would forge log lines, markup, bytes that are not
UTF-8) is replaced by a fresh UUID. The replacement is reported, but never by echoing
the rejected value: :func:`describe_rejected` gives its length and a short, scrubbed
prefix, enough to find the sender. Kept free of Quart and aiokafka so the http side and
the worker side share this module, not a copy of its rule.
"""

from __future__ import annotations

import os
import re

MAX_CORRELATION_ID_CHARS = 128
"""The longest incoming correlation id that is adopted."""

SAFE_CHARACTERS = "A-Za-z0-9._:-"
_SAFE_ID = re.compile(f"[{SAFE_CHARACTERS}]{{1,{MAX_CORRELATION_ID_CHARS}}}")
_UNSAFE_CHARACTER = re.compile(f"[^{SAFE_CHARACTERS}]")
_PREFIX_CHARS = 16


def is_safe_correlation_id(value: str) -> bool:
    """Whether ``value`` may be adopted as it is."""
    # fullmatch, not match with ``$``: ``$`` also matches before a trailing newline.
    return _SAFE_ID.fullmatch(value) is not None


_UUID_VARIANT = "89ab"


def new_correlation_id() -> str:
    """A random (version 4) UUID in its canonical form, as ``str(uuid.uuid4())``.

    Formatted from the hex of 16 random bytes rather than through ``uuid.UUID``,
    whose constructor and ``__str__`` cost more than the rest of an http request's
    correlation handling: the same 122 random bits from ``os.urandom`` and the
    version and variant bits ``uuid4`` sets.
    """
    h = os.urandom(16).hex()
    variant = _UUID_VARIANT[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


def describe_rejected(value: str) -> str:
    """Why ``value`` was not adopted, without repeating it: its length and a prefix of
    at most 16 characters with every character outside the safe set shown as ``?``."""
    prefix = _UNSAFE_CHARACTER.sub("?", value[:_PREFIX_CHARS])
    more = "..." if len(value) > _PREFIX_CHARS else ""
    return (
        f"{len(value)} chars (allowed: 1-{MAX_CORRELATION_ID_CHARS} of {SAFE_CHARACTERS}), "
        f"starts {prefix!r}{more}"
    )


def adopt_correlation_id(incoming: str | None) -> tuple[str, str | None]:
    """The id to use for ``incoming``, and why ``incoming`` was rejected (or ``None``).

    No id (``None`` or empty) gets a fresh one without comment; an unsafe one is
    replaced by a fresh one and described by :func:`describe_rejected`.
    """
    if not incoming:
        return new_correlation_id(), None
    if is_safe_correlation_id(incoming):
        return incoming, None
    return new_correlation_id(), describe_rejected(incoming)
