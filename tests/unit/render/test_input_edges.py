"""Edges of valid input that used to render something surprising."""

from __future__ import annotations

from typing import Any

import pytest

from cases.valid_resources import BOOTSTRAP, document
from huleedu_operator.api.v1alpha1 import RESERVED_ENV, HuleEduService, reserved_env_names
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


# --- every name the operator renders is reserved ---------------------------------------

_EVERYTHING = {
    "type": "worker",
    "replicas": 2,
    "kafka": {
        "topics": ["a"],
        "partitions": 4,
        "consumerGroup": "g",
        "sessionTimeoutMs": 30000,
        "heartbeatIntervalMs": 3000,
        "maxPollIntervalMs": 60000,
        "handlerTimeoutSeconds": 60,
        "security": {
            "protocol": "SASL_SSL",
            "sasl": {"secretRef": {"name": "kafka-credentials"}},
            "tls": {"secretRef": {"name": "kafka-tls"}},
        },
    },
    "metrics": {"port": 9100},
}


@pytest.mark.parametrize("prefix", [None, "EVENT_WORKER_"])
@pytest.mark.parametrize("kind", ["http", "worker"])
def test_every_env_name_the_operator_renders_is_reserved(prefix: str | None, kind: str) -> None:
    spec: dict[str, Any] = {**_EVERYTHING, "type": kind}
    if prefix:
        spec["envPrefix"] = prefix
    result = render_spec(spec)
    (deployment,) = result.by_kind("Deployment")
    (app,) = deployment["spec"]["template"]["spec"]["containers"]
    (config,) = result.by_kind("ConfigMap")
    rendered = {e["name"] for e in app["env"]} | {
        f"{source.get('prefix', '')}{key}" for source in app["envFrom"] for key in config["data"]
    }
    assert rendered <= reserved_env_names(prefix)
    assert {Env.KAFKA_SASL_PASSWORD, Env.KAFKA_SECURITY_PROTOCOL, Env.KAFKA_SSL_DIR} <= rendered


def test_the_runtimes_kafka_tls_files_are_reserved_too() -> None:
    # Not rendered (the runtime finds them in KAFKA_SSL_DIR), but read: a setting would
    # point the runtime at another CA.
    assert {Env.KAFKA_SSL_CAFILE, Env.KAFKA_SSL_CERTFILE, Env.KAFKA_SSL_KEYFILE} <= set(
        RESERVED_ENV
    )
