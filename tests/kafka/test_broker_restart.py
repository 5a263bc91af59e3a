"""The broker goes away under a running worker and comes back: the worker recovers.

``scripts/kafka-local.sh restart`` stops the broker (a controlled shutdown) and
starts it on the same data dir, so topics, messages and committed offsets
survive, as they do when a real broker is restarted. The worker process must
ride it out without being restarted itself: it keeps its health endpoint up and
processes what is produced after the broker is back.

Other test sessions may share this broker, so the outage is one restart (about
10-15 s here) and the ``finally`` brings the broker back whatever happened.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from kafka_harness import (
    REPO_ROOT,
    create_topic,
    produce,
    read_results_until,
    result_ids,
    start_worker,
    terminate,
    unique,
)
from test_worker_process import SHUTDOWN_TIMEOUT, wait_for_exit, wait_for_http

from support.ports import free_port

KAFKA_LOCAL = REPO_ROOT / "scripts" / "kafka-local.sh"
RECOVERY_BUDGET_SECONDS = 60.0
"""From the broker being back to a new message processed: session timeout + rejoin."""


def kafka_local(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KAFKA_LOCAL), command], capture_output=True, text=True, timeout=180, check=False
    )


def require_a_broker_this_test_may_restart(servers: str) -> None:
    """The broker must be the one scripts/kafka-local.sh manages, on the same port."""
    status = kafka_local("status")
    port = os.environ.get("KAFKA_PORT", "19092")
    if status.returncode != 0 or f"127.0.0.1:{port}" not in servers:
        pytest.fail(
            f"KAFKA_BOOTSTRAP_SERVERS={servers} is not the broker scripts/kafka-local.sh manages "
            f"(status: {status.stdout.strip() or status.stderr.strip()}); the restart test can "
            "only restart that one: `scripts/kafka-local.sh start`",
            pytrace=False,
        )


async def test_the_worker_recovers_when_the_broker_is_restarted_under_it(
    kafka: str, tmp_path: Path
) -> None:
    require_a_broker_this_test_may_restart(kafka)
    topic, group, results = unique("rt.restart"), unique("rt.restart.g"), unique("rt.restart.r")
    await create_topic(kafka, topic)
    before = [f"before-{i}" for i in range(200)]
    after = [f"after-{i}" for i in range(200)]
    port = free_port()
    log_path = tmp_path / "worker.log"
    worker = start_worker(
        servers=kafka,
        topic=topic,
        result_topic=results,
        group=group,
        metrics_port=port,
        log_path=log_path,
    )
    restarted = False
    try:
        await produce(kafka, topic, [request_for(i) for i in before])
        await read_results_until(kafka, results, ids=set(before), within=60)

        outage_started = time.monotonic()
        restart = kafka_local("restart")
        outage = time.monotonic() - outage_started
        restarted = restart.returncode == 0
        assert restarted, f"kafka-local.sh restart failed:\n{restart.stderr[-3000:]}"
        print(f"broker restart: {restart.stderr.strip().splitlines()[-1]}")
        assert worker.poll() is None, "the worker exited while the broker was away:\n" + tail(
            log_path
        )

        back = time.monotonic()
        await produce(kafka, topic, [request_for(i) for i in after])
        records = await read_results_until(
            kafka, results, ids=set(before) | set(after), within=RECOVERY_BUDGET_SECONDS
        )
        recovered_in = time.monotonic() - back
        ids = Counter(result_ids(records))
        missing = (set(before) | set(after)) - set(ids)
        assert not missing, f"{len(missing)} messages not processed after the restart:\n" + tail(
            log_path
        )
        print(
            f"worker recovered: the {len(after)} messages produced after the broker came back "
            f"were processed within {recovered_in:.1f}s; outage {outage:.1f}s; "
            f"{sum(n - 1 for n in ids.values())} duplicates"
        )
        ready = await wait_for_http(f"http://127.0.0.1:{port}/healthz", within=30)
        assert ready.status_code == 200, ready.text
        assert worker.poll() is None, "the worker restarted itself instead of recovering"
    finally:
        if kafka_local("status").returncode != 0:
            kafka_local("restart")  # bring the shared broker back whatever happened
        terminate(worker, signal.SIGTERM)
        rc = await wait_for_exit(worker, SHUTDOWN_TIMEOUT + 5)
        terminate(worker, signal.SIGKILL)
    assert rc == 0, f"exit {rc} after SIGTERM:\n{tail(log_path)}"


def request_for(message_id: str) -> bytes:
    return json.dumps({"id": message_id, "text": f"text of {message_id}"}).encode()


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"
