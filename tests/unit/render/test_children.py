"""What each kind of resource renders to, stated as behaviour (the golden files pin the
exact bytes; these say which parts matter and why)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cases.valid_resources import (
    BOOTSTRAP,
    SECRET_NAME,
    TLS_SECRET_NAME,
    UID,
    VALID_BY_ID,
    document,
)
from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render import Capability, RenderDefaults, Rendered, RenderError, render
from huleedu_operator.render.autoscaling import KEDA_MISSING
from huleedu_runtime import contract
from huleedu_runtime.config import ServiceSettings

pytestmark = pytest.mark.unit

SCRAPE_ANNOTATIONS = {"prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path"}


def rendered(case_id: str) -> Rendered:
    case = VALID_BY_ID[case_id]
    return render(case.resource(), case.defaults())


def kinds(result: Rendered) -> list[str]:
    return [c["kind"] for c in result.children]


def deployment(result: Rendered) -> dict[str, Any]:
    (found,) = result.by_kind("Deployment")
    return found


def pod_spec(result: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = deployment(result)["spec"]["template"]["spec"]
    return spec


def app(result: Rendered) -> dict[str, Any]:
    (container,) = pod_spec(result)["containers"]
    return dict(container)


def env_map(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def runtime_settings(result: Rendered) -> ServiceSettings:
    """What the runtime reads from the app container's rendered env."""
    values = {k.lower(): v for k, v in env_map(app(result)).items() if isinstance(v, str)}
    known = {k: v for k, v in values.items() if k in ServiceSettings.model_fields}
    return ServiceSettings(_env_file=None, **known)  # type: ignore[call-arg]


def render_spec(spec: dict[str, Any], *caps: Capability) -> Rendered:
    resource = HuleEduService.model_validate(document("svc", spec))
    return render(
        resource, RenderDefaults(kafka_bootstrap_servers=BOOTSTRAP, capabilities=frozenset(caps))
    )


# --- which children ------------------------------------------------------------------


def test_http_renders_deployment_service_and_pdb_in_apply_order() -> None:
    assert kinds(rendered("http")) == [
        "NetworkPolicy",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
    ]


def test_worker_renders_its_kafka_configmap_first_and_no_service() -> None:
    assert kinds(rendered("worker")) == [
        "ConfigMap",
        "NetworkPolicy",
        "Deployment",
        "PodDisruptionBudget",
    ]


def test_hybrid_http_service_with_kafka_gets_service_and_configmap() -> None:
    result = rendered("hybrid-http-kafka")
    assert kinds(result) == [
        "ConfigMap",
        "NetworkPolicy",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
    ]
    (config,) = result.by_kind("ConfigMap")
    assert config["data"]["KAFKA_TOPICS"] == "huleedu.batch.completed.v1,huleedu.batch.failed.v1"
    assert config["data"]["KAFKA_CONSUMER_GROUP"] == "batch-orchestrator"
    (service,) = result.by_kind("Service")
    assert service["spec"]["ports"][0]["port"] == 5001


def test_children_are_named_after_the_resource() -> None:
    for case_id in ("worker-sasl-tls-keda", "http-monitoring", "http-autoscaled-hpa"):
        case = VALID_BY_ID[case_id]
        name = case.document["metadata"]["name"]
        for child in render(case.resource(), case.defaults()).children:
            assert child["metadata"]["name"] in (name, f"{name}-kafka")


# --- autoscaling -------------------------------------------------------------------


def test_autoscaled_http_gets_an_hpa_and_the_deployment_leaves_replicas_to_it() -> None:
    result = rendered("http-autoscaled-hpa")
    (hpa,) = result.by_kind("HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] == 2
    assert hpa["spec"]["maxReplicas"] == 8
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "api-gateway",
    }
    target = hpa["spec"]["metrics"][0]["resource"]["target"]
    assert target == {"type": "Utilization", "averageUtilization": 70}
    assert "replicas" not in deployment(result)["spec"]
    assert not result.warnings


def test_autoscaled_worker_with_keda_gets_a_scaled_object_on_the_consumers_own_settings() -> None:
    result = rendered("worker-autoscaled-keda")
    (scaled,) = result.by_kind("ScaledObject")
    (config,) = result.by_kind("ConfigMap")
    triggers = scaled["spec"]["triggers"]
    assert [t["metadata"]["topic"] for t in triggers] == [
        "huleedu.essay.a.v1",
        "huleedu.essay.b.v1",
    ]
    for trigger in triggers:
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["consumerGroup"] == config["data"]["KAFKA_CONSUMER_GROUP"]
        assert trigger["metadata"]["bootstrapServers"] == config["data"]["KAFKA_BOOTSTRAP_SERVERS"]
        assert trigger["metadata"]["lagThreshold"] == "25"
    assert scaled["spec"]["maxReplicaCount"] == 4
    assert "replicas" not in deployment(result)["spec"]
    assert not result.by_kind("HorizontalPodAutoscaler")
    assert not result.warnings


def test_autoscaled_worker_without_keda_warns_and_keeps_spec_replicas() -> None:
    result = rendered("worker-autoscaled-without-keda")
    assert result.warnings == (KEDA_MISSING,)
    assert result.warnings[0].startswith("spec.autoscaling: ")
    assert deployment(result)["spec"]["replicas"] == 2
    assert not result.by_kind("ScaledObject")
    assert not result.by_kind("HorizontalPodAutoscaler")


def test_disabled_autoscaling_renders_no_autoscaler_and_keeps_replicas() -> None:
    result = render_spec(
        {"type": "http", "replicas": 3, "autoscaling": {"enabled": False, "maxReplicas": 9}}
    )
    assert not result.by_kind("HorizontalPodAutoscaler")
    assert deployment(result)["spec"]["replicas"] == 3


# --- environment ---------------------------------------------------------------------


def test_prefixed_env_renders_every_contract_and_settings_name_twice() -> None:
    env = env_map(app(rendered("http-prefixed-env")))
    for name in ("SERVICE_NAME", "PORT", "SHUTDOWN_TIMEOUT_SECONDS", "ENVIRONMENT"):
        assert env[name] == env[f"CONTENT_SERVICE_{name}"], name
    assert env["CONTENT_SERVICE_PORT"] == "8001"
    assert env["ENVIRONMENT"] == "production"


def test_prefixed_env_imports_the_kafka_configmap_plain_and_prefixed() -> None:
    env_from = app(rendered("http-prefixed-env"))["envFrom"]
    assert env_from == [
        {"configMapRef": {"name": "content-service-kafka"}},
        {"configMapRef": {"name": "content-service-kafka"}, "prefix": "CONTENT_SERVICE_"},
        {"configMapRef": {"name": "shared-settings"}},
    ]


def test_a_users_env_entry_overrides_a_setting_of_the_same_name_once() -> None:
    container = app(rendered("http-prefixed-env"))
    names = [e["name"] for e in container["env"]]
    assert names.count("LOG_LEVEL") == 1
    assert env_map(container)["LOG_LEVEL"] == "DEBUG"
    assert env_map(container)["CONTENT_SERVICE_LOG_LEVEL"] == "INFO"


def test_worker_serves_metrics_on_the_contract_metrics_port() -> None:
    container = app(rendered("worker"))
    assert env_map(container)["METRICS_PORT"] == str(contract.DEFAULT_METRICS_PORT)
    assert "PORT" not in env_map(container)
    assert container["ports"] == [
        {"name": "metrics", "containerPort": contract.DEFAULT_METRICS_PORT, "protocol": "TCP"}
    ]


def test_kafka_consumer_settings_go_to_the_configmap_not_the_pod_env() -> None:
    result = rendered("worker")
    (config,) = result.by_kind("ConfigMap")
    assert config["data"] == {
        "KAFKA_AUTO_OFFSET_RESET": "latest",
        "KAFKA_BOOTSTRAP_SERVERS": "kafka-0.kafka:9092",
        "KAFKA_CONSUMER_GROUP": "spellchecker-v2",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "10000",
        "KAFKA_MAX_POLL_INTERVAL_MS": "300000",
        "KAFKA_MAX_POLL_RECORDS": "50",
        "KAFKA_SESSION_TIMEOUT_MS": "30000",
        "KAFKA_TOPICS": "huleedu.spellcheck.requested.v1",
    }
    assert not any(name.startswith("KAFKA_") for name in env_map(app(result)))


def test_the_handler_timeout_is_rendered_only_when_set_and_the_runtime_reads_it() -> None:
    (unset,) = rendered("worker").by_kind("ConfigMap")
    assert contract.Env.KAFKA_HANDLER_TIMEOUT_SECONDS not in unset["data"]
    spec = {
        "type": "worker",
        "image": "w:1",
        "kafka": {"topics": ["t"], "handlerTimeoutSeconds": 0},
    }
    (config,) = render_spec(spec).by_kind("ConfigMap")
    assert config["data"][contract.Env.KAFKA_HANDLER_TIMEOUT_SECONDS] == "0"
    settings = ServiceSettings(
        _env_file=None,
        kafka_handler_timeout_seconds=config["data"]["KAFKA_HANDLER_TIMEOUT_SECONDS"],
    )  # type: ignore[call-arg]
    assert settings.kafka_handler_timeout_seconds == 0


def test_kafka_without_bootstrap_servers_or_operator_default_names_the_field() -> None:
    resource = VALID_BY_ID["worker-monitoring"].resource()
    with pytest.raises(RenderError) as caught:
        render(resource, RenderDefaults())
    assert caught.value.field == "spec.kafka.bootstrapServers"
    assert "HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS" in str(caught.value)


def test_the_default_image_is_told_which_bundled_app_to_run() -> None:
    defaults = RenderDefaults(kafka_bootstrap_servers=BOOTSTRAP)
    http_container = app(rendered("example-content-service"))
    assert http_container["image"] == defaults.runtime_image
    assert http_container["command"] == list(defaults.default_http_command)
    assert "command" not in app(rendered("http"))


# --- probes --------------------------------------------------------------------------


def test_default_probes_follow_the_contract_paths_on_the_app_port() -> None:
    container = app(rendered("http"))
    assert container["livenessProbe"]["httpGet"]["path"] == contract.LIVENESS_PATH
    assert container["readinessProbe"]["httpGet"]["path"] == contract.READINESS_PATH
    assert container["livenessProbe"]["httpGet"]["port"] == contract.DEFAULT_HTTP_PORT


def test_probes_disabled_renders_no_probes_and_no_ports() -> None:
    container = app(rendered("worker-probes-disabled"))
    assert "livenessProbe" not in container
    assert "readinessProbe" not in container
    assert container["ports"] == []
    assert "METRICS_PORT" not in env_map(container)


def test_a_worker_without_http_probes_gets_an_exec_heartbeat_liveness_probe() -> None:
    result = rendered("worker-heartbeat-liveness")
    container = app(result)
    assert "readinessProbe" not in container
    assert container["ports"] == []
    liveness = container["livenessProbe"]
    assert liveness["exec"]["command"] == [
        *contract.HEARTBEAT_COMMAND,
        "--max-age",
        str(contract.HEARTBEAT_MAX_AGE_SECONDS),
    ]
    assert liveness["periodSeconds"] == 15, "the liveness override's timing applies"
    assert liveness["failureThreshold"] == 3
    assert "httpGet" not in liveness
    # The runtime's default heartbeat file is under the writable /tmp the pod mounts.
    assert runtime_settings(result).heartbeat_file == contract.DEFAULT_HEARTBEAT_FILE
    tmp_mounts = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert len(tmp_mounts) == 1
    assert contract.DEFAULT_HEARTBEAT_FILE.startswith("/tmp/")


def test_http_probes_disabled_get_no_heartbeat_probe() -> None:
    spec = {"type": "http", "image": "h:1", "probes": {"enabled": False}}
    assert "livenessProbe" not in app(render_spec(spec))


def test_probe_overrides_keep_unset_fields_at_contract_defaults() -> None:
    container = app(rendered("http-probes-overridden"))
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    assert liveness["httpGet"] == {"path": "/livez", "port": 8001, "scheme": "HTTP"}
    assert liveness["initialDelaySeconds"] == 5
    assert readiness["httpGet"] == {"path": contract.READINESS_PATH, "port": 9100, "scheme": "HTTP"}
    assert readiness["failureThreshold"] == 6


def test_every_probe_port_is_a_declared_container_port() -> None:
    for case_id, case in VALID_BY_ID.items():
        container = app(render(case.resource(), case.defaults()))
        declared = {p["containerPort"] for p in container["ports"]}
        for probe in ("livenessProbe", "readinessProbe"):
            if "httpGet" in container.get(probe, {}):
                assert container[probe]["httpGet"]["port"] in declared, (case_id, probe)


# --- security ------------------------------------------------------------------------


def test_sasl_credentials_are_secret_key_refs_and_tls_is_a_read_only_secret_mount() -> None:
    result = rendered("worker-sasl-tls-keda")
    env = env_map(app(result))
    for name in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "NLP_KAFKA_SASL_PASSWORD"):
        assert env[name] == {
            "secretKeyRef": {"name": SECRET_NAME, "key": env[name]["secretKeyRef"]["key"]}
        }
    assert env["KAFKA_SASL_PASSWORD"]["secretKeyRef"]["key"] == "password"
    (tls_volume,) = [v for v in pod_spec(result)["volumes"] if "secret" in v]
    assert tls_volume["secret"]["secretName"] == TLS_SECRET_NAME
    (mount,) = [m for m in app(result)["volumeMounts"] if m["name"] == tls_volume["name"]]
    assert mount == {
        "name": tls_volume["name"],
        "mountPath": contract.KAFKA_TLS_MOUNT_PATH,
        "readOnly": True,
    }
    (config,) = result.by_kind("ConfigMap")
    assert config["data"]["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    # The directory, never file paths: the runtime uses the files the Secret holds.
    assert config["data"]["KAFKA_SSL_DIR"] == contract.KAFKA_TLS_MOUNT_PATH
    assert not [k for k in config["data"] if k.endswith("FILE")]


@pytest.mark.parametrize("case_id", ["worker-sasl-tls-keda", "worker-ssl-tls-keda"])
def test_the_tls_secret_is_mounted_whole_so_missing_optional_keys_cannot_block_the_pod(
    case_id: str,
) -> None:
    # No `items`: a Secret with only ca.crt mounts fine (listing tls.crt/tls.key would
    # leave the pod in ContainerCreating), and a rotated Secret's new keys appear.
    (tls_volume,) = [v for v in pod_spec(rendered(case_id))["volumes"] if "secret" in v]
    assert "items" not in tls_volume["secret"]
    assert tls_volume["secret"]["secretName"] == TLS_SECRET_NAME


def test_keda_authenticates_with_the_same_secret_references() -> None:
    result = rendered("worker-sasl-tls-keda")
    (auth,) = result.by_kind("TriggerAuthentication")
    assert auth["spec"]["secretTargetRef"] == [
        {"parameter": "username", "name": SECRET_NAME, "key": "username"},
        {"parameter": "password", "name": SECRET_NAME, "key": "password"},
        {"parameter": "ca", "name": TLS_SECRET_NAME, "key": "ca.crt"},
        {"parameter": "cert", "name": TLS_SECRET_NAME, "key": "tls.crt"},
        {"parameter": "key", "name": TLS_SECRET_NAME, "key": "tls.key"},
    ]
    (scaled,) = result.by_kind("ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
    assert trigger["metadata"]["sasl"] == "scram_sha512"
    assert trigger["metadata"]["tls"] == "enable"


def test_an_ssl_only_worker_gets_a_trigger_authentication_with_the_tls_secret() -> None:
    result = rendered("worker-ssl-tls-keda")
    (auth,) = result.by_kind("TriggerAuthentication")
    assert auth["spec"]["secretTargetRef"] == [
        {"parameter": "ca", "name": TLS_SECRET_NAME, "key": "ca.crt"},
        {"parameter": "cert", "name": TLS_SECRET_NAME, "key": "tls.crt"},
        {"parameter": "key", "name": TLS_SECRET_NAME, "key": "tls.key"},
    ]
    (scaled,) = result.by_kind("ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
    # KEDA refuses `tls` set in both the trigger and the TriggerAuthentication.
    assert trigger["metadata"]["tls"] == "enable"
    assert "sasl" not in trigger["metadata"]
    assert not [r for r in auth["spec"]["secretTargetRef"] if r["parameter"] in ("tls", "sasl")]


def test_ssl_without_a_tls_secret_uses_the_system_trust_store_and_needs_no_authentication() -> None:
    case = VALID_BY_ID["worker-ssl-tls-keda"]
    document = copy.deepcopy(case.document)
    del document["spec"]["kafka"]["security"]["tls"]
    result = render(HuleEduService.model_validate(document), case.defaults())
    assert not result.by_kind("TriggerAuthentication")
    (scaled,) = result.by_kind("ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["metadata"]["tls"] == "enable"
    assert "authenticationRef" not in trigger
    (config,) = result.by_kind("ConfigMap")
    assert "KAFKA_SSL_DIR" not in config["data"]


def test_custom_sasl_secret_keys_are_used() -> None:
    env = env_map(app(rendered("http-sasl-plaintext")))
    assert env["KAFKA_SASL_USERNAME"] == {"secretKeyRef": {"name": SECRET_NAME, "key": "user"}}
    assert env["KAFKA_SASL_PASSWORD"] == {"secretKeyRef": {"name": SECRET_NAME, "key": "pass"}}


def _paths_to(node: Any, needle: str, path: str = "") -> list[str]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _paths_to(v, needle, f"{path}.{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _paths_to(v, needle, f"{path}[{i}]")]
    return [path] if node == needle else []


@pytest.mark.parametrize("case_id", ["worker-sasl-tls-keda", "http-sasl-plaintext"])
def test_secrets_are_only_ever_referenced_never_copied(case_id: str) -> None:
    children = rendered(case_id).children
    assert not [c for c in children if c["kind"] == "Secret"]
    allowed_suffixes = (".secretKeyRef.name", ".secret.secretName", "].name")
    for child in children:
        for secret in (SECRET_NAME, TLS_SECRET_NAME):
            for path in _paths_to(child, secret):
                assert path.endswith(allowed_suffixes), f"{child['kind']}{path}"
                assert "secretKeyRef" in path or "secret" in path, f"{child['kind']}{path}"
        for container in (
            child.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
        ):
            for var in container["env"]:
                if "PASSWORD" in var["name"] or "USERNAME" in var["name"]:
                    assert "value" not in var, var["name"]
        if child["kind"] == "ConfigMap":
            assert not [k for k in child["data"] if "PASSWORD" in k or "USERNAME" in k]


# --- monitoring ----------------------------------------------------------------------


def test_http_with_monitoring_gets_a_service_monitor_and_no_scrape_annotations() -> None:
    result = rendered("http-monitoring")
    (monitor,) = result.by_kind("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint == {
        "port": "http",
        "path": "/metrics",
        "interval": "15s",
        "scrapeTimeout": "5s",
    }
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["huleedu"]}
    annotations = deployment(result)["spec"]["template"]["metadata"].get("annotations", {})
    assert not SCRAPE_ANNOTATIONS & annotations.keys()
    (service,) = result.by_kind("Service")
    assert "annotations" not in service["metadata"]


def test_http_without_monitoring_gets_prometheus_io_annotations_instead() -> None:
    result = rendered("http")
    assert not result.by_kind("ServiceMonitor")
    annotations = deployment(result)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "8001"
    assert annotations["prometheus.io/path"] == "/metrics"


def test_worker_with_monitoring_gets_a_pod_monitor_on_the_metrics_port() -> None:
    result = rendered("worker-monitoring")
    assert not result.by_kind("ServiceMonitor")
    (monitor,) = result.by_kind("PodMonitor")
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics"
    port_names = [p["name"] for p in app(result)["ports"]]
    assert "metrics" in port_names


def test_separate_metrics_port_is_exposed_on_the_service_and_scraped_by_name() -> None:
    result = rendered("http-monitoring-separate-metrics-port")
    (service,) = result.by_kind("Service")
    assert [(p["name"], p["port"]) for p in service["spec"]["ports"]] == [
        ("http", 8001),
        ("metrics", 9100),
    ]
    (monitor,) = result.by_kind("ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["endpoints"][0]["path"] == "/internal/metrics"
    assert env_map(app(result))["METRICS_PORT"] == "9100"


def test_the_runtime_reads_the_rendered_metrics_port_as_its_separate_metrics_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Both sides of the contract: the env the operator renders, read by the runtime.
    for name in ("PORT", "METRICS_PORT"):
        monkeypatch.delenv(name, raising=False)
    shared = runtime_settings(rendered("http-monitoring"))
    assert shared.separate_metrics_port is None
    result = rendered("http-monitoring-separate-metrics-port")
    settings = runtime_settings(result)
    assert settings.separate_metrics_port == 9100
    declared = {p["name"]: p["containerPort"] for p in app(result)["ports"]}
    assert declared["metrics"] == settings.separate_metrics_port


def test_a_metrics_port_equal_to_the_http_port_is_one_port_and_no_metrics_port_env() -> None:
    result = render_spec({"type": "http", "port": 8080, "metrics": {"port": 8080}})
    container = app(result)
    assert [p["name"] for p in container["ports"]] == ["http"]
    assert "METRICS_PORT" not in env_map(container)


def test_metrics_disabled_renders_neither_monitor_nor_annotations() -> None:
    result = rendered("http-metrics-disabled")
    assert not result.by_kind("ServiceMonitor")
    annotations = deployment(result)["spec"]["template"]["metadata"].get("annotations", {})
    assert not SCRAPE_ANNOTATIONS & annotations.keys()
    assert "METRICS_PATH" not in env_map(app(result))


# --- migrations ----------------------------------------------------------------------


def test_migrations_run_as_an_init_container_with_the_apps_env_and_security() -> None:
    result = rendered("http-migrations")
    (init,) = pod_spec(result)["initContainers"]
    main = app(result)
    assert init["name"] == "migrations"
    assert init["image"] == main["image"]
    assert init["command"] == ["alembic"]
    assert init["args"] == ["upgrade", "head"]
    assert init["env"] == main["env"]
    assert init["env"] is not main["env"]
    assert init["securityContext"] == main["securityContext"]
    assert init["volumeMounts"] == main["volumeMounts"]
    assert "livenessProbe" not in init


def test_migrations_may_run_in_their_own_image_and_see_the_kafka_settings() -> None:
    result = rendered("worker-migrations-own-image")
    (init,) = pod_spec(result)["initContainers"]
    assert init["image"] == "ghcr.io/huleedu/essay-lifecycle-migrations:2.2.0"
    assert init["envFrom"] == app(result)["envFrom"]
    assert "args" not in init


def test_no_migrations_means_no_init_containers() -> None:
    assert "initContainers" not in pod_spec(rendered("http"))


# --- disruption budget -------------------------------------------------------------


@pytest.mark.parametrize(
    ("case_id", "limit"),
    [
        ("http", {"maxUnavailable": 1}),
        ("pdb-min-available", {"minAvailable": 2}),
        ("pdb-max-unavailable-percentage", {"maxUnavailable": "50%"}),
        ("pdb-min-available-percentage-autoscaled", {"minAvailable": "50%"}),
    ],
)
def test_pdb_limits(case_id: str, limit: dict[str, Any]) -> None:
    (pdb,) = rendered(case_id).by_kind("PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    spec = dict(pdb["spec"])
    selector = spec.pop("selector")
    assert spec == limit
    assert selector == deployment(rendered(case_id))["spec"]["selector"]


def test_pdb_disabled_renders_none() -> None:
    assert not rendered("pdb-disabled").by_kind("PodDisruptionBudget")


# --- shutdown: drain, then the runtime's timeout --------------------------------------


def test_an_http_pod_drains_in_a_prestop_sleep_and_the_grace_period_covers_it() -> None:
    result = render_spec({"type": "http", "shutdownGracePeriodSeconds": 20})
    container = app(result)
    assert container["lifecycle"] == {
        "preStop": {"sleep": {"seconds": contract.DEFAULT_DRAIN_SECONDS}}
    }
    assert pod_spec(result)["terminationGracePeriodSeconds"] == (
        contract.DEFAULT_DRAIN_SECONDS + 20 + contract.TERMINATION_GRACE_MARGIN_SECONDS
    )
    env = env_map(container)
    assert env["SHUTDOWN_TIMEOUT_SECONDS"] == "20"
    assert env["SHUTDOWN_DRAIN_SECONDS"] == "0", "the preStop sleep drained already"


def test_a_custom_drain_is_the_prestop_sleep_and_adds_to_the_grace_period() -> None:
    result = render_spec({"type": "http", "shutdownDrainSeconds": 12})
    assert app(result)["lifecycle"]["preStop"]["sleep"]["seconds"] == 12
    assert pod_spec(result)["terminationGracePeriodSeconds"] == (
        12 + contract.DEFAULT_SHUTDOWN_TIMEOUT_SECONDS + contract.TERMINATION_GRACE_MARGIN_SECONDS
    )


def test_a_zero_drain_renders_no_prestop_hook() -> None:
    result = render_spec({"type": "http", "shutdownDrainSeconds": 0})
    assert "lifecycle" not in app(result)
    assert pod_spec(result)["terminationGracePeriodSeconds"] == (
        contract.DEFAULT_SHUTDOWN_TIMEOUT_SECONDS + contract.TERMINATION_GRACE_MARGIN_SECONDS
    )
    assert env_map(app(result))["SHUTDOWN_DRAIN_SECONDS"] == "0"


def test_a_worker_has_no_service_to_leave_so_no_prestop_and_no_drain_in_its_grace() -> None:
    result = render_spec(
        {"type": "worker", "kafka": {"topics": ["t.v1"]}, "shutdownDrainSeconds": 30}
    )
    assert "lifecycle" not in app(result)
    assert "SHUTDOWN_DRAIN_SECONDS" not in env_map(app(result))
    assert pod_spec(result)["terminationGracePeriodSeconds"] == (
        contract.DEFAULT_SHUTDOWN_TIMEOUT_SECONDS + contract.TERMINATION_GRACE_MARGIN_SECONDS
    )


def test_the_prefixed_drain_is_zero_too_so_a_prefixed_image_does_not_drain_twice() -> None:
    env = env_map(app(rendered("http-prefixed-env")))
    assert env["SHUTDOWN_DRAIN_SECONDS"] == env["CONTENT_SERVICE_SHUTDOWN_DRAIN_SECONDS"] == "0"


def test_the_migrations_init_container_gets_no_prestop_hook() -> None:
    (migration,) = pod_spec(rendered("http-migrations"))["initContainers"]
    assert "lifecycle" not in migration


# --- pass-through pod settings -------------------------------------------------------


def test_scheduling_and_pull_settings_reach_the_pod() -> None:
    result = rendered("http-pod-scheduling-and-shutdown")
    pod = pod_spec(result)
    case = VALID_BY_ID["http-pod-scheduling-and-shutdown"].spec()
    assert pod["imagePullSecrets"] == [{"name": "ghcr"}]
    assert pod["serviceAccountName"] == "content-service"
    assert pod["nodeSelector"] == case["nodeSelector"]
    assert pod["tolerations"] == case["tolerations"]
    assert pod["affinity"] == case["affinity"]
    assert app(result)["imagePullPolicy"] == "IfNotPresent"
    assert app(result)["resources"] == case["resources"]


def test_pod_labels_are_added_but_cannot_override_the_operators_labels() -> None:
    result = rendered("http-pod-scheduling-and-shutdown")
    labels = deployment(result)["spec"]["template"]["metadata"]["labels"]
    assert labels["team"] == "content"
    assert labels["app.kubernetes.io/name"] == "content-service"


def test_a_digest_pinned_image_is_versioned_by_its_digest_prefix() -> None:
    result = rendered("http-pod-scheduling-and-shutdown")
    assert deployment(result)["metadata"]["labels"]["app.kubernetes.io/version"] == "0123456789ab"


def test_owner_reference_is_set_only_when_the_resource_has_a_uid() -> None:
    with_uid = rendered("http")
    without = rendered("hybrid-http-kafka")
    for child in with_uid.children:
        (ref,) = child["metadata"]["ownerReferences"]
        assert ref["uid"] == UID
        assert ref["controller"] is True
    for child in without.children:
        assert "ownerReferences" not in child["metadata"]


def test_rendering_does_not_mutate_the_resource() -> None:
    case = VALID_BY_ID["worker-sasl-tls-keda"]
    resource = case.resource()
    before = copy.deepcopy(resource.model_dump())
    render(resource, case.defaults())
    assert resource.model_dump() == before
