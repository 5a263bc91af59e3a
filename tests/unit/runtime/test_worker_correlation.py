"""A Kafka message's correlation id: checked like the HTTP header before it is trusted.

The worker loop runs against in-memory stand-ins for aiokafka's consumer and producer
(no broker, no sockets); what is asserted is what an operator sees: the JSON log lines
and the headers of the events the handler publishes.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from aiokafka.structs import ConsumerRecord, TopicPartition

from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.contract import CORRELATION_ID_HEADER
from huleedu_runtime.logging import configure_logging
from huleedu_runtime.worker import KafkaEventProcessor, consumer

pytestmark = pytest.mark.unit

TOPIC = "huleedu.test.v1"
RESULTS = "huleedu.test.results.v1"


def record(headers: list[tuple[str, bytes]]) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=TOPIC,
        partition=0,
        offset=7,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=b"{}",
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=2,
        headers=headers,
    )


class FakeProducer:
    sent: list[tuple[str, dict[str, bytes]]]

    def __init__(self, **_: Any) -> None:
        FakeProducer.sent = []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_and_wait(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: Any = None
    ) -> None:
        FakeProducer.sent.append((topic, dict(headers or [])))


class FakeConsumer:
    """Hands out one batch with the records of the test, then nothing."""

    batch: list[ConsumerRecord[bytes, bytes]] = []

    def __init__(self, *_: str, **__: Any) -> None:
        self._pending = list(FakeConsumer.batch)

    def subscribe(self, topics: list[str], listener: Any) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def getmany(self, **_: Any) -> dict[TopicPartition, list[Any]]:
        pending, self._pending = self._pending, []
        return {TopicPartition(TOPIC, 0): pending} if pending else {}

    async def commit(self, _: Any) -> None: ...

    def assignment(self) -> set[TopicPartition]:
        return set()


class JsonLogs:
    """The runtime's JSON log stream, written into a buffer."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def line(self, event: str) -> dict[str, Any]:
        lines = [json.loads(line) for line in self.buffer.getvalue().splitlines()]
        (found,) = [line for line in lines if line["event"] == event]
        return found


@pytest.fixture(autouse=True)
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[JsonLogs]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs = JsonLogs()
    monkeypatch.setattr(sys, "stdout", logs.buffer)
    configure_logging(service_name="worker-test", level="INFO")
    monkeypatch.setattr(consumer, "AIOKafkaConsumer", FakeConsumer)
    monkeypatch.setattr(consumer, "AIOKafkaProducer", FakeProducer)
    yield logs
    root.handlers[:] = handlers
    root.setLevel(level)


async def run_loop(*records: ConsumerRecord[bytes, bytes], handler: Any) -> None:
    """Run the worker loop over ``records``; ``handler`` stops it."""
    FakeConsumer.batch = list(records)
    settings = ServiceSettings(service_name="worker-test", _env_file=None)
    processor = KafkaEventProcessor(settings, handler, topics=[TOPIC])
    await processor.start_processing()


async def handle_one(
    logs: JsonLogs, header: bytes | None
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """One message carrying ``header``, whose handler logs a line and publishes an event.

    Returns that log line and the headers of the published event.
    """
    headers = [("source", b"test")]
    if header is not None:
        headers.append((CORRELATION_ID_HEADER, header))
    log = structlog.get_logger("test.handler")

    async def handler(_: Any, publisher: KafkaEventProcessor) -> None:
        log.info("handled")
        await publisher.publish(RESULTS, b"{}")
        await publisher.stop_processing()

    await run_loop(record(headers), handler=handler)
    ((topic, published),) = FakeProducer.sent
    assert topic == RESULTS
    return logs.line("handled"), published


async def test_a_plain_correlation_id_is_logged_and_passed_on_to_published_events(
    logs: JsonLogs,
) -> None:
    line, published = await handle_one(logs, b"req-42.a:b_c")
    assert line["correlation_id"] == "req-42.a:b_c"
    assert "correlation_id_rejected" not in line
    assert published[CORRELATION_ID_HEADER] == b"req-42.a:b_c"


@pytest.mark.parametrize("header", [None, b""], ids=["absent", "empty"])
async def test_a_message_without_a_correlation_id_passes_none_on(
    logs: JsonLogs, header: bytes | None
) -> None:
    line, published = await handle_one(logs, header)
    assert not line["correlation_id"]
    assert "correlation_id_rejected" not in line
    assert CORRELATION_ID_HEADER not in published


@pytest.mark.parametrize(
    "bad",
    [
        b"a" * 129,
        b"x" * 100_000,
        b"a b",
        b'req-1\n{"level": "critical"}',
        b"req-1\n",
        b"<script>alert(1)</script>",
        b"\xff\xfe\x00",
    ],
    ids=[
        "129-chars",
        "100k",
        "space",
        "log-injection",
        "trailing-newline",
        "markup",
        "binary",
    ],
)
async def test_an_unsafe_correlation_id_is_replaced_by_a_fresh_one_and_the_log_says_so(
    logs: JsonLogs, bad: bytes
) -> None:
    line, published = await handle_one(logs, bad)
    fresh = published[CORRELATION_ID_HEADER].decode()
    uuid.UUID(fresh)
    assert line["correlation_id"] == fresh, "one id per message, in the logs and downstream"
    rejected = line["correlation_id_rejected"]
    assert isinstance(rejected, str)
    assert len(rejected) <= 80, "the field is bounded whatever was sent"
    assert "\n" not in rejected
    if len(bad) > 3:
        assert bad.decode(errors="replace") not in rejected, "the bad value is not echoed"
    assert f"{len(bad.decode(errors='replace'))} chars" in rejected


async def test_the_fresh_id_is_the_same_on_every_log_line_of_the_message(logs: JsonLogs) -> None:
    log = structlog.get_logger("test.handler")

    async def handler(_: Any, publisher: KafkaEventProcessor) -> None:
        log.info("first")
        log.info("second")
        await publisher.stop_processing()

    await run_loop(record([(CORRELATION_ID_HEADER, b"no spaces allowed")]), handler=handler)
    first, second = logs.line("first"), logs.line("second")
    uuid.UUID(first["correlation_id"])
    assert first["correlation_id"] == second["correlation_id"]
    assert first["correlation_id_rejected"] == second["correlation_id_rejected"]
