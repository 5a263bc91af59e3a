"""Small synchronous Kafka helpers for the e2e suite (aiokafka against the real broker)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


def ensure_topics(bootstrap: str, topics: Iterable[str], partitions: int = 3) -> None:
    async def go() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            new = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
            if new:
                await admin.create_topics(new)
        finally:
            await admin.close()

    asyncio.run(go())


def produce(bootstrap: str, topic: str, messages: Iterable[tuple[bytes, bytes]]) -> None:
    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for key, value in messages:
                await producer.send_and_wait(topic, value, key=key)
        finally:
            await producer.stop()

    asyncio.run(go())


def produce_paced(
    bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]], per_second: float
) -> None:
    """A steady stream: one message every 1/per_second seconds."""

    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for key, value in messages:
                await producer.send_and_wait(topic, value, key=key)
                await asyncio.sleep(1.0 / per_second)
        finally:
            await producer.stop()

    asyncio.run(go())


async def _partitions(bootstrap: str, topic: str, wait_seconds: float = 20) -> set[int]:
    """The topic's partitions, waiting for a just-created topic to reach the metadata
    (the admin client asks the broker; a consumer's metadata cache can lag)."""
    deadline = time.monotonic() + wait_seconds
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        while True:
            (described,) = await admin.describe_topics([topic])
            partitions = {p["partition"] for p in described.get("partitions", [])}
            if partitions:
                return partitions
            if time.monotonic() > deadline:
                raise AssertionError(f"topic {topic} has no partitions: {described}")
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    async def go() -> dict[int, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        await consumer.start()
        try:
            partitions = await _partitions(bootstrap, topic)
            tps = [TopicPartition(topic, p) for p in partitions]
            ends = await consumer.end_offsets(tps)
            return {tp.partition: offset for tp, offset in ends.items()}
        finally:
            await consumer.stop()

    return asyncio.run(go())


def collect(
    bootstrap: str,
    topic: str,
    start: dict[int, int],
    done: Callable[[list[tuple[bytes | None, bytes | None]]], bool],
    timeout: float,
) -> list[tuple[bytes | None, bytes | None]]:
    """Read ``topic`` from the offsets in ``start`` until ``done(messages)`` or timeout."""

    async def go() -> list[tuple[bytes | None, bytes | None]]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        seen: list[tuple[bytes | None, bytes | None]] = []
        try:
            tps = [TopicPartition(topic, p) for p in start]
            consumer.assign(tps)
            for tp in tps:
                consumer.seek(tp, start[tp.partition])
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not done(seen):
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    seen.extend((r.key, r.value) for r in records)
            return seen
        finally:
            await consumer.stop()

    return asyncio.run(go())


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    async def go() -> dict[int, int]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = await _partitions(bootstrap, topic)
            result = {}
            for p in partitions:
                offset = await consumer.committed(TopicPartition(topic, p))
                result[p] = -1 if offset is None else offset
            return result
        finally:
            await consumer.stop()

    return asyncio.run(go())
