"""Worker overhead of the runtime: ``KafkaEventProcessor`` vs a plain aiokafka loop.

Both consume the same pre-produced topic (3 partitions) with a fresh consumer
group each round, the same consumer options
(:func:`huleedu_runtime.worker.kafka_options.consumer_options`), the same no-op
handler and the same commit policy: handle every record of a ``getmany`` batch,
then commit the batch's offsets. The clock runs from the first record handled to
the commit that covers the last one, so group join time is not counted. Rounds
alternate between the two and the ratio is the median of per-round ratios.

    python -m bench.runtime_worker            # 100,000 messages, 5 rounds
    python -m bench.runtime_worker --quick    # 30,000 messages, 3 rounds

Needs the broker (``scripts/kafka-local.sh start``; ``KAFKA_BOOTSTRAP_SERVERS``).
Results: bench/results/runtime_worker[_quick].{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from bench.report import write_ratio_result

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 0.9
PARTITIONS = 3


def _settings(servers: str, topic: str, group: str) -> Any:
    from huleedu_runtime.config import ServiceSettings

    return ServiceSettings(
        service_name="bench-worker",
        kafka_bootstrap_servers=servers,
        kafka_topics=[topic],
        kafka_consumer_group=group,
        log_level="WARNING",
        _env_file=None,
    )


async def _produce(servers: str, topic: str, total: int) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=20)
    await producer.start()
    try:
        payload = json.dumps({"id": "x", "text": "a" * 200}).encode()
        for start in range(0, total, 5000):
            batch = [await producer.send(topic, payload) for _ in range(min(5000, total - start))]
            await asyncio.gather(*batch)
    finally:
        await producer.stop()


class _Clock:
    """First record handled -> the commit covering the last record."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.handled = 0
        self.first: float | None = None

    async def handle(self, _message: Any, _publisher: Any = None) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        self.handled += 1


async def _run_runtime(servers: str, topic: str, total: int) -> float:
    from aiokafka import AIOKafkaConsumer

    from huleedu_runtime.worker import KafkaEventProcessor

    clock = _Clock(total)
    processor = KafkaEventProcessor(
        _settings(servers, topic, f"bench-rt-{uuid.uuid4().hex}"), clock.handle
    )
    finished: list[float] = []
    # The loop commits inside; wrapping commit is how the clock sees the final one
    # (one comparison per batch, against thousands of records per batch).
    original_commit = AIOKafkaConsumer.commit

    async def timed_commit(self: Any, offsets: Any = None) -> None:
        await original_commit(self, offsets)
        if clock.handled >= total and not finished:
            finished.append(time.perf_counter())
            await processor.stop_processing()

    AIOKafkaConsumer.commit = timed_commit
    try:
        await asyncio.wait_for(processor.start_processing(), timeout=300)
    finally:
        AIOKafkaConsumer.commit = original_commit
    if clock.first is None or not finished:
        raise RuntimeError("the runtime loop stopped before handling every message")
    return total / (finished[0] - clock.first)


async def _run_plain(servers: str, topic: str, total: int) -> float:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import OffsetAndMetadata

    from huleedu_runtime.worker.kafka_options import consumer_options

    clock = _Clock(total)
    settings = _settings(servers, topic, f"bench-plain-{uuid.uuid4().hex}")
    consumer = AIOKafkaConsumer(topic, **consumer_options(settings))
    await consumer.start()
    try:
        while clock.handled < total:
            batch = await consumer.getmany(
                timeout_ms=500, max_records=settings.kafka_max_poll_records
            )
            offsets = {}
            for tp, records in batch.items():
                for record in records:
                    await clock.handle(record)
                    offsets[tp] = OffsetAndMetadata(record.offset + 1, "")
            if offsets:
                await consumer.commit(offsets)
        finished = time.perf_counter()
    finally:
        await consumer.stop()
    assert clock.first is not None
    return total / (finished - clock.first)


def main(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; write results JSON and markdown; return the results."""
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        raise SystemExit(
            "KAFKA_BOOTSTRAP_SERVERS is not set: scripts/kafka-local.sh start && "
            "source <(scripts/kafka-local.sh env)"
        )
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    total, rounds = (30_000, 3) if quick else (100_000, 5)
    topic = f"bench.worker.{uuid.uuid4().hex[:10]}"

    async def run() -> dict[str, list[float]]:
        await _produce(servers, topic, total)
        await _run_plain(servers, topic, total)  # warm-up: connections, page cache
        rates: dict[str, list[float]] = {"plain": [], "runtime": []}
        for i in range(rounds):
            order = ("plain", "runtime") if i % 2 == 0 else ("runtime", "plain")
            for kind in order:
                runner = _run_runtime if kind == "runtime" else _run_plain
                rates[kind].append(await runner(servers, topic, total))
            print(
                f"round {i + 1}/{rounds}: plain {rates['plain'][-1]:.0f} msg/s, "
                f"runtime {rates['runtime'][-1]:.0f} msg/s",
                flush=True,
            )
        return rates

    rates = asyncio.run(run())
    ratios = [r / p for r, p in zip(rates["runtime"], rates["plain"], strict=True)]
    result: dict[str, Any] = {
        "benchmark": "runtime_worker",
        "mode": "quick" if quick else "full",
        "environment": (
            f"{platform.node()}: {os.cpu_count()} cores, python {platform.python_version()}; "
            f"broker {servers}; load average at end {os.getloadavg()[0]:.1f}"
        ),
        "method": (
            f"{total} messages on {PARTITIONS} partitions, fresh group per run, no-op handler, "
            f"commit per getmany batch (max 500 records); {rounds} interleaved rounds"
        ),
        "plain_msgs_per_s_median": statistics.median(rates["plain"]),
        "runtime_msgs_per_s_median": statistics.median(rates["runtime"]),
        "ratio_median": statistics.median(ratios),
        "ratios": ratios,
        "target_ratio": TARGET_RATIO,
        "rates": rates,
    }
    result["meets_target"] = result["ratio_median"] >= TARGET_RATIO
    _write(result, "runtime_worker_quick" if quick else "runtime_worker")
    return result


def _write(result: dict[str, Any], stem: str) -> None:
    table = [
        "| loop | messages/s (median) |",
        "| --- | ---: |",
        f"| plain aiokafka consume-and-commit | {result['plain_msgs_per_s_median']:.0f} |",
        f"| runtime KafkaEventProcessor | {result['runtime_msgs_per_s_median']:.0f} |",
    ]
    write_ratio_result(
        result,
        RESULTS,
        stem,
        title="Worker: runtime KafkaEventProcessor vs plain aiokafka loop",
        table=table,
        ratio_label="runtime/plain",
    )


def _cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.runtime_worker")
    parser.add_argument("--quick", action="store_true")
    result = main(quick=parser.parse_args().quick)
    print(
        f"runtime/plain = {result['ratio_median']:.3f} "
        f"(plain {result['plain_msgs_per_s_median']:.0f} msg/s, "
        f"runtime {result['runtime_msgs_per_s_median']:.0f} msg/s)"
    )


if __name__ == "__main__":
    _cli()
