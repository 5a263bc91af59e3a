"""The heartbeat file of ``run-worker`` and ``check-heartbeat`` on it, against the real broker."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest
from kafka_harness import (
    RUNTIME_CLI,
    create_topic,
    produce,
    start_worker,
    terminate,
    unique,
)
from test_worker_process import wait_for_exit

from huleedu_runtime import contract
from support.ports import free_port

MAX_AGE = contract.HEARTBEAT_INTERVAL_SECONDS + 2


def check_heartbeat(path: Path, max_age: float = MAX_AGE) -> int:
    """Exit code of the command the operator's exec liveness probe runs."""
    argv = [RUNTIME_CLI, "check-heartbeat", "--max-age", str(max_age), "--file", str(path)]
    return subprocess.run(argv, capture_output=True, check=False).returncode


async def wait_for_check(path: Path, expected: int, within: float) -> float:
    started = time.monotonic()
    while check_heartbeat(path) != expected:
        if time.monotonic() - started > within:
            raise AssertionError(f"check-heartbeat never exited {expected} within {within}s")
        await asyncio.sleep(0.5)
    return time.monotonic() - started


async def test_a_running_worker_keeps_its_heartbeat_fresh_and_a_killed_one_goes_stale(
    kafka: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, group = unique("rt.beat.ok"), unique("rt.beat.ok.g")
    await create_topic(kafka, topic, partitions=1)
    beat = tmp_path / "heartbeat"
    monkeypatch.setenv(contract.Env.HEARTBEAT_FILE, str(beat))
    worker = start_worker(
        servers=kafka,
        topic=topic,
        result_topic=unique("rt.beat.results"),
        group=group,
        metrics_port=free_port(),
        log_path=tmp_path / "w.log",
    )
    try:
        assert check_heartbeat(beat) == 1, "no heartbeat before the worker started"
        await wait_for_check(beat, 0, within=30)
        first = beat.stat().st_mtime
        await asyncio.sleep(contract.HEARTBEAT_INTERVAL_SECONDS + 1)
        assert beat.stat().st_mtime > first, "a live worker touches its heartbeat again"
        assert check_heartbeat(beat) == 0
        assert worker.poll() is None
    finally:
        terminate(worker, signal.SIGKILL)
        await wait_for_exit(worker, 10)
    stale_after = await wait_for_check(beat, 1, within=MAX_AGE + 5)
    assert stale_after <= MAX_AGE + 1


async def test_a_stuck_handler_stops_the_heartbeat_while_the_process_still_runs(
    kafka: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, group = unique("rt.beat.stuck"), unique("rt.beat.stuck.g")
    await create_topic(kafka, topic, partitions=1)
    beat = tmp_path / "heartbeat"
    monkeypatch.setenv(contract.Env.HEARTBEAT_FILE, str(beat))
    monkeypatch.setenv(contract.Env.KAFKA_HANDLER_TIMEOUT_SECONDS, "1")
    worker = start_worker(
        servers=kafka,
        topic=topic,
        result_topic=unique("rt.unused"),
        group=group,
        metrics_port=free_port(),
        import_path="stubborn_worker:create_processor",
        app_dir=Path(__file__).parent,
        log_path=tmp_path / "stuck.log",
    )
    try:
        await wait_for_check(beat, 0, within=30)
        await produce(kafka, topic, [b"stuck"])
        await wait_for_check(
            beat, 1, within=1 + contract.HANDLER_TIMEOUT_GRACE_SECONDS + MAX_AGE + 10
        )
        assert worker.poll() is None, "the process runs on: only the probe can restart it"
    finally:
        terminate(worker, signal.SIGKILL)
        await wait_for_exit(worker, 10)
