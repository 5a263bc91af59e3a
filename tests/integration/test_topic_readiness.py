"""TopicsReady on the real API server against the real broker: a worker on a topic that
does not exist is told so (False, naming it; Degraded but still Ready-capable), the
topic's creation turns it True within the listing interval, and an idle operator then
rewrites nothing across several listings.

Needs KAFKA_BOOTSTRAP_SERVERS (``make test`` sources ``scripts/kafka-local.sh env``):
missing or unreachable fails the test, it never skips.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from kubernetes import client

from support.operator import OperatorProcess, apply, condition, get_hes, hes

INTERVAL = 2  # seconds between the operator's topic listings


def broker() -> str:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if not servers:
        pytest.fail(
            "KAFKA_BOOTSTRAP_SERVERS is not set: this test needs the real broker. Run "
            "`scripts/kafka-local.sh start && source <(scripts/kafka-local.sh env)` first.",
            pytrace=False,
        )
    host, _, port = servers.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"KAFKA_BOOTSTRAP_SERVERS={servers} is not reachable ({exc})", pytrace=False)
    return servers


async def _admin(servers: str, create: str | None = None, delete: str | None = None) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        if create:
            await admin.create_topics([NewTopic(create, 1, 1)])
        if delete:
            await admin.delete_topics([delete])
    finally:
        await admin.close()


@pytest.fixture(scope="module")
def kafka() -> str:
    return broker()


@pytest.fixture(scope="module")
def operator(
    kafka: str,
    kubeconfig: str,
    crd_installed: None,
    tmp_path_factory: Any,
    wait_until: Callable[..., Any],
) -> Iterator[OperatorProcess]:
    log_path = tmp_path_factory.mktemp("operator") / "operator.log"
    proc = OperatorProcess(
        kubeconfig,
        log_path,
        topic_check_bootstrap_servers=kafka,
        topic_check_interval_seconds=str(INTERVAL),
    )
    wait_until(proc.alive, timeout=60, message="operator liveness endpoint never answered")
    yield proc
    proc.stop()
    print(f"--- operator log tail ---\n{log_path.read_text()[-2000:]}")


def test_a_missing_topic_is_named_and_its_creation_seen_within_the_interval(
    kafka: str,
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    topic = f"it.topics.{uuid.uuid4().hex[:10]}"
    # No pods: a consumer's metadata request could auto-create the topic on a broker
    # with auto.create.topics.enable (the local one has it), which is not what we test.
    worker = hes(
        "reader",
        namespace,
        type="worker",
        image="example/r:1.0",
        replicas=0,
        kafka={"topics": [topic]},
    )
    apply(kubectl, worker)

    def topics_ready() -> dict[str, Any]:
        return condition(get_hes(custom_objects, namespace, "reader"), "TopicsReady")

    missing = wait_until(
        lambda: topics_ready() if topics_ready().get("status") == "False" else None,
        timeout=60,
        message="TopicsReady False for a topic that does not exist",
    )
    assert missing["reason"] == "TopicsMissing"
    assert topic in missing["message"]
    assert "spec.kafka.topics" in missing["message"]
    degraded = condition(get_hes(custom_objects, namespace, "reader"), "Degraded")
    assert degraded["status"] == "True"
    assert degraded["reason"] == "TopicsMissing"

    asyncio.run(_admin(kafka, create=topic))
    try:
        created = time.monotonic()
        wait_until(
            lambda: topics_ready().get("status") == "True",
            # One listing interval, plus status pacing (2 s) and the queue: well inside 15 s.
            timeout=15,
            interval=0.25,
            message=f"TopicsReady True within the {INTERVAL} s listing interval",
        )
        took = time.monotonic() - created
        obj = get_hes(custom_objects, namespace, "reader")
        assert condition(obj, "TopicsReady")["reason"] == "TopicsExist"
        assert condition(obj, "Degraded")["status"] == "False"
        print(f"TopicsReady True {took:.1f} s after the topic was created")

        # Idle: several more listings (same topics) must not rewrite the status.
        version = obj["metadata"]["resourceVersion"]
        time.sleep(INTERVAL * 4)
        assert get_hes(custom_objects, namespace, "reader")["metadata"]["resourceVersion"] == (
            version
        ), "the resource was rewritten while nothing changed"
    finally:
        asyncio.run(_admin(kafka, delete=topic))
