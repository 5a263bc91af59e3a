"""Container environment: the contract variables, settings, Kafka consumer settings.

Kafka consumer settings go into a ConfigMap (``Plan.kafka_settings``) imported with
``envFrom`` so that changing them does not rewrite the pod template by hand and a
checksum annotation rolls the pods instead. Credentials never enter the ConfigMap:
SASL username/password are ``secretKeyRef`` env vars, TLS material is a mounted Secret
(``KAFKA_SSL_DIR`` names the directory).

With ``spec.envPrefix`` every variable the operator renders is emitted twice, plain and
prefixed, because existing HuleEdu images read ``CONTENT_SERVICE_PORT`` and friends.
"""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render.labels import image_tag, kafka_config_name
from huleedu_operator.render.plan import Plan
from huleedu_operator.render.plan import effective_image as effective_image  # its old home
from huleedu_runtime import contract
from huleedu_runtime.contract import Env


def _contract_env(resource: HuleEduService, plan: Plan) -> dict[str, str]:
    spec = resource.spec
    env = {
        Env.SERVICE_NAME: resource.name,
        Env.SERVICE_VERSION: image_tag(plan.image),
        Env.LOG_FORMAT: "json",
        Env.SHUTDOWN_TIMEOUT_SECONDS: str(spec.shutdown_grace_period_seconds),
    }
    if plan.app_port is not None:
        env[Env.PORT] = str(plan.app_port)
        # The preStop sleep is the drain; the runtime must not wait a second time, or the
        # grace period (which counts the drain once) would run out mid-shutdown.
        env[Env.SHUTDOWN_DRAIN_SECONDS] = str(contract.RUNTIME_DRAIN_SECONDS_UNDER_PRESTOP)
    if spec.metrics.enabled:
        env[Env.METRICS_PATH] = spec.metrics.path
    if plan.separate_metrics_port is not None:
        env[Env.METRICS_PORT] = str(plan.separate_metrics_port)
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


def container_env(resource: HuleEduService, plan: Plan) -> list[dict[str, Any]]:
    """The app container's ``env``: contract, then settings, then the user's own entries.

    Later sources win on a name clash (a user's ``env`` overrides everything), and each
    name appears once: the Deployment's env is a list-map keyed by name, so server-side
    apply rejects duplicates.
    """
    spec = resource.spec
    merged: dict[str, dict[str, Any]] = {}
    plain = _with_prefix(
        {**_contract_env(resource, plan), **(spec.settings or {})}, spec.env_prefix
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
