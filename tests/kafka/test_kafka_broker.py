"""The broker is real: a consumer group reads back everything produced and commits."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer
from kafka_harness import committed_total, create_topic, produce, unique


async def test_a_consumer_group_reads_back_1000_produced_messages_and_commits_them(
    kafka: str,
) -> None:
    topic, group = unique("rt.broker"), unique("rt.broker.group")
    await create_topic(kafka, topic, partitions=3)
    sent = [f"message-{i}".encode() for i in range(1000)]
    await produce(kafka, topic, sent)

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    received: list[bytes] = []
    try:
        while len(received) < len(sent):
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"no messages for 10s after {len(received)} of {len(sent)}"
            for records in batch.values():
                received.extend(r.value for r in records)
            await consumer.commit()
    finally:
        await consumer.stop()

    assert sorted(received) == sorted(sent)
    assert await committed_total(kafka, group, topic) == 1000
