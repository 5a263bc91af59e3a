"""The shapes a worker is made of.

:class:`WorkerService` drives anything that satisfies
:class:`EventProcessorProtocol`; the runtime's own Kafka loop
(:class:`huleedu_runtime.worker.consumer.KafkaEventProcessor`) is one such
processor, and services usually only write a :data:`MessageHandler` for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from aiokafka.structs import ConsumerRecord

KafkaMessage = ConsumerRecord
"""What a handler receives: aiokafka's record with raw ``bytes`` key and value."""


@runtime_checkable
class EventProcessorProtocol(Protocol):
    async def start_processing(self) -> None:
        """Process events until :meth:`stop_processing` is called.

        Returning without having been asked to stop, or raising, means the
        processor died: the worker exits non-zero so the pod is restarted.
        """

    async def stop_processing(self) -> None:
        """Stop taking new events; ``start_processing`` returns once in-flight
        work is finished and committed."""


@runtime_checkable
class SupportsReadiness(Protocol):
    """A processor that can say whether it is ready (for Kafka: started and joined its group)."""

    async def is_ready(self) -> bool: ...


@runtime_checkable
class SupportsLiveness(Protocol):
    """A processor that can say whether its consumer task is alive."""

    def is_alive(self) -> bool: ...


class Publisher(Protocol):
    """Produces events; handed to handlers so results share the worker's producer."""

    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Mapping[str, bytes] | None = None,
    ) -> None: ...


MessageHandler = Callable[[Any, Publisher], Awaitable[None]]
"""``async def handle(message: KafkaMessage, publisher: Publisher) -> None``.

Raise to fail the message: it is retried with backoff, then dead-lettered.
Raise :class:`~huleedu_runtime.worker.consumer.NonRetriableError` (or a
pydantic ``ValidationError``) to dead-letter it at once.
"""
