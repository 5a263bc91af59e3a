"""The per-message handler timeout and the liveness it feeds, against the real broker."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka_harness import (
    committed_total,
    create_topic,
    produce,
    read_all,
    start_worker,
    terminate,
    unique,
)
from test_worker_loop import settings_for, wait_until
from test_worker_process import wait_for_exit, wait_for_http

from huleedu_runtime import contract
from huleedu_runtime.worker import KafkaEventProcessor, Publisher, dead_letter_topic
from support.ports import free_port


async def test_a_hung_handler_times_out_is_retried_then_dead_lettered_and_the_partition_flows_on(
    kafka: str,
) -> None:
    topic, group = unique("rt.timeout.hang"), unique("rt.timeout.hang.g")
    await create_topic(kafka, topic, partitions=1)
    await produce(kafka, topic, [b"hang", b"after"])
    attempts: list[bytes] = []
    handled: list[bytes] = []

    async def hangs_on_the_first(message: Any, _: Publisher) -> None:
        attempts.append(message.value)
        if message.value == b"hang":
            await asyncio.Event().wait()
        handled.append(message.value)

    settings = settings_for(kafka, topic, group, kafka_handler_timeout_seconds=1)
    processor = KafkaEventProcessor(
        settings, hangs_on_the_first, max_retries=1, retry_backoff_seconds=0.1
    )
    task = asyncio.create_task(processor.start_processing())
    try:
        dead = await read_all(kafka, dead_letter_topic(topic), expected=1, within=30)
        await wait_until(lambda: handled == [b"after"])
        assert processor.is_alive(), "a handler that timed out was cancelled: nothing is stuck"
    finally:
        await processor.stop_processing()
        await asyncio.wait_for(task, 30)

    assert attempts.count(b"hang") == 2, "a timeout is a retriable failure: 1 retry"
    assert [r.value for r in dead] == [b"hang"]
    assert b"HandlerTimeoutError" in dict(dead[0].headers)["x-huleedu-dlq-reason"]
    assert await committed_total(kafka, group, topic, partitions=1) == 2


async def test_a_handler_that_ignores_its_timeout_makes_the_worker_not_live(
    kafka: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, group = unique("rt.timeout.stuck"), unique("rt.timeout.stuck.g")
    await create_topic(kafka, topic, partitions=1)
    timeout = 1
    monkeypatch.setenv("KAFKA_HANDLER_TIMEOUT_SECONDS", str(timeout))
    port = free_port()
    worker = start_worker(
        servers=kafka,
        topic=topic,
        result_topic=unique("rt.unused"),
        group=group,
        metrics_port=port,
        import_path="stubborn_worker:create_processor",
        app_dir=Path(__file__).parent,
        log_path=tmp_path / "stuck.log",
    )
    live_url = f"http://127.0.0.1:{port}{contract.LIVENESS_PATH}"
    try:
        assert (await wait_for_http(live_url)).status_code == 200
        await produce(kafka, topic, [b"stuck"])
        produced_at = time.monotonic()
        status = 200
        async with httpx.AsyncClient() as client:
            while status == 200 and time.monotonic() - produced_at < 60:
                await asyncio.sleep(0.5)
                status = (await client.get(live_url, timeout=5)).status_code
        stuck_for = time.monotonic() - produced_at
    finally:
        terminate(worker, signal.SIGKILL)
        await wait_for_exit(worker, 10)
    log = (tmp_path / "stuck.log").read_text()
    assert status == 503, f"liveness stayed green with a stuck handler; log:\n{log[-2000:]}"
    assert stuck_for >= timeout + contract.HANDLER_TIMEOUT_GRACE_SECONDS - 1
    assert "handler_stuck" in log
