"""Structured logging shared by http services and workers.

structlog renders one JSON object per line (``LOG_FORMAT=json``, the default) or a
readable console line (``LOG_FORMAT=console``). Standard-library loggers (hypercorn,
aiokafka, quart) are routed through the same renderer so a log shipper sees one
format. Request-scoped values (``correlation_id``) live in structlog's contextvars
and appear on every line logged while they are bound. The Kafka message in hand
is one context variable instead (:func:`set_current_message`), expanded into
``topic``/``partition``/``offset``/``correlation_id`` only when a line is logged:
binding four contextvars per message cost more than a no-op handler.

A message's ``X-Correlation-ID`` header comes from whoever produced it and is held to
the same rule as the http header (:mod:`huleedu_runtime.correlation`) before it reaches
a log line or an event the handler publishes. It is checked once per message, on first
use, so a replacement id is the same on every line and downstream event of the message,
and those lines say ``correlation_id_rejected`` (length and a scrubbed prefix, not the
value).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from huleedu_runtime.contract import CORRELATION_ID_HEADER
from huleedu_runtime.correlation import adopt_correlation_id


class _MessageInHand:
    """The record being handled and, once asked for, its checked correlation id.

    One object per message rather than the record itself, so that the check runs
    only for messages that log or publish, and once: tasks the handler starts copy
    the context and share this object, hence the same replacement id.
    """

    __slots__ = ("_correlation", "record")

    # No ``__init__``: :func:`set_current_message` fills the slots, one Python call
    # fewer per message.
    record: Any
    _correlation: tuple[str | None, str | None] | None  # None: not checked yet

    def correlation(self) -> tuple[str | None, str | None]:
        """(the id to log and pass on, why the header's id was rejected)."""
        if self._correlation is None:
            incoming = message_correlation_id(self.record)
            # No header (or an empty one): no id, as before.
            self._correlation = adopt_correlation_id(incoming) if incoming else (None, None)
        return self._correlation


_CURRENT_MESSAGE: ContextVar[_MessageInHand | None] = ContextVar(
    "huleedu_current_message", default=None
)


_set_current = _CURRENT_MESSAGE.set


def set_current_message(record: Any) -> None:
    """Mark the Kafka record (anything with topic/partition/offset/headers) being handled."""
    if record is None:
        _set_current(None)
        return
    message = _MessageInHand()
    message.record = record
    message._correlation = None
    _set_current(message)


def message_correlation_id(record: Any) -> str | None:
    """The record's ``X-Correlation-ID`` header, decoded but not checked.

    What the runtime logs and passes on is :func:`current_message_correlation_id`.
    """
    for key, value in record.headers or ():
        if key == CORRELATION_ID_HEADER:
            return bytes(value).decode(errors="replace")
    return None


def current_message_correlation_id() -> str | None:
    """The checked correlation id of the message being handled: the header's when it is
    safe, a fresh one when it is not, ``None`` without a header or a message."""
    message = _CURRENT_MESSAGE.get()
    return None if message is None else message.correlation()[0]


def _merge_current_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    message = _CURRENT_MESSAGE.get()
    if message is not None:
        record = message.record
        event_dict.setdefault("topic", record.topic)
        event_dict.setdefault("partition", record.partition)
        event_dict.setdefault("offset", record.offset)
        correlation_id, rejected = message.correlation()
        event_dict.setdefault("correlation_id", correlation_id)
        if rejected is not None:
            event_dict.setdefault("correlation_id_rejected", rejected)
    return event_dict


def _add_service(service: str, version: str) -> Processor:
    def add(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        event_dict.setdefault("service_version", version)
        return event_dict

    return add


def configure_logging(
    *,
    service_name: str,
    service_version: str = "0.0.0",
    level: str = "INFO",
    log_format: str = "json",
    extra_processors: Sequence[Processor] = (),
) -> None:
    """Configure structlog and the stdlib root logger; safe to call again.

    ``extra_processors`` run after the shared ones, for structlog's own and stdlib
    records alike (the operator adds one that lifts kopf's object reference).
    """
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _merge_current_message,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service(service_name, service_version),
        *extra_processors,
    ]
    renderer: Processor
    if log_format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer()

    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    # aiokafka logs every rebalance step at INFO; keep it at WARNING unless debugging.
    logging.getLogger("aiokafka").setLevel(max(numeric_level, logging.WARNING))


def bind_context(**values: Any) -> None:
    """Bind values into every log line of the current task (e.g. correlation_id)."""
    structlog.contextvars.bind_contextvars(**values)
