"""The operator's topic cache (controller/topics.py) against the real broker: it lists a
topic the admin client creates, sees it vanish after a delete, and reports an address
nothing listens on as unreachable (by error class) without raising."""

from __future__ import annotations

import asyncio
import time

from aiokafka.admin import AIOKafkaAdminClient
from kafka_harness import create_topic, unique

from huleedu_operator.controller.topics import (
    BROKER_UNREACHABLE,
    TOPICS_EXIST,
    TOPICS_MISSING,
    TopicCache,
    TopicSnapshot,
    topics_verdict,
)
from support.ports import free_port


async def listing_until(
    cache: TopicCache, wanted: bool, topic: str, within: float = 30.0
) -> TopicSnapshot:
    """Refresh until ``topic`` is (``wanted``) or is not listed; the last snapshot."""
    deadline = time.monotonic() + within
    while True:
        _, snapshot = await cache.refresh()
        assert snapshot.topics is not None, f"listing failed: {snapshot.error}"
        if (topic in snapshot.topics) is wanted or time.monotonic() > deadline:
            return snapshot
        await asyncio.sleep(0.5)


async def test_the_cache_sees_a_topic_appear_and_vanish(kafka: str) -> None:
    topic = unique("rt.topics")
    cache = TopicCache(kafka, interval=1)
    _, first = await cache.refresh()
    assert first.topics is not None, f"listing failed: {first.error}"
    assert topic not in first.topics
    missing = topics_verdict((topic,), None, first)
    assert missing is not None
    assert missing.reason == TOPICS_MISSING

    await create_topic(kafka, topic, partitions=1)
    created = await listing_until(cache, True, topic)
    assert topic in (created.topics or ())
    exists = topics_verdict((topic,), None, created)
    assert exists is not None
    assert exists.reason == TOPICS_EXIST

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()
    deleted = await listing_until(cache, False, topic)
    assert topic not in (deleted.topics or ())


async def test_an_address_nothing_listens_on_is_unreachable() -> None:
    cache = TopicCache(f"127.0.0.1:{free_port()}", interval=1)
    started = time.monotonic()
    _, snapshot = await cache.refresh()
    assert time.monotonic() - started < 15
    assert snapshot.topics is None
    assert snapshot.error  # the class only, e.g. KafkaConnectionError
    verdict = topics_verdict(("t",), None, snapshot)
    assert verdict is not None
    assert verdict.reason == BROKER_UNREACHABLE
    assert snapshot.error in verdict.message
