"""Edges of valid input that used to render something surprising."""

from __future__ import annotations

from typing import Any

import pytest

from cases.valid_resources import BOOTSTRAP, document
from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render import RenderDefaults, Rendered, render
from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.contract import Env

pytestmark = pytest.mark.unit


def render_spec(spec: dict[str, Any]) -> Rendered:
    resource = HuleEduService.model_validate(document("svc", spec))
    return render(resource, RenderDefaults(kafka_bootstrap_servers=BOOTSTRAP))


def test_an_http_service_with_kafka_and_no_topics_renders_no_kafka_topics() -> None:
    # kafka: {} on an http service is a producer: it needs the brokers, not a topic list.
    (config,) = render_spec({"type": "http", "kafka": {}}).by_kind("ConfigMap")
    assert Env.KAFKA_TOPICS not in config["data"]
    assert config["data"][Env.KAFKA_BOOTSTRAP_SERVERS] == BOOTSTRAP
    read = ServiceSettings(_env_file=None, **{k.lower(): v for k, v in config["data"].items()})  # type: ignore[call-arg]
    assert read.kafka_topics == []


def test_a_consumer_still_gets_its_topics_comma_separated() -> None:
    (config,) = render_spec({"type": "worker", "kafka": {"topics": ["a", "b"]}}).by_kind(
        "ConfigMap"
    )
    assert config["data"][Env.KAFKA_TOPICS] == "a,b"


@pytest.mark.parametrize(
    ("budget", "limit"),
    [
        ({"minAvailable": "50%"}, {"minAvailable": "50%"}),
        ({"maxUnavailable": "25%"}, {"maxUnavailable": "25%"}),
    ],
)
def test_a_percentage_budget_reaches_the_pdb_as_written(
    budget: dict[str, Any], limit: dict[str, Any]
) -> None:
    (pdb,) = render_spec({"type": "http", "replicas": 4, "disruptionBudget": budget}).by_kind(
        "PodDisruptionBudget"
    )
    assert limit.items() <= pdb["spec"].items()
