"""Each rule of the compose importer (README, "Moving from docker compose"), one function
at a time. Pure: no files, no network, no subprocess."""

from __future__ import annotations

import dataclasses

import pytest

from huleedu_operator.importer import rules
from huleedu_operator.importer.rules import (
    GUESSED_CLAIM_SIZE,
    HealthCheck,
    bootstrap_servers,
    bootstrap_topics,
    common_prefix,
    consumed_topic_vars,
    container_ports,
    dns_label,
    duration_seconds,
    has_embedded_password,
    image_repository,
    infrastructure_of,
    is_one_shot,
    is_worker_command,
    looks_like_credential,
    parse_healthcheck,
    port_from_env,
    probes_from,
    rewrite_urls,
    secret_reason,
    volume_entry,
    volume_note,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("compose", "label"),
    [
        ("content_service", "content-service"),
        ("Essay_Lifecycle__API", "essay-lifecycle-api"),
        ("web.1", "web-1"),
        ("_private_", "private"),
        ("1st_service", "svc-1st-service"),
        ("x" * 80, "x" * 63),
    ],
)
def test_names_become_dns_labels(compose: str, label: str) -> None:
    assert dns_label(compose) == label


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        (["8001:8000"], [8000]),
        (["8000"], [8000]),
        (["127.0.0.1:8001:8000/tcp"], [8000]),
        ([8000], [8000]),
        ([{"target": 4001, "published": 4001}], [4001]),
        (["8001:8000", "9091:9090"], [8000, 9090]),
        (["7000-7001:7000-7001"], []),
        (None, []),
    ],
)
def test_the_port_is_the_container_side_of_ports(ports: object, expected: list[int]) -> None:
    assert container_ports(ports) == expected  # type: ignore[arg-type]


def test_without_ports_the_env_sets_the_port_plain_http_or_prefixed() -> None:
    assert port_from_env({"PORT": "5001"}, None) == ("PORT", 5001)
    assert port_from_env({"HTTP_PORT": "4002"}, None) == ("HTTP_PORT", 4002)
    assert port_from_env({"CJ_PORT": "9095", "CJ_X": "1"}, "CJ_") == ("CJ_PORT", 9095)
    assert port_from_env({"CJ_PORT": "9095"}, None) is None
    assert port_from_env({"PORT": "${PORT}"}, None) is None


@pytest.mark.parametrize(
    ("test", "path", "port"),
    [
        (["CMD", "curl", "-f", "http://localhost:8000/healthz"], "/healthz", 8000),
        (["CMD-SHELL", "curl -f http://localhost:6000/healthz || exit 1"], "/healthz", 6000),
        ("curl -f http://127.0.0.1:4002/healthz/ready", "/healthz/ready", 4002),
        (["CMD", "wget", "-q", "-O-", "http://0.0.0.0:5001/h"], "/h", 5001),
        (
            ["CMD", "python", "-c", "urllib.request.urlopen('http://localhost:8090/healthz')"],
            "/healthz",
            8090,
        ),
        (["CMD", "curl", "http://localhost"], "/", 80),
    ],
)
def test_the_healthcheck_url_sets_probe_path_and_port(test: object, path: str, port: int) -> None:
    check = parse_healthcheck({"test": test})
    assert check is not None
    assert (check.path, check.port) == (path, port)


@pytest.mark.parametrize(
    "healthcheck",
    [
        None,
        {"test": ["CMD-SHELL", "pg_isready -U huleedu"]},
        {"test": ["NONE"]},
        {"test": ["CMD", "curl", "http://localhost:8000/x"], "disable": True},
        {"test": ["CMD", "curl", "http://content_service:8000/healthz"]},  # not itself
    ],
)
def test_a_healthcheck_that_is_not_an_http_get_on_itself_is_not_a_probe(
    healthcheck: object,
) -> None:
    assert parse_healthcheck(healthcheck) is None  # type: ignore[arg-type]


def test_healthcheck_timings_become_probe_timings() -> None:
    check = parse_healthcheck(
        {
            "test": ["CMD", "curl", "http://localhost:8000/healthz"],
            "interval": "1m30s",
            "timeout": "500ms",
            "retries": 5,
            "start_period": "40s",
        }
    )
    assert check == HealthCheck("/healthz", 8000, 90, 1, 5, 40)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600), (15, 15), ("7", 7)],
)
def test_compose_durations(text: object, seconds: float) -> None:
    assert duration_seconds(text) == seconds


def test_a_duration_that_is_not_one_is_none() -> None:
    assert duration_seconds("soon") is None
    assert duration_seconds("10sx") is None


CHECK = HealthCheck(path="/healthz", port=8000, period=10, timeout=5, retries=3, start_period=30)


def test_start_period_becomes_a_startup_probe_when_the_api_has_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rules, "api_has_startup_probe", lambda: True)
    probes, notes = probes_from(CHECK, 8000)
    expected = {
        "path": "/healthz",
        "port": 8000,
        "periodSeconds": 10,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }
    assert probes["liveness"] == probes["readiness"] == expected
    # 30s of start_period at one try per 10s, then the usual 3 retries.
    assert probes["startup"] == {**expected, "failureThreshold": 6}
    assert notes == []


def test_without_start_period_a_startup_probe_still_gives_a_slow_start_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # compose only marks a container that fails its healthcheck unhealthy; Kubernetes
    # restarts one that fails liveness, so the import keeps a start allowance.
    monkeypatch.setattr(rules, "api_has_startup_probe", lambda: True)
    check = dataclasses.replace(CHECK, period=5, start_period=None)
    probes, notes = probes_from(check, 8000)
    assert probes["liveness"]["failureThreshold"] == 3
    # 60s at one try per 5s, then the 3 retries.
    assert probes["startup"]["failureThreshold"] == 60 // 5 + 3
    assert probes["startup"]["periodSeconds"] == 5
    (note,) = notes
    assert "no start_period: a startup probe gives it 60s" in note


def test_without_a_startup_probe_start_period_delays_liveness_and_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rules, "api_has_startup_probe", lambda: False)
    probes, notes = probes_from(CHECK, 8000)
    assert "startup" not in probes
    assert probes["liveness"]["initialDelaySeconds"] == 30
    assert "initialDelaySeconds" not in probes["readiness"]
    assert len(notes) == 1
    assert "start_period 30s" in notes[0]


@pytest.mark.parametrize(
    ("argv", "worker"),
    [
        (["pdm", "run", "start_worker"], True),
        (["python", "-m", "app.consumer"], True),
        (["celery", "-A", "x", "worker"], True),
        (["pdm", "run", "start"], False),
        (None, False),
    ],
)
def test_worker_commands(argv: list[str] | None, worker: bool) -> None:
    assert is_worker_command(argv) is worker


@pytest.mark.parametrize(
    ("service", "one_shot"),
    [
        ({"restart": "no"}, True),
        ({"restart": "on-failure:3"}, True),
        ({"restart": "unless-stopped"}, False),
        ({}, False),  # compose's default is "no" too, but most services never say it
        ({"command": ["kafka-topics", "--create", "--topic", "a"]}, True),
        ({"command": "alembic upgrade head"}, True),
        ({"command": "pdm run start"}, False),
    ],
)
def test_one_shot_containers(service: dict[str, object], one_shot: bool) -> None:
    assert is_one_shot(service) is one_shot


def test_topics_of_a_bootstrap_command_are_read_even_inside_sh_c() -> None:
    argv = [
        "bash",
        "-c",
        "kafka-topics --create --topic b.v1 --partitions 3 && "
        "kafka-topics --create --topic=a.v1 && kafka-topics --create --topic b.v1",
    ]
    assert bootstrap_topics(argv) == ["a.v1", "b.v1"]


@pytest.mark.parametrize(
    ("image", "what"),
    [
        ("postgres:16-alpine", "PostgreSQL"),
        ("bitnami/postgresql:16", "PostgreSQL"),
        ("redis:7", "Redis"),
        ("confluentinc/cp-kafka:7.6.1", "Kafka"),
        ("apache/kafka:3.9.0", "Kafka"),
        ("confluentinc/cp-zookeeper:7.6.1", "ZooKeeper"),
        ("jaegertracing/all-in-one:1.57", "Jaeger"),
        ("prom/prometheus:v2.52.0", "Prometheus"),
        ("grafana/grafana:10.4.2", "Grafana"),
        ("registry.local:5000/mirror/redis:7@sha256:abc", "Redis"),
    ],
)
def test_infrastructure_images(image: str, what: str) -> None:
    found = infrastructure_of(image)
    assert found is not None
    assert found[0] == what


def test_an_application_image_is_not_infrastructure_even_from_a_registry_with_a_port() -> None:
    assert infrastructure_of("ghcr.io/huleedu/content-service:1.4.2") is None
    assert image_repository("localhost:5000/team/app:1") == "team/app"


def test_a_common_env_prefix_is_found_and_generic_words_are_not_prefixes() -> None:
    names = ["CONTENT_SERVICE_PORT", "CONTENT_SERVICE_LOG_LEVEL", "CONTENT_SERVICE_X", "DB_USER"]
    assert common_prefix(names) == "CONTENT_SERVICE_"
    assert common_prefix(["KAFKA_BOOTSTRAP_SERVERS", "KAFKA_TOPICS", "KAFKA_GROUP"]) is None
    assert common_prefix(["PORT", "LOG_LEVEL"]) is None
    assert common_prefix(["A_B_X", "A_B_Y", "C", "D", "E"]) is None  # fewer than half


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("DB_PASSWORD", True),
        ("JWT_SECRET_KEY", True),
        ("OPENAI_API_KEY", True),
        ("RESULT_API_TOKEN", True),
        ("KEY_FILE", False),
        ("SECRET_NAME", False),
        ("TOKEN_URL", False),
        ("DB_USER", False),
        ("MONKEY", False),
    ],
)
def test_credential_names(name: str, credential: bool) -> None:
    assert looks_like_credential(name) is credential


def test_secrets_are_found_by_variable_by_embedded_password_and_by_name() -> None:
    assert secret_reason("X", "pw", "${DB_PASSWORD}") == "from ${DB_PASSWORD}"
    assert secret_reason("AUTH", "Bearer t", "Bearer ${API_TOKEN}") == "from ${API_TOKEN}"
    dsn = "postgresql+asyncpg://u:pw@db:5432/x"
    assert secret_reason("DATABASE_URL", dsn, dsn) == "a URL with an embedded password"
    assert secret_reason("SECRET_KEY", "dev", "dev") == "its name says it is a credential"
    assert secret_reason("API_TOKEN", "", "") == "its name says it is a credential"
    assert secret_reason("API_TOKEN", None, None) is None  # no value: reported as pass-through
    assert secret_reason("DB_USER", "huleedu", "${DB_USER}") is None
    assert secret_reason("URL", "http://content:8000", "http://content:8000") is None
    assert not has_embedded_password("redis://redis:6379/0")
    assert has_embedded_password("redis://:pw@redis:6379/0")


def test_inter_service_urls_are_rewritten_to_service_dns_names() -> None:
    targets = {"content_service": "content-service.huleedu.svc"}
    assert (
        rewrite_urls("http://content_service:8000/v1/content", targets)
        == "http://content-service.huleedu.svc:8000/v1/content"
    )
    assert rewrite_urls("http://a@content_service/x", targets) == (
        "http://a@content-service.huleedu.svc/x"
    )
    # Only whole host names: a longer name or another host is left alone.
    assert (
        rewrite_urls("http://content_service_v2:8000", targets) == "http://content_service_v2:8000"
    )
    assert rewrite_urls("redis://redis:6379/0", targets) == "redis://redis:6379/0"


def test_consumed_topics_come_from_kafka_topics_and_for_workers_from_topic_vars() -> None:
    names = ["X_KAFKA_TOPICS", "X_INPUT_TOPIC", "X_OUTPUT_TOPIC", "X_DLQ_TOPIC", "X_URL"]
    assert consumed_topic_vars(names, worker=True) == ["X_INPUT_TOPIC", "X_KAFKA_TOPICS"]
    assert consumed_topic_vars(names, worker=False) == ["X_KAFKA_TOPICS"]


def test_bootstrap_servers_lose_their_listener_scheme() -> None:
    assert bootstrap_servers("kafka:9092") == "kafka:9092"
    assert bootstrap_servers("PLAINTEXT://k1:9092, k2:9093") == "k1:9092,k2:9093"
    assert bootstrap_servers("kafka") is None


def test_volumes_say_pvc_configmap_or_image() -> None:
    named = {"content_data": None}
    pvc = volume_note({"type": "volume", "source": "content_data", "target": "/data"}, named, "c")
    assert "PersistentVolumeClaim content-data" in pvc
    config = volume_note(
        {"type": "bind", "source": "./config/app.toml", "target": "/app/c.toml", "read_only": True},
        named,
        "file-service",
    )
    assert "a ConfigMap" in config
    assert "--from-file=./config/app.toml" in config
    static = volume_note(
        {"type": "bind", "source": "./static", "target": "/app/static", "read_only": True},
        named,
        "file-service",
    )
    assert "an image concern" in static
    writable = volume_note({"type": "bind", "source": "./data", "target": "/d"}, named, "x")
    assert "PersistentVolumeClaim" in writable
    scratch = volume_note({"type": "volume", "target": "/tmp/x"}, named, "x")
    assert "emptyDir" in scratch


def test_a_named_volume_of_one_service_becomes_a_new_claim() -> None:
    mount = {"type": "volume", "source": "content_data", "target": "/data"}
    entry, note = volume_entry(mount, several_pods=False, shared=False)
    assert entry == {
        "name": "content-data",
        "mountPath": "/data",
        "persistentVolumeClaim": {"size": GUESSED_CLAIM_SIZE},
    }
    assert "set yours" in note
    entry, _ = volume_entry(mount, several_pods=True, shared=False)
    assert entry is not None
    assert entry["persistentVolumeClaim"]["accessModes"] == ["ReadWriteMany"]


def test_a_named_volume_shared_by_services_is_one_existing_claim() -> None:
    mount = {"type": "volume", "source": "uploads", "target": "/u", "read_only": True}
    entry, note = volume_entry(mount, several_pods=False, shared=True)
    assert entry == {
        "name": "uploads",
        "mountPath": "/u",
        "persistentVolumeClaim": {"claimName": "uploads", "readOnly": True},
    }
    assert "create it" in note


def test_anonymous_volumes_and_tmpfs_are_empty_dirs_and_binds_have_no_entry() -> None:
    entry, _ = volume_entry({"type": "volume", "target": "/var/cache/x"}, False, False)
    assert entry == {"name": "scratch-x", "mountPath": "/var/cache/x", "emptyDir": {}}
    entry, _ = volume_entry({"type": "tmpfs", "target": "/run/x"}, False, False)
    assert entry is not None
    assert entry["emptyDir"] == {"medium": "Memory"}
    bind = {"type": "bind", "source": "./static", "target": "/srv", "read_only": True}
    assert volume_entry(bind, False, False) == (None, "")


@pytest.mark.parametrize(
    "name",
    ["DB_PASSWORD", "API_KEY", "x_private_key", "JWT_SECRET", "AWS_CREDENTIALS", "PASSWD"],
)
def test_every_name_the_api_refuses_as_a_setting_goes_to_a_secret(name: str) -> None:
    from huleedu_operator.api.v1alpha1 import looks_like_a_credential

    assert looks_like_a_credential(name)
    assert looks_like_credential(name)
