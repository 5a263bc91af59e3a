"""``huleedu-runtime run-worker`` as a real process: signals, exit codes, health, no loss."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path

import httpx
from kafka_harness import (
    committed_total,
    create_topic,
    produce,
    read_all,
    read_results_until,
    read_to_end,
    result_ids,
    start_worker,
    terminate,
    unique,
)
from test_worker_loop import request

from huleedu_runtime import contract
from support.ports import free_port

SHUTDOWN_TIMEOUT = 10.0
STREAM = int(os.environ.get("HULEEDU_AT_LEAST_ONCE_MESSAGES", "10000"))
"""Messages per fault test: enough that a signal lands mid-stream with work in hand
(``HULEEDU_AT_LEAST_ONCE_MESSAGES=20000`` for the longer at-least-once run)."""
MID_STREAM = 1_250
"""Results seen before the signal is sent (not a multiple of the batch: mid-batch)."""
MAX_POLL_RECORDS = contract.DEFAULT_KAFKA_MAX_POLL_RECORDS
"""The worker's fetch batch (ServiceSettings default): what a SIGKILL can make it redo."""


async def wait_for_http(url: str, within: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while True:
            try:
                return await client.get(url, timeout=2)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


async def wait_for_exit(proc: object, within: float) -> int | None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        rc = proc.poll()  # type: ignore[attr-defined]
        if rc is not None:
            return int(rc)
        await asyncio.sleep(0.05)
    return None


async def test_sigterm_mid_stream_exits_zero_in_time_commits_and_a_restart_loses_nothing(
    kafka: str, tmp_path: Path
) -> None:
    topic, group, results = unique("rt.proc.term"), unique("rt.proc.term.g"), unique("rt.proc.r")
    await create_topic(kafka, topic)
    total = STREAM
    await produce(
        kafka, topic, [request(i) for i in range(total)], [b"%d" % i for i in range(total)]
    )
    port = free_port()
    worker = start_worker(
        servers=kafka,
        topic=topic,
        result_topic=results,
        group=group,
        metrics_port=port,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        log_path=tmp_path / "w1.log",
    )
    try:
        live = await wait_for_http(f"http://127.0.0.1:{port}/healthz/live")
        assert live.status_code == 200
        await read_all(kafka, results, expected=MID_STREAM, within=60)
        metrics = (await wait_for_http(f"http://127.0.0.1:{port}/metrics")).text
        assert 'huleedu_worker_messages_total{outcome="processed",topic="' + topic in metrics
        assert "huleedu_worker_consumer_lag" in metrics

        sent_at = time.monotonic()
        terminate(worker, signal.SIGTERM)
        rc = await wait_for_exit(worker, SHUTDOWN_TIMEOUT + 5)
        elapsed = time.monotonic() - sent_at
    finally:
        terminate(worker, signal.SIGKILL)
    log = (tmp_path / "w1.log").read_text()
    assert rc == 0, f"worker exited {rc} after SIGTERM; log tail:\n{log[-3000:]}"
    assert elapsed < SHUTDOWN_TIMEOUT
    committed = await committed_total(kafka, group, topic)
    processed_before = len(await read_to_end(kafka, results))
    assert 0 < committed < total, "the SIGTERM should have landed mid-stream"
    assert committed <= processed_before, "an offset was committed for unprocessed work"
    assert processed_before == committed, "a clean drain commits everything it processed"

    restarted = start_worker(
        servers=kafka,
        topic=topic,
        result_topic=results,
        group=group,
        metrics_port=free_port(),
        log_path=tmp_path / "w2.log",
    )
    try:
        records = await read_results_until(
            kafka, results, ids={str(i) for i in range(total)}, within=120
        )
    finally:
        terminate(restarted)
        assert await wait_for_exit(restarted, SHUTDOWN_TIMEOUT + 5) == 0
    ids = Counter(result_ids(records))
    assert set(ids) == {str(i) for i in range(total)}, "messages were lost across SIGTERM"
    duplicates = sum(n - 1 for n in ids.values())
    print(
        f"SIGTERM after {processed_before} of {total}: exit 0 in {elapsed:.2f}s, "
        f"{duplicates} duplicates after the restart"
    )
    assert duplicates == 0, "a clean SIGTERM drain commits everything it processed"
    assert await committed_total(kafka, group, topic) == total


async def test_sigkill_mid_stream_and_a_restart_lose_nothing(kafka: str, tmp_path: Path) -> None:
    topic, group, results = unique("rt.proc.kill"), unique("rt.proc.kill.g"), unique("rt.proc.r")
    await create_topic(kafka, topic)
    total = STREAM
    await produce(
        kafka, topic, [request(i) for i in range(total)], [b"%d" % i for i in range(total)]
    )
    worker = start_worker(
        servers=kafka,
        topic=topic,
        result_topic=results,
        group=group,
        metrics_port=free_port(),
        log_path=tmp_path / "w1.log",
    )
    try:
        await read_all(kafka, results, expected=MID_STREAM, within=60)
    finally:
        terminate(worker, signal.SIGKILL)
    assert await wait_for_exit(worker, 10) == -signal.SIGKILL
    committed = await committed_total(kafka, group, topic)
    processed_before = len(await read_to_end(kafka, results))
    assert committed < total, "the SIGKILL should have landed mid-stream"
    assert committed <= processed_before, "an offset was committed for unprocessed work"

    restarted = start_worker(
        servers=kafka,
        topic=topic,
        result_topic=results,
        group=group,
        metrics_port=free_port(),
        log_path=tmp_path / "w2.log",
    )
    try:
        records = await read_results_until(
            kafka, results, ids={str(i) for i in range(total)}, within=120
        )
    finally:
        terminate(restarted)
        await wait_for_exit(restarted, SHUTDOWN_TIMEOUT + 5)
    ids = Counter(result_ids(records))
    assert set(ids) == {str(i) for i in range(total)}, "messages were lost across SIGKILL"
    duplicates = sum(n - 1 for n in ids.values())
    print(f"SIGKILL after {processed_before} of {total}: {duplicates} duplicates after the restart")
    # Offsets are committed per fetched batch, so a kill redoes at most the batch in hand.
    assert duplicates == processed_before - committed
    assert duplicates <= MAX_POLL_RECORDS


async def test_a_dead_consumer_task_makes_the_worker_exit_non_zero(
    kafka: str, tmp_path: Path
) -> None:
    topic, group = unique("rt.proc.dead"), unique("rt.proc.dead.g")
    await create_topic(kafka, topic)
    await produce(kafka, topic, [b"x"])
    worker = start_worker(
        servers=kafka,
        topic=topic,
        result_topic=unique("rt.unused"),
        group=group,
        metrics_port=free_port(),
        import_path="crashing_worker:create_processor",
        app_dir=Path(__file__).parent,
        log_path=tmp_path / "dead.log",
    )
    try:
        rc = await wait_for_exit(worker, 60)
    finally:
        terminate(worker, signal.SIGKILL)
    log = (tmp_path / "dead.log").read_text()
    assert rc == 1, f"exit code {rc}; log tail:\n{log[-2000:]}"
    assert "event_processor_died" in log
    assert "consumer task crashed" in log


async def test_a_worker_that_cannot_reach_the_broker_at_start_exits_non_zero(
    tmp_path: Path,
) -> None:
    worker = start_worker(
        servers=f"127.0.0.1:{free_port()}",
        topic=unique("rt.proc.nobroker"),
        result_topic=unique("rt.unused"),
        group=unique("rt.g"),
        metrics_port=free_port(),
        log_path=tmp_path / "nobroker.log",
    )
    try:
        rc = await wait_for_exit(worker, 90)
    finally:
        terminate(worker, signal.SIGKILL)
    assert rc == 1, (tmp_path / "nobroker.log").read_text()[-2000:]
