"""Container environment: the contract variables, settings, Kafka consumer settings.

Kafka consumer settings go into a ConfigMap (``kafka_settings``) imported with
``envFrom`` so that changing them does not rewrite the pod template by hand and a
checksum annotation rolls the pods instead. Credentials never enter the ConfigMap:
SASL username/password are ``secretKeyRef`` env vars, TLS material is a mounted Secret
(``KAFKA_SSL_DIR`` names the directory).

With ``spec.envPrefix`` every variable the operator renders is emitted twice, plain and
prefixed, because existing HuleEdu images read ``CONTENT_SERVICE_PORT`` and friends.
"""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService, KafkaSpec
from huleedu_operator.render.defaults import RenderDefaults
from huleedu_operator.render.errors import RenderError
from huleedu_operator.render.labels import image_tag, kafka_config_name
from huleedu_runtime import contract
from huleedu_runtime.contract import Env


def effective_image(resource: HuleEduService, defaults: RenderDefaults) -> str:
    return resource.spec.image or defaults.runtime_image


def kafka_settings(resource: HuleEduService, defaults: RenderDefaults) -> dict[str, str]:
    """Non-secret Kafka consumer settings (the ConfigMap's data), or {} without kafka."""
    kafka = resource.spec.kafka
    if kafka is None:
        return {}
    servers = kafka.bootstrap_servers or defaults.kafka_bootstrap_servers
    if not servers:
        raise RenderError(
            "spec.kafka.bootstrapServers",
            "not set and the operator has no default; set it, or set "
            "HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS on the operator",
        )
    data = {
        Env.KAFKA_BOOTSTRAP_SERVERS: servers,
        Env.KAFKA_CONSUMER_GROUP: kafka.consumer_group or resource.name,
    }
    if kafka.topics:
        # An http service with kafka and no topics only produces: no topics to consume is
        # no KAFKA_TOPICS at all (the runtime's default, []), not an empty string.
        data[Env.KAFKA_TOPICS] = contract.KAFKA_TOPICS_SEPARATOR.join(kafka.topics)
    data[Env.KAFKA_AUTO_OFFSET_RESET] = kafka.auto_offset_reset
    data[Env.KAFKA_MAX_POLL_RECORDS] = str(kafka.max_poll_records)
    optional = {
        Env.KAFKA_SESSION_TIMEOUT_MS: kafka.session_timeout_ms,
        Env.KAFKA_HEARTBEAT_INTERVAL_MS: kafka.heartbeat_interval_ms,
        Env.KAFKA_MAX_POLL_INTERVAL_MS: kafka.max_poll_interval_ms,
        Env.KAFKA_HANDLER_TIMEOUT_SECONDS: kafka.handler_timeout_seconds,
    }
    data.update({k: str(v) for k, v in optional.items() if v is not None})
    data.update(_security_settings(kafka))
    return data


def _security_settings(kafka: KafkaSpec) -> dict[str, str]:
    security = kafka.security
    if security is None:
        return {}
    data: dict[str, str] = {Env.KAFKA_SECURITY_PROTOCOL: security.protocol}
    if security.sasl is not None:
        data[Env.KAFKA_SASL_MECHANISM] = security.sasl.mechanism
    if security.tls is not None:
        # The directory, not three file paths: the runtime uses whichever of ca.crt,
        # tls.crt, tls.key the Secret holds (CA-only TLS or mutual TLS), which the
        # operator cannot know without reading the Secret.
        data[Env.KAFKA_SSL_DIR] = contract.KAFKA_TLS_MOUNT_PATH
    return data


def _contract_env(resource: HuleEduService, image: str) -> dict[str, str]:
    spec = resource.spec
    env = {
        Env.SERVICE_NAME: resource.name,
        Env.SERVICE_VERSION: image_tag(image),
        Env.LOG_FORMAT: "json",
        Env.SHUTDOWN_TIMEOUT_SECONDS: str(spec.shutdown_grace_period_seconds),
    }
    if spec.type == "http":
        env[Env.PORT] = str(spec.http_port())
        # The preStop sleep is the drain; the runtime must not wait a second time, or the
        # grace period (which counts the drain once) would run out mid-shutdown.
        env[Env.SHUTDOWN_DRAIN_SECONDS] = str(contract.RUNTIME_DRAIN_SECONDS_UNDER_PRESTOP)
    if spec.metrics.enabled:
        env[Env.METRICS_PATH] = spec.metrics.path
        if spec.type == "worker" or spec.metrics_port() != spec.http_port():
            env[Env.METRICS_PORT] = str(spec.metrics_port())
    elif spec.type == "worker" and spec.probes.enabled:
        env[Env.METRICS_PORT] = str(spec.metrics_port())
    return env


def _with_prefix(values: dict[str, str], prefix: str | None) -> dict[str, str]:
    if not prefix:
        return dict(values)
    return {**values, **{f"{prefix}{k}": v for k, v in values.items()}}


def _secret_env(resource: HuleEduService) -> list[tuple[str, dict[str, Any]]]:
    kafka = resource.spec.kafka
    if kafka is None or kafka.security is None or kafka.security.sasl is None:
        return []
    sasl = kafka.security.sasl
    refs = {
        Env.KAFKA_SASL_USERNAME: sasl.username_key,
        Env.KAFKA_SASL_PASSWORD: sasl.password_key,
    }
    prefix = resource.spec.env_prefix or ""
    names = [(n, key) for n, key in refs.items()]
    if prefix:
        names += [(f"{prefix}{n}", key) for n, key in refs.items()]
    return [(n, {"secretKeyRef": {"name": sasl.secret_ref.name, "key": key}}) for n, key in names]


def container_env(resource: HuleEduService, image: str) -> list[dict[str, Any]]:
    """The app container's ``env``: contract, then settings, then the user's own entries.

    Later sources win on a name clash (a user's ``env`` overrides everything), and each
    name appears once: the Deployment's env is a list-map keyed by name, so server-side
    apply rejects duplicates.
    """
    spec = resource.spec
    merged: dict[str, dict[str, Any]] = {}
    plain = _with_prefix(
        {**_contract_env(resource, image), **(spec.settings or {})}, spec.env_prefix
    )
    for name, value in plain.items():
        merged[name] = {"name": name, "value": value}
    for name, source in _secret_env(resource):
        merged[name] = {"name": name, "valueFrom": source}
    for var in spec.env or []:
        merged[var.name] = var.wire()
    return list(merged.values())


def container_env_from(resource: HuleEduService) -> list[dict[str, Any]]:
    """``envFrom``: the Kafka ConfigMap (plain and prefixed), then the user's sources."""
    sources: list[dict[str, Any]] = []
    if resource.spec.kafka is not None:
        name = kafka_config_name(resource)
        sources.append({"configMapRef": {"name": name}})
        if resource.spec.env_prefix:
            # A fresh dict, not the one above: shared objects dump as YAML anchors.
            sources.append({"configMapRef": {"name": name}, "prefix": resource.spec.env_prefix})
    sources.extend(s.wire() for s in resource.spec.env_from or [])
    return sources
