"""Pure pieces of the worker: backoff, dead-letter envelopes, option mapping."""

from __future__ import annotations

import pydantic
import pytest

from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.worker import KafkaEventProcessor, dead_letter_topic
from huleedu_runtime.worker.consumer import backoff_delay
from huleedu_runtime.worker.dead_letter import dead_letter_headers
from huleedu_runtime.worker.kafka_options import consumer_options

pytestmark = pytest.mark.unit


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(n, 0.5, 3.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]


def test_dead_letter_topic_uses_the_contract_suffix() -> None:
    assert dead_letter_topic("huleedu.essay.v1") == "huleedu.essay.v1.DLQ"


def test_dead_letter_headers_keep_the_originals_and_say_why() -> None:
    headers = dict(
        dead_letter_headers(
            original_headers=[("X-Correlation-ID", b"c1"), ("x-huleedu-dlq-reason", b"old")],
            topic="t",
            partition=2,
            offset=41,
            error=ValueError("bad payload"),
            attempts=4,
            service="svc",
            consumer_group="grp",
        )
    )
    assert headers["X-Correlation-ID"] == b"c1"
    assert headers["x-huleedu-dlq-reason"] == b"ValueError: bad payload"
    assert headers["x-huleedu-dlq-original-offset"] == b"41"
    assert headers["x-huleedu-dlq-attempts"] == b"4"


def test_the_dead_letter_reason_of_a_validation_error_names_fields_but_not_input_values() -> None:
    class Essay(pydantic.BaseModel):
        student_email: str | None = None
        words: int
        text: str = pydantic.Field(max_length=5)

    try:
        Essay.model_validate(
            {"student_email": 42, "words": "secret-student@example.com", "text": "confidential"}
        )
    except pydantic.ValidationError as exc:
        error = exc
    headers = dict(
        dead_letter_headers(
            original_headers=[],
            topic="t",
            partition=0,
            offset=1,
            error=error,
            attempts=1,
            service="svc",
            consumer_group="grp",
        )
    )
    reason = headers["x-huleedu-dlq-reason"].decode()
    for leaked in ("secret-student", "example.com", "confidential", "42", "input_value"):
        assert leaked not in reason
    assert reason.startswith("ValidationError: 3 validation errors for Essay")
    for field in ("student_email", "words", "text"):
        assert field in reason
    assert "int_parsing" in reason
    assert "at most 5 characters" in reason


def test_the_consumer_never_auto_commits() -> None:
    options = consumer_options(ServiceSettings(kafka_consumer_group="g", _env_file=None))
    assert options["enable_auto_commit"] is False
    assert options["group_id"] == "g"


def test_a_worker_without_topics_is_refused_with_the_env_name() -> None:
    async def handler(*_: object) -> None: ...

    with pytest.raises(ValueError, match="KAFKA_TOPICS"):
        KafkaEventProcessor(ServiceSettings(kafka_topics=[], _env_file=None), handler)


def test_the_lock_free_histogram_exposes_a_standard_prometheus_histogram() -> None:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from huleedu_runtime.worker.metrics import LoopHistogram

    registry = CollectorRegistry()
    histogram = LoopHistogram("t_seconds", "test", ["topic"], [0.1, 1.0], registry=registry)
    for value in (0.05, 0.1, 0.5, 2.0):
        histogram.labels("a").observe(value)

    (family,) = text_string_to_metric_families(generate_latest(registry).decode())
    samples = {(s.name, s.labels.get("le")): s.value for s in family.samples}
    assert family.type == "histogram"
    assert samples[("t_seconds_bucket", "0.1")] == 2  # le is inclusive
    assert samples[("t_seconds_bucket", "1.0")] == 3
    assert samples[("t_seconds_bucket", "+Inf")] == 4
    assert samples[("t_seconds_count", None)] == 4
    assert samples[("t_seconds_sum", None)] == pytest.approx(2.65)
