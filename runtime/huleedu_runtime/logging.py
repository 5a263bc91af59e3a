"""Structured logging shared by http services and workers.

structlog renders one JSON object per line (``LOG_FORMAT=json``, the default) or a
readable console line (``LOG_FORMAT=console``). Standard-library loggers (hypercorn,
aiokafka, quart) are routed through the same renderer so a log shipper sees one
format. Request-scoped values (``correlation_id``) live in structlog's contextvars
and appear on every line logged while they are bound. The Kafka message in hand
is one context variable instead (:func:`set_current_message`), expanded into
``topic``/``partition``/``offset``/``correlation_id`` only when a line is logged:
binding four contextvars per message cost more than a no-op handler.
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

_CURRENT_MESSAGE: ContextVar[Any] = ContextVar("huleedu_current_message", default=None)


def set_current_message(record: Any) -> None:
    """Mark the Kafka record (anything with topic/partition/offset/headers) being handled."""
    _CURRENT_MESSAGE.set(record)


def message_correlation_id(record: Any) -> str | None:
    """The record's ``X-Correlation-ID`` header, decoded."""
    for key, value in record.headers or ():
        if key == CORRELATION_ID_HEADER:
            return bytes(value).decode(errors="replace")
    return None


def current_message_correlation_id() -> str | None:
    record = _CURRENT_MESSAGE.get()
    return None if record is None else message_correlation_id(record)


def _merge_current_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    record = _CURRENT_MESSAGE.get()
    if record is not None:
        event_dict.setdefault("topic", record.topic)
        event_dict.setdefault("partition", record.partition)
        event_dict.setdefault("offset", record.offset)
        event_dict.setdefault("correlation_id", message_correlation_id(record))
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
