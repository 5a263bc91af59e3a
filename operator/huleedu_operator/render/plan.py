"""The plan of one resource: every fact more than one child depends on, derived once.

:func:`plan` answers, for a resource and the operator's defaults, which image runs, how
the pods are labelled and selected, which ports they open, what the Kafka consumer is
told, how Prometheus finds the metrics, whether an autoscaler owns the replicas and
where the Service answers. Each renderer reads the answers from the :class:`Plan`
instead of asking again, so the Deployment, the Service, the NetworkPolicy and the
monitors cannot disagree about (say) whether metrics have a port of their own; the
controller reads the same plan (``Rendered.plan``) for the status it reports.

The plan's mappings are shared by the renderers: they copy before they put one into a
child (a dict in two places would also dump as a YAML anchor).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from huleedu_operator.api.v1alpha1 import HuleEduService, KafkaSpec
from huleedu_operator.render.defaults import Capability, RenderDefaults
from huleedu_operator.render.errors import RenderError
from huleedu_operator.render.labels import common_labels, selector_labels, selector_string
from huleedu_runtime import contract
from huleedu_runtime.contract import Env


@dataclass(frozen=True)
class Plan:
    """What every child of one resource agrees on (see :func:`plan`)."""

    defaults: RenderDefaults
    """The operator-wide defaults and capabilities the plan was made with."""
    image: str
    """The app container's image: ``spec.image``, else the runtime image."""
    labels: Mapping[str, str]
    """The labels of every child and of the pods."""
    selector_labels: Mapping[str, str]
    """The labels that select the pods (immutable for the life of the resource)."""
    selector: str
    """``selector_labels`` as a label selector string (``k=v,...``), for the status."""
    app_port: int | None
    """The port the http app listens on (and the Service's port); None for a worker."""
    metrics_port: int
    """The port Prometheus scrapes (and a worker's HTTP probes ask)."""
    metrics_shares_app_port: bool
    """An http app that serves its metrics on ``app_port``: one port, named ``http``."""
    separate_metrics_port: int | None
    """The port of a metrics server of its own (the container port named ``metrics``
    and ``METRICS_PORT``); None when none runs."""
    metrics_port_name: str
    """The name of the port the monitors scrape: ``http`` or ``metrics``."""
    probe_port: int
    """The port the HTTP liveness and readiness probes ask."""
    kafka_settings: Mapping[str, str]
    """The non-secret Kafka consumer settings (the ConfigMap's data); empty without
    ``spec.kafka``."""
    monitor: bool
    """A ServiceMonitor (http) or PodMonitor (worker) scrapes the pods."""
    scrape_annotations: Mapping[str, str]
    """``prometheus.io/*`` annotations: metrics on, and no monitor to find them."""
    autoscaler_owns_replicas: bool
    """An autoscaler is rendered (HPA for http, KEDA for a worker) and owns the
    Deployment's replicas."""
    url: str | None
    """The Service's in-cluster URL; None for a worker (no Service)."""


def effective_image(resource: HuleEduService, defaults: RenderDefaults) -> str:
    return resource.spec.image or defaults.runtime_image


def service_url(resource: HuleEduService) -> str:
    return f"http://{resource.name}.{resource.namespace}.svc:{resource.spec.http_port()}"


def autoscaler_owns_replicas(resource: HuleEduService, defaults: RenderDefaults) -> bool:
    """True when an autoscaler will be rendered and so owns the Deployment's replicas."""
    spec = resource.spec
    if not spec.autoscaled():
        return False
    return spec.type == "http" or Capability.KEDA in defaults.capabilities


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


def plan(resource: HuleEduService, defaults: RenderDefaults) -> Plan:
    """Derive every shared fact of ``resource`` once.

    Raises :class:`RenderError` naming the field when the resource cannot be rendered
    (Kafka without bootstrap servers).
    """
    spec = resource.spec
    http = spec.type == "http"
    settings = kafka_settings(resource, defaults)
    image = effective_image(resource, defaults)
    metrics_port = spec.metrics_port()
    shares = http and metrics_port == spec.http_port()
    # The runtime opens a metrics server for scraping, and a worker's also for its HTTP
    # probes; on an http app that shares its port, the app's own server serves both.
    metrics_server = spec.metrics.enabled or (not http and spec.probes.enabled)
    monitor = spec.metrics.enabled and Capability.MONITORING in defaults.capabilities
    scrape = (
        {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(metrics_port),
            "prometheus.io/path": spec.metrics.path,
        }
        if spec.metrics.enabled and not monitor
        else {}
    )
    return Plan(
        defaults=defaults,
        image=image,
        labels=common_labels(resource, image),
        selector_labels=selector_labels(resource),
        selector=selector_string(resource),
        app_port=spec.http_port() if http else None,
        metrics_port=metrics_port,
        metrics_shares_app_port=shares,
        separate_metrics_port=metrics_port if metrics_server and not shares else None,
        metrics_port_name="http" if shares else "metrics",
        probe_port=spec.http_port() if http else metrics_port,
        kafka_settings=settings,
        monitor=monitor,
        scrape_annotations=scrape,
        autoscaler_owns_replicas=autoscaler_owns_replicas(resource, defaults),
        url=service_url(resource) if http else None,
    )
