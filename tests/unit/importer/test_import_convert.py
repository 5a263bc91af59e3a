"""The importer's rules over whole projects built in memory (no files)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.importer import ComposeProject, convert
from huleedu_operator.importer.rules import PLACEHOLDER

pytestmark = pytest.mark.unit


def project(services: dict[str, Any], **kw: Any) -> ComposeProject:
    traced = kw.pop("traced", {})
    return ComposeProject(
        services=services, traced={**services, **traced}, volumes=kw.pop("volumes", {})
    )


def by_name(docs: tuple[dict[str, Any], ...]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs}


def rules_for(result: Any, service: str) -> list[str]:
    return [f.rule for f in result.findings if f.service == service]


API = {
    "image": "ghcr.io/huleedu/essay:1",
    "command": ["pdm", "run", "start"],
    "ports": ["6001:6000"],
}
WORKER = {
    "image": "ghcr.io/huleedu/essay:1",
    "command": ["pdm", "run", "start_worker"],
    "environment": {
        "ESSAY_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "ESSAY_SUBMITTED_TOPIC": "huleedu.essay.submitted.v1",
        "ESSAY_CONTENT_URL": "http://content_service:8000/v1/content",
    },
}
CONTENT = {"image": "ghcr.io/huleedu/content:1", "ports": ["8001:8000"]}


def test_one_image_two_commands_becomes_two_resources_with_their_own_args() -> None:
    result = convert(
        project({"essay_api": API, "essay_worker": WORKER, "content_service": CONTENT})
    )
    docs = by_name(result.resources)
    api, worker = docs["essay-api"]["spec"], docs["essay-worker"]["spec"]
    assert api["image"] == worker["image"] == "ghcr.io/huleedu/essay:1"
    assert (api["type"], api["args"]) == ("http", ["pdm", "run", "start"])
    assert (worker["type"], worker["args"]) == ("worker", ["pdm", "run", "start_worker"])
    assert "command" not in api  # compose's command is Kubernetes' args
    assert "shared-images" in rules_for(result, "")


def test_a_worker_gets_kafka_prefix_and_rewritten_urls() -> None:
    result = convert(project({"essay_worker": WORKER, "content_service": CONTENT}), "huleedu")
    spec = by_name(result.resources)["essay-worker"]["spec"]
    assert spec["envPrefix"] == "ESSAY_"
    assert spec["kafka"] == {
        "bootstrapServers": "kafka:9092",
        "topics": ["huleedu.essay.submitted.v1"],
    }
    assert spec["settings"] == {
        "CONTENT_URL": "http://content-service.huleedu.svc:8000/v1/content",
        "SUBMITTED_TOPIC": "huleedu.essay.submitted.v1",
    }
    assert "port" not in spec


def test_without_a_namespace_urls_use_the_short_service_name() -> None:
    result = convert(project({"essay_worker": WORKER, "content_service": CONTENT}))
    spec = by_name(result.resources)["essay-worker"]["spec"]
    assert spec["settings"]["CONTENT_URL"] == "http://content-service:8000/v1/content"
    assert "namespace" not in by_name(result.resources)["essay-worker"]["metadata"]


def test_a_url_to_a_worker_or_to_infrastructure_is_reported_not_rewritten() -> None:
    app = {
        "image": "app:1",
        "ports": ["80:8080"],
        "environment": {"W": "http://essay_worker:9090", "R": "redis://redis:6379/0"},
    }
    services = {"app": app, "essay_worker": WORKER, "redis": {"image": "redis:7"}}
    result = convert(project(services))
    spec = by_name(result.resources)["app"]["spec"]
    assert spec["settings"] == {"R": "redis://redis:6379/0", "W": "http://essay_worker:9090"}
    messages = [f.message for f in result.findings if f.service == "app" and f.rule == "urls"]
    assert any("a worker" in m for m in messages)
    assert any("Redis" in m for m in messages)


def test_secrets_become_secret_key_refs_and_a_skeleton_without_values() -> None:
    app = {
        "image": "app:1",
        "ports": ["8000"],
        "environment": {
            "APP_DATABASE_URL": "postgresql+asyncpg://huleedu:hunter2@db:5432/x",
            "APP_JWT": "jwt-value",
            "APP_LITERAL_DSN": "postgres://u:inline-pw@db/x",
            "APP_LOG_LEVEL": "INFO",
        },
    }
    traced = {
        "app": {
            **app,
            "environment": {
                "APP_DATABASE_URL": "postgresql+asyncpg://${DB_USER}:${DB_PASSWORD}@db:5432/x",
                "APP_JWT": "${JWT_SECRET_KEY}",
                "APP_LITERAL_DSN": "postgres://u:inline-pw@db/x",
                "APP_LOG_LEVEL": "INFO",
            },
        }
    }
    result = convert(project({"app": app}, traced=traced), "ns")
    spec = by_name(result.resources)["app"]["spec"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in spec["env"]}
    assert refs == {
        n: {"name": "app-credentials", "key": n}
        for n in ("APP_DATABASE_URL", "APP_JWT", "APP_LITERAL_DSN")
    }
    assert spec["settings"] == {"LOG_LEVEL": "INFO"}
    (secret,) = result.secrets
    assert secret["kind"] == "Secret"
    assert secret["metadata"]["namespace"] == "ns"
    assert secret["stringData"] == dict.fromkeys(refs, PLACEHOLDER)
    everything = repr(result)
    for value in ("hunter2", "jwt-value", "inline-pw"):
        assert value not in everything


def test_infrastructure_and_one_shot_containers_are_reported_not_converted() -> None:
    services = {
        "db": {"image": "postgres:16"},
        "kafka": {"image": "confluentinc/cp-kafka:7.6.1"},
        "topics": {
            "image": "confluentinc/cp-kafka:7.6.1",
            "restart": "no",
            "command": ["bash", "-c", "kafka-topics --create --topic a.v1"],
        },
        "app": {**CONTENT, "depends_on": {"db": {"condition": "service_healthy"}}},
    }
    result = convert(project(services))
    assert [r["metadata"]["name"] for r in result.resources] == ["app"]
    assert rules_for(result, "db") == ["infrastructure"]
    assert (
        "CloudNativePG" in result.findings[[f.service for f in result.findings].index("db")].message
    )
    topics = [f for f in result.findings if f.service == "topics"]
    assert [f.rule for f in topics] == ["ordering"]
    assert "a.v1" in topics[0].message
    ordering = [f.message for f in result.findings if f.service == "app" and f.rule == "ordering"]
    assert ordering
    assert "no start ordering" in ordering[0]


def test_a_service_that_is_neither_http_nor_worker_is_reported() -> None:
    result = convert(project({"thing": {"image": "thing:1", "command": ["sleep", "1"]}}))
    assert result.resources == ()
    assert rules_for(result, "thing") == ["type"]


def test_a_worker_without_topics_is_reported_not_emitted_invalid() -> None:
    worker = {"image": "w:1", "command": ["start_worker"], "environment": {"X": "1"}}
    result = convert(project({"w": worker}))
    assert result.resources == ()
    assert "kafka" in rules_for(result, "w")


def test_reserved_and_port_env_become_spec_fields() -> None:
    app = {
        "image": "app:1",
        "environment": {
            "SVC_PORT": "9095",
            "SVC_KAFKA_BOOTSTRAP_SERVERS": "PLAINTEXT://kafka:9092",
            "SVC_KAFKA_TOPICS": "a.v1,b.v1",
            "SVC_KAFKA_CONSUMER_GROUP": "grp",
            "SVC_SERVICE_NAME": "x",
        },
    }
    result = convert(project({"svc": app}))
    spec = by_name(result.resources)["svc"]["spec"]
    assert spec["port"] == 9095
    assert spec["kafka"] == {
        "bootstrapServers": "kafka:9092",
        "consumerGroup": "grp",
        "topics": ["a.v1", "b.v1"],
    }
    assert "settings" not in spec
    assert any("SERVICE_NAME" in f.message for f in result.findings)


def test_the_healthcheck_port_is_the_port_when_nothing_else_says() -> None:
    app = {
        "image": "app:1",
        "healthcheck": {"test": "curl -f http://localhost:7000/ping", "interval": "5s"},
    }
    spec = by_name(convert(project({"app": app})).resources)["app"]["spec"]
    assert spec["port"] == 7000
    assert spec["probes"]["readiness"] == {"path": "/ping", "port": 7000, "periodSeconds": 5}


def test_names_that_collide_after_dashing_are_reported() -> None:
    result = convert(project({"a_b": CONTENT, "a-b": CONTENT}))
    assert [r["metadata"]["name"] for r in result.resources] == ["a-b"]
    assert "names" in rules_for(result, "a_b")


def test_every_emitted_resource_validates() -> None:
    result = convert(
        project({"essay_api": API, "essay_worker": WORKER, "content_service": CONTENT})
    )
    for doc in result.resources:
        HuleEduService.model_validate(doc)


def test_output_does_not_depend_on_the_order_services_were_declared() -> None:
    services = {"essay_api": API, "essay_worker": WORKER, "content_service": CONTENT}
    first = convert(project(services), "ns")
    names = list(services)
    random.Random(7).shuffle(names)
    again = convert(project({n: services[n] for n in names}), "ns")
    assert again == first


def test_an_unconverted_key_several_services_share_is_reported_once() -> None:
    a = {**CONTENT, "logging": {"driver": "json-file"}, "user": "1000"}
    b = {**CONTENT, "logging": {"driver": "json-file"}}
    result = convert(project({"a": a, "b": b}))
    unconverted = [(f.service, f.message) for f in result.findings if f.rule == "unconverted"]
    assert ("", "logging (a, b): the cluster's log pipeline collects stdout") in unconverted
    assert [s for s, m in unconverted if m.startswith("user")] == ["a"]


def test_a_volume_the_api_refuses_is_reported_in_its_words() -> None:
    app = {**CONTENT, "volumes": [{"type": "volume", "source": "c", "target": "/tmp/c"}]}
    result = convert(project({"app": app}, volumes={"c": None}))
    assert "volumes" not in by_name(result.resources)["app"]["spec"]
    (note,) = [f.message for f in result.findings if f.rule == "volumes"]
    assert "spec.volumes[].mountPath: may not be at, under or above" in note


def test_an_http_service_with_brokers_but_no_topics_says_topics_empty() -> None:
    # The CRD's rules on spec.kafka read self.topics (no schema default): the API server
    # refuses a kafka block without it, so the importer always writes it.
    app = {**CONTENT, "environment": {"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"}}
    spec = by_name(convert(project({"app": app})).resources)["app"]["spec"]
    assert spec["kafka"] == {"bootstrapServers": "kafka:9092", "topics": []}


def test_a_worker_with_an_http_healthcheck_stays_a_worker_probed_on_its_metrics_port() -> None:
    worker = {
        **WORKER,
        "healthcheck": {"test": ["CMD", "curl", "-f", "http://localhost:9091/healthz"]},
    }
    api = {**API, "environment": {"ESSAY_WORKER_URL": "http://essay_worker:9091/x"}}
    result = convert(project({"essay_worker": worker, "essay_api": api}), "ns")
    spec = by_name(result.resources)["essay-worker"]["spec"]
    assert spec["type"] == "worker"
    assert "port" not in spec
    assert spec["metrics"] == {"port": 9091}
    assert spec["probes"]["readiness"] == {"path": "/healthz", "port": 9091}
    # No Service, so a URL to it is reported, not rewritten.
    assert any("a worker: workers have no Service" in f.message for f in result.findings)
    settings = by_name(result.resources)["essay-api"]["spec"]["settings"]
    assert settings["ESSAY_WORKER_URL"] == "http://essay_worker:9091/x"


def test_a_runtime_example_leaves_out_image_command_and_args_and_keeps_the_wiring() -> None:
    api = {**API, "healthcheck": {"test": "curl -f http://localhost:6000/healthz/ready"}}
    services = {"essay_api": api, "essay_worker": WORKER, "content_service": CONTENT}
    result = convert(project(services), "ns", runtime_examples={"essay_api", "essay_worker"})
    docs = by_name(result.resources)
    for name in ("essay-api", "essay-worker"):
        assert not {"image", "command", "args"} & set(docs[name]["spec"]), name
        HuleEduService.model_validate(docs[name])
    assert docs["essay-api"]["spec"]["port"] == 6000
    assert docs["essay-worker"]["spec"]["kafka"]["topics"] == ["huleedu.essay.submitted.v1"]
    assert docs["content-service"]["spec"]["image"] == "ghcr.io/huleedu/content:1"
    lines = {f.service: f.message for f in result.findings if f.rule == "image"}
    assert set(lines) == {"essay_api", "essay_worker"}
    assert "examples.event_worker.worker:create_processor" in lines["essay_worker"]
    assert "was ghcr.io/huleedu/essay:1 pdm run start_worker" in lines["essay_worker"]
    # A probe path the example does not serve is said up front.
    assert "does not serve the probe path /healthz/ready" in lines["essay_api"]
    assert "does not serve" not in lines["essay_worker"]
    # The two no longer share an image, so no shared-images line names them.
    assert "shared-images" not in rules_for(result, "")


def test_a_worker_s_start_ordering_note_does_not_promise_a_service() -> None:
    worker = {**WORKER, "depends_on": {"kafka": {"condition": "service_started"}}}
    result = convert(project({"essay_worker": worker}))
    (line,) = [f.message for f in result.findings if f.rule == "ordering"]
    assert "out of its Service" not in line
    assert "a worker has no Service" in line
