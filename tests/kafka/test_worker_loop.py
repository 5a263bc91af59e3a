"""The runtime's Kafka loop against the real broker, in-process."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiokafka.structs import TopicPartition
from examples.event_worker.config import EventWorkerSettings
from examples.event_worker.worker import ContentRequestHandler
from kafka_harness import committed_total, create_topic, produce, read_all, result_ids, unique

from huleedu_runtime.worker import KafkaEventProcessor, Publisher, dead_letter_topic


def settings_for(kafka: str, topic: str, group: str, **extra: Any) -> EventWorkerSettings:
    return EventWorkerSettings(
        kafka_bootstrap_servers=kafka,
        kafka_topics=[topic],
        kafka_consumer_group=group,
        kafka_session_timeout_ms=10_000,
        kafka_heartbeat_interval_ms=1_000,
        **extra,
    )


def request(i: int) -> bytes:
    return json.dumps({"id": str(i), "text": f"text number {i}"}).encode()


async def wait_until(predicate: Any, within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - polls state set by the handler
            await asyncio.sleep(0.05)


async def test_offsets_are_committed_only_after_the_handler_succeeded_so_a_crash_loses_nothing(
    kafka: str,
) -> None:
    topic, group = unique("rt.loop.commit"), unique("rt.loop.commit.group")
    await create_topic(kafka, topic, partitions=1)
    await produce(kafka, topic, [request(i) for i in range(10)])

    handled: list[int] = []
    stuck = asyncio.Event()

    async def hangs_on_the_sixth(message: Any, _: Publisher) -> None:
        if message.offset == 5:
            stuck.set()
            await asyncio.Event().wait()  # never returns: the process "hangs" and is killed
        handled.append(message.offset)

    settings = settings_for(kafka, topic, group, kafka_max_poll_records=1)
    crashing = KafkaEventProcessor(settings, hangs_on_the_sixth)
    task = asyncio.create_task(crashing.start_processing())
    await asyncio.wait_for(stuck.wait(), 30)
    assert await committed_total(kafka, group, topic, partitions=1) == 5
    task.cancel()  # a crash: no drain, no commit of the message in hand
    await asyncio.gather(task, return_exceptions=True)

    after_restart: list[int] = []

    async def records(message: Any, _: Publisher) -> None:
        after_restart.append(message.offset)

    restarted = KafkaEventProcessor(settings_for(kafka, topic, group), records)
    task = asyncio.create_task(restarted.start_processing())
    await wait_until(lambda: len(after_restart) >= 5)
    await restarted.stop_processing()
    await asyncio.wait_for(task, 30)

    assert handled == [0, 1, 2, 3, 4]
    assert after_restart == [5, 6, 7, 8, 9]
    assert await committed_total(kafka, group, topic, partitions=1) == 10


async def test_a_poison_message_lands_in_the_dlq_with_its_reason_and_later_messages_still_flow(
    kafka: str,
) -> None:
    topic, group = unique("rt.loop.poison"), unique("rt.loop.poison.group")
    results = unique("rt.loop.poison.results")
    await create_topic(kafka, topic, partitions=1)
    await produce(kafka, topic, [request(1), b"{not json", request(2), request(3)])

    settings = settings_for(kafka, topic, group, result_topic=results)
    processor = KafkaEventProcessor(settings, ContentRequestHandler(settings))
    task = asyncio.create_task(processor.start_processing())
    try:
        produced = await read_all(kafka, results, expected=3, within=30)
        dead = await read_all(kafka, dead_letter_topic(topic), expected=1, within=30)
    finally:
        await processor.stop_processing()
        await asyncio.wait_for(task, 30)

    assert sorted(result_ids(produced)) == ["1", "2", "3"]
    assert len(dead) == 1
    assert dead[0].value == b"{not json"
    headers = dict(dead[0].headers)
    assert headers["x-huleedu-dlq-original-topic"] == topic.encode()
    assert headers["x-huleedu-dlq-original-offset"] == b"1"
    assert b"NonRetriableError" in headers["x-huleedu-dlq-reason"]
    assert await committed_total(kafka, group, topic, partitions=1) == 4


async def test_a_handler_that_fails_transiently_is_retried_and_not_dead_lettered(
    kafka: str,
) -> None:
    topic, group = unique("rt.loop.retry"), unique("rt.loop.retry.group")
    await create_topic(kafka, topic, partitions=1)
    await produce(kafka, topic, [b"a", b"b"])
    attempts: dict[bytes, int] = {}
    done: list[bytes] = []

    async def flaky(message: Any, _: Publisher) -> None:
        attempts[message.value] = attempts.get(message.value, 0) + 1
        if message.value == b"a" and attempts[b"a"] < 3:
            raise ConnectionError("dependency blinked")
        done.append(message.value)

    processor = KafkaEventProcessor(
        settings_for(kafka, topic, group), flaky, max_retries=3, retry_backoff_seconds=0.01
    )
    task = asyncio.create_task(processor.start_processing())
    await wait_until(lambda: len(done) == 2)
    await processor.stop_processing()
    await asyncio.wait_for(task, 30)

    assert done == [b"a", b"b"]
    assert attempts == {b"a": 3, b"b": 1}
    assert await committed_total(kafka, group, topic, partitions=1) == 2


async def test_a_message_failing_every_retry_is_dead_lettered_after_the_last_attempt(
    kafka: str,
) -> None:
    topic, group = unique("rt.loop.exhaust"), unique("rt.loop.exhaust.group")
    await create_topic(kafka, topic, partitions=1)
    await produce(kafka, topic, [b"always-fails", b"fine"])
    ok: list[bytes] = []

    async def handler(message: Any, _: Publisher) -> None:
        if message.value == b"always-fails":
            raise RuntimeError("boom")
        ok.append(message.value)

    processor = KafkaEventProcessor(
        settings_for(kafka, topic, group), handler, max_retries=2, retry_backoff_seconds=0.01
    )
    task = asyncio.create_task(processor.start_processing())
    dead = await read_all(kafka, dead_letter_topic(topic), expected=1, within=30)
    await wait_until(lambda: ok == [b"fine"])
    await processor.stop_processing()
    await asyncio.wait_for(task, 30)

    assert dict(dead[0].headers)["x-huleedu-dlq-attempts"] == b"3"
    assert dict(dead[0].headers)["x-huleedu-dlq-reason"] == b"RuntimeError: boom"
    tp = TopicPartition(topic, 0)
    assert tp.topic == topic
    assert await committed_total(kafka, group, topic, partitions=1) == 2


async def test_the_loop_consumes_10000_messages_and_commits_every_offset_exactly_once(
    kafka: str,
) -> None:
    topic, group = unique("rt.loop.10k"), unique("rt.loop.10k.group")
    total = 10_000
    await create_topic(kafka, topic, partitions=3)
    await produce(kafka, topic, [b"%d" % i for i in range(total)])
    seen: list[tuple[int, int]] = []

    async def handler(message: Any, _: Publisher) -> None:
        seen.append((message.partition, message.offset))

    processor = KafkaEventProcessor(settings_for(kafka, topic, group), handler)
    started = time.perf_counter()
    task = asyncio.create_task(processor.start_processing())
    try:
        async with asyncio.timeout(120):
            while await committed_total(kafka, group, topic) < total:
                assert not task.done(), task
                await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        await processor.stop_processing()
        await asyncio.wait_for(task, 30)

    print(f"10,000 messages handled and committed in {elapsed:.2f}s ({total / elapsed:.0f}/s)")
    assert len(seen) == total, "every message is handled once when nothing fails"
    assert len(set(seen)) == total
    assert await committed_total(kafka, group, topic) == total
