"""Worker readiness and liveness as a pod sees them, against the real broker."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

import httpx
from kafka_harness import create_topic, start_worker, terminate, unique
from test_worker_process import wait_for_exit, wait_for_http

from support.ports import free_port

ASSIGNED = re.compile(r"^huleedu_worker_assigned_partitions (\S+)$", re.MULTILINE)


async def assigned_partitions(port: int) -> int | None:
    text = (await wait_for_http(f"http://127.0.0.1:{port}/metrics")).text
    found = ASSIGNED.search(text)
    return int(float(found.group(1))) if found else None


async def test_more_workers_than_partitions_are_all_ready_and_only_one_holds_the_partition(
    kafka: str, tmp_path: Path
) -> None:
    topic, group = unique("rt.ready.idle"), unique("rt.ready.idle.g")
    await create_topic(kafka, topic, partitions=1)
    ports = [free_port(), free_port()]
    workers = [
        start_worker(
            servers=kafka,
            topic=topic,
            result_topic=unique("rt.unused"),
            group=group,
            metrics_port=port,
            log_path=tmp_path / f"w{i}.log",
        )
        for i, port in enumerate(ports)
    ]
    try:
        ready = [False, False]
        assigned: list[int | None] = [None, None]
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                for i, port in enumerate(ports):
                    await wait_for_http(f"http://127.0.0.1:{port}/healthz/live")
                    response = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                    ready[i] = response.status_code == 200
                    assigned[i] = await assigned_partitions(port)
                if all(ready) and sorted(assigned, key=str) == [0, 1]:
                    break
                await asyncio.sleep(0.2)
        logs = "\n".join((tmp_path / f"w{i}.log").read_text()[-1500:] for i in range(2))
        assert ready == [True, True], f"both workers joined the group, so both are Ready\n{logs}"
        assert sorted(assigned, key=str) == [0, 1], (
            f"one partition, two consumers: one holds it, the other none; got {assigned}\n{logs}"
        )
    finally:
        for worker in workers:
            terminate(worker, signal.SIGTERM)
        for worker in workers:
            if await wait_for_exit(worker, 20) is None:
                terminate(worker, signal.SIGKILL)
