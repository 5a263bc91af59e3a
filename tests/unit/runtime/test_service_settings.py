"""ServiceSettings reads the contract's names, prefixed names first."""

from __future__ import annotations

import pytest
from pydantic_settings import SettingsConfigDict

from huleedu_runtime import contract
from huleedu_runtime.config import ServiceSettings

pytestmark = pytest.mark.unit


class PrefixedSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTENT_SERVICE_", env_file=None)


def test_every_contract_env_name_is_a_settings_field() -> None:
    names = [v for k, v in vars(contract.Env).items() if not k.startswith("_")]
    assert names
    missing = [n for n in names if n.lower() not in ServiceSettings.model_fields]
    assert missing == []


def test_defaults_come_from_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORT", "METRICS_PORT", "HOST"):
        monkeypatch.delenv(name, raising=False)
    settings = ServiceSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.port == contract.DEFAULT_HTTP_PORT
    assert settings.metrics_port == contract.DEFAULT_METRICS_PORT
    assert settings.shutdown_timeout_seconds == contract.DEFAULT_SHUTDOWN_TIMEOUT_SECONDS


def test_a_prefixed_name_wins_over_the_plain_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8000")
    monkeypatch.setenv("CONTENT_SERVICE_PORT", "9000")
    assert PrefixedSettings().port == 9000


def test_a_plain_name_still_works_for_a_prefixed_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTENT_SERVICE_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    assert PrefixedSettings().kafka_bootstrap_servers == "kafka:9092"


def test_kafka_topics_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_TOPICS", "a.v1,b.v1")
    assert ServiceSettings().kafka_topics == ["a.v1", "b.v1"]


def test_consumer_group_defaults_to_the_service_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_CONSUMER_GROUP", raising=False)
    monkeypatch.setenv("SERVICE_NAME", "essay-worker")
    assert ServiceSettings().consumer_group == "essay-worker"


def test_secrets_are_not_shown_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "hunter2")
    assert "hunter2" not in repr(ServiceSettings())


def test_the_runtime_does_not_drain_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHUTDOWN_DRAIN_SECONDS", raising=False)
    assert ServiceSettings(_env_file=None).shutdown_drain_seconds == 0  # type: ignore[call-arg]
    monkeypatch.setenv("SHUTDOWN_DRAIN_SECONDS", "7.5")
    assert ServiceSettings(_env_file=None).shutdown_drain_seconds == 7.5  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("env", "separate"),
    [
        ({"PORT": "8001"}, None),
        ({"PORT": "8001", "METRICS_PORT": "8001"}, None),
        ({"PORT": "8001", "METRICS_PORT": "9100"}, 9100),
        ({"PORT": "8001", "CONTENT_SERVICE_METRICS_PORT": "9100"}, 9100),
    ],
    ids=["unset", "same-as-port", "separate", "prefixed"],
)
def test_an_http_service_opens_a_metrics_port_only_when_set_to_another_port(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], separate: int | None
) -> None:
    for name in ("PORT", "METRICS_PORT", "CONTENT_SERVICE_PORT", "CONTENT_SERVICE_METRICS_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert PrefixedSettings().separate_metrics_port == separate
