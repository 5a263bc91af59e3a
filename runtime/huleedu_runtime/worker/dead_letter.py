"""Dead-letter envelopes: where a poison message goes and what it says.

A message that keeps failing must not block its partition forever. It is copied
unchanged (key, value, original headers) to ``<topic>`` + ``contract.DLQ_SUFFIX``
with headers that say where it came from and why it failed, so it can be
inspected and replayed, and the loop moves on.

The reason header says what failed the way an http error body does: a pydantic
failure is described by field and reason (:func:`huleedu_runtime.errors.validation_details`),
without the input values pydantic's own message quotes; the message's value, which
holds them anyway, is copied as it was.
"""

from __future__ import annotations

from collections.abc import Iterable

import pydantic

from huleedu_runtime.contract import DLQ_SUFFIX
from huleedu_runtime.errors import validation_details

HEADER_PREFIX = "x-huleedu-dlq-"
MAX_REASON_CHARS = 1000


def dead_letter_topic(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


def failure_reason(error: BaseException) -> str:
    """``Type: message``; for a pydantic error, its fields and reasons without the input."""
    if isinstance(error, pydantic.ValidationError):
        problems = "; ".join(
            f"{problem['field'] or '<root>'}: {problem['message']} [{problem['type']}]"
            for problem in validation_details(error)["errors"]
        )
        count = error.error_count()
        plural = "s" if count != 1 else ""
        return f"ValidationError: {count} validation error{plural} for {error.title}: {problems}"
    return f"{type(error).__name__}: {error}"


def dead_letter_headers(
    *,
    original_headers: Iterable[tuple[str, bytes]],
    topic: str,
    partition: int,
    offset: int,
    error: BaseException,
    attempts: int,
    service: str,
    consumer_group: str,
) -> list[tuple[str, bytes]]:
    """Original headers (minus stale DLQ ones) plus the failure's provenance."""
    reason = failure_reason(error)[:MAX_REASON_CHARS]
    kept = [(k, v) for k, v in original_headers if not k.startswith(HEADER_PREFIX)]
    return [
        *kept,
        (f"{HEADER_PREFIX}reason", reason.encode()),
        (f"{HEADER_PREFIX}exception-type", type(error).__name__.encode()),
        (f"{HEADER_PREFIX}original-topic", topic.encode()),
        (f"{HEADER_PREFIX}original-partition", str(partition).encode()),
        (f"{HEADER_PREFIX}original-offset", str(offset).encode()),
        (f"{HEADER_PREFIX}attempts", str(attempts).encode()),
        (f"{HEADER_PREFIX}service", service.encode()),
        (f"{HEADER_PREFIX}consumer-group", consumer_group.encode()),
    ]
