"""The handler timeout without a broker: one watchdog timer per batch, same outcomes
as the ``asyncio.timeout`` per message it replaced.

The batch path runs against an in-memory consumer and producer; what is asserted is
what a service sees: which messages are retried, dead-lettered (and why), committed,
and whether a cancellation from outside still stops the loop.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.worker import KafkaEventProcessor, Publisher

pytestmark = pytest.mark.unit

TOPIC = "huleedu.timeout.v1"
TIMEOUT = 0.2


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


class Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, bytes]]] = []

    async def send_and_wait(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: Any = None
    ) -> None:
        self.sent.append((topic, value, dict(headers or [])))


class Consumer:
    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, OffsetAndMetadata]] = []

    async def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        self.commits.append(dict(offsets))


def processor(handler: Any, *, timeout: float = TIMEOUT, retries: int = 1) -> KafkaEventProcessor:
    settings = ServiceSettings(
        service_name="timeout-test", kafka_handler_timeout_seconds=timeout, _env_file=None
    )
    made = KafkaEventProcessor(
        settings, handler, topics=[TOPIC], max_retries=retries, retry_backoff_seconds=0.01
    )
    made._producer = Producer()
    return made


def batch(*values: bytes) -> dict[TopicPartition, list[Record]]:
    return {
        TopicPartition(TOPIC, 0): [Record(TOPIC, 0, i, value) for i, value in enumerate(values)]
    }


def dead_letters(made: KafkaEventProcessor) -> list[tuple[bytes, str]]:
    producer = made._producer
    assert isinstance(producer, Producer)
    return [
        (value, headers["x-huleedu-dlq-reason"].decode()) for _, value, headers in producer.sent
    ]


async def test_a_hung_attempt_is_cancelled_at_its_deadline_retried_then_dead_lettered() -> None:
    attempts: list[tuple[bytes, float]] = []
    cancelled_after: list[float] = []

    async def hangs_on_the_first(message: Any, _: Publisher) -> None:
        began = time.perf_counter()
        attempts.append((message.value, began))
        if message.value == b"hang":
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled_after.append(time.perf_counter() - began)
                raise

    made, consumer = processor(hangs_on_the_first), Consumer()
    await made._process_batch(consumer, batch(b"ok", b"hang", b"after"))

    assert [value for value, _ in attempts] == [b"ok", b"hang", b"hang", b"after"]
    assert len(cancelled_after) == 2
    # Exact, not polled: each attempt is cancelled at its own deadline.
    assert all(TIMEOUT <= after < TIMEOUT + 0.15 for after in cancelled_after), cancelled_after
    ((value, reason),) = dead_letters(made)
    assert value == b"hang"
    assert reason.startswith("HandlerTimeoutError: handler did not return within 0.2s")
    assert consumer.commits == [{TopicPartition(TOPIC, 0): OffsetAndMetadata(3, "")}]
    assert made.is_alive()
    assert made._watchdog is None, "the batch's timer is cancelled with the batch"
    current = asyncio.current_task()
    assert current is not None
    assert current.cancelling() == 0


async def test_quick_messages_after_a_long_idle_stretch_are_not_timed_out() -> None:
    """The watchdog's next run never falls after the deadline of a message in hand,
    and a message that finishes in time is never cancelled, however they line up."""
    seen: list[bytes] = []

    async def takes_most_of_its_time(message: Any, _: Publisher) -> None:
        await asyncio.sleep(TIMEOUT * 0.6)
        seen.append(message.value)

    made = processor(takes_most_of_its_time, retries=0)
    await made._process_batch(Consumer(), batch(b"1", b"2", b"3", b"4"))
    assert seen == [b"1", b"2", b"3", b"4"]
    assert dead_letters(made) == []


async def test_a_timeout_error_the_handler_raises_itself_is_not_a_handler_timeout() -> None:
    async def raises_timeout(_: Any, __: Publisher) -> None:
        raise TimeoutError("the dependency timed out")

    made = processor(raises_timeout, retries=0)
    await made._process_batch(Consumer(), batch(b"x"))
    ((_, reason),) = dead_letters(made)
    assert reason == "TimeoutError: the dependency timed out"


async def test_a_handler_that_swallows_its_timeout_and_returns_counts_as_handled() -> None:
    cancellations = 0

    async def swallows_once(_: Any, __: Publisher) -> None:
        nonlocal cancellations
        try:
            await asyncio.sleep(TIMEOUT * 3)
        except asyncio.CancelledError:
            cancellations += 1

    made, consumer = processor(swallows_once), Consumer()
    await made._process_batch(consumer, batch(b"x"))
    assert cancellations == 1
    assert dead_letters(made) == []
    assert consumer.commits == [{TopicPartition(TOPIC, 0): OffsetAndMetadata(1, "")}]
    current = asyncio.current_task()
    assert current is not None
    assert current.cancelling() == 0, "the timeout's cancel is withdrawn"


async def test_a_handler_that_ignores_its_timeout_is_cancelled_once_and_fails_liveness() -> None:
    cancellations = 0
    release = asyncio.Event()

    async def stubborn(_: Any, __: Publisher) -> None:
        nonlocal cancellations
        while not release.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                cancellations += 1

    made = processor(stubborn)
    made.handler_timeout_grace_seconds = 0.2
    task = asyncio.create_task(made._process_batch(Consumer(), batch(b"x")))
    await asyncio.sleep(TIMEOUT + 0.1)
    assert made.is_alive(), "within the grace period"
    await asyncio.sleep(0.3)
    assert not made.is_alive()
    assert cancellations == 1, "cancelled once, like asyncio.timeout"
    release.set()
    await asyncio.wait_for(task, 5)
    assert made.is_alive()


async def test_a_cancellation_from_outside_still_stops_the_batch() -> None:
    started = asyncio.Event()

    async def waits(_: Any, __: Publisher) -> None:
        started.set()
        await asyncio.Event().wait()

    made, consumer = processor(waits, timeout=30), Consumer()
    task = asyncio.create_task(made._process_batch(consumer, batch(b"x")))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert dead_letters(made) == []
    assert consumer.commits == []
    assert made._watchdog is None


async def test_a_cancellation_from_outside_racing_the_timeout_is_not_taken_for_it() -> None:
    """Both cancel the task before it runs again: the outside one wins, as with
    ``asyncio.timeout`` (its cancellation request is still counted)."""
    started = asyncio.Event()

    async def waits(_: Any, __: Publisher) -> None:
        started.set()
        await asyncio.Event().wait()

    made = processor(waits, timeout=30)
    task = asyncio.create_task(made._process_batch(Consumer(), batch(b"x")))
    await started.wait()
    task.cancel()
    made.handler_timeout = 1e-9  # the attempt in hand is due: the watchdog cancels it too
    made._watch()
    assert made._timed_out_attempt == made._attempt_started
    with pytest.raises(asyncio.CancelledError):
        await task
    assert dead_letters(made) == []


async def test_without_a_timeout_there_is_no_watchdog() -> None:
    async def quick(_: Any, __: Publisher) -> None:
        assert made._watchdog is None

    made = processor(quick, timeout=0)
    await made._process_batch(Consumer(), batch(b"x"))
    assert dead_letters(made) == []
