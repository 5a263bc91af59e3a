"""Helpers for the runtime tests: the real broker, topics, worker subprocesses.

Every test uses its own topic and consumer group names, so tests neither see
each other's messages nor depend on the broker being fresh.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_CLI = str(Path(sys.executable).parent / "huleedu-runtime")

# examples/ is not an installed package; the tests import it from the checkout.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def bootstrap_servers() -> str:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        pytest.fail(
            "KAFKA_BOOTSTRAP_SERVERS is not set: the runtime tests need the real broker. "
            "Run `scripts/kafka-local.sh start && source <(scripts/kafka-local.sh env)` "
            "(or `make kafka-up`) first.",
            pytrace=False,
        )
    host, _, port = servers.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as exc:
        pytest.fail(
            f"KAFKA_BOOTSTRAP_SERVERS={servers} is not reachable ({exc}); "
            "is the broker running? `scripts/kafka-local.sh status`",
            pytrace=False,
        )
    return servers


def unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}"


async def create_topic(servers: str, topic: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


async def produce(
    servers: str, topic: str, values: list[bytes], keys: list[bytes] | None = None
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value, key=keys[i] if keys else None)
            for i, value in enumerate(values)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def read_all(servers: str, topic: str, *, expected: int, within: float = 60.0) -> list[Any]:
    """Every record of ``topic`` (groupless), waiting until at least ``expected`` arrived."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=servers, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + within
    try:
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
    finally:
        await consumer.stop()
    return records


async def read_to_end(servers: str, topic: str) -> list[Any]:
    """Every record of ``topic`` up to its current end offsets (groupless)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = sorted(p["partition"] for p in described["partitions"])
    assert partitions, f"topic {topic} does not exist: {described}"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        async with asyncio.timeout(60):
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                for recs in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(recs)
        return records
    finally:
        await consumer.stop()


async def committed_total(servers: str, group: str, topic: str, partitions: int = 3) -> int:
    """Sum of the group's committed offsets over the topic's partitions."""
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        total = 0
        for p in range(partitions):
            committed = await consumer.committed(TopicPartition(topic, p))
            total += committed or 0
        return total
    finally:
        await consumer.stop()


def result_ids(records: list[Any]) -> list[str]:
    return [json.loads(r.value)["id"] for r in records]


async def read_results_until(
    servers: str, topic: str, *, ids: set[str], within: float = 90.0
) -> list[Any]:
    """Result records until every id in ``ids`` was seen (duplicates included)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=servers, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    seen: set[str] = set()
    deadline = time.monotonic() + within
    try:
        while not ids <= seen and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
                seen.update(result_ids(recs))
        # Anything still in flight (duplicates) gets a moment to arrive as well.
        for recs in (await consumer.getmany(timeout_ms=1000)).values():
            records.extend(recs)
    finally:
        await consumer.stop()
    return records


def start_worker(
    *,
    servers: str,
    topic: str,
    result_topic: str,
    group: str,
    metrics_port: int,
    processing_delay: float = 0.0,
    shutdown_timeout: float = 10.0,
    import_path: str = "examples.event_worker.worker:create_processor",
    app_dir: Path = REPO_ROOT,
    log_path: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``huleedu-runtime run-worker`` as a real child process, the way a pod runs it."""
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": servers,
        "KAFKA_TOPICS": topic,
        "KAFKA_CONSUMER_GROUP": group,
        "EVENT_WORKER_RESULT_TOPIC": result_topic,
        "EVENT_WORKER_PROCESSING_DELAY_SECONDS": str(processing_delay),
        "KAFKA_SESSION_TIMEOUT_MS": "10000",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        "HOST": "127.0.0.1",
        "METRICS_PORT": str(metrics_port),
        "SHUTDOWN_TIMEOUT_SECONDS": str(shutdown_timeout),
        "LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [RUNTIME_CLI, "run-worker", import_path, "--app-dir", str(app_dir)],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
    )


def terminate(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
