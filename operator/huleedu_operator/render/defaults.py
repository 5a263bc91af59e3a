"""What the renderer needs to know beyond the resource: operator-wide defaults and the
cluster's capabilities. Plain frozen data, so rendering stays a pure function."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Capability(StrEnum):
    """Optional APIs the cluster may serve; each changes what is rendered."""

    MONITORING = "monitoring"
    """monitoring.coreos.com (Prometheus Operator): ServiceMonitor / PodMonitor."""
    KEDA = "keda"
    """keda.sh: ScaledObject on consumer lag for workers."""
    GATEWAY_API = "gateway-api"
    """gateway.networking.k8s.io (Gateway API): an HTTPRoute, not an Ingress, exposes an
    http service (spec.expose) when a Gateway to attach it to is configured."""


@dataclass(frozen=True)
class RenderDefaults:
    """Operator-wide defaults a resource may leave unset.

    The runtime image carries the two example services under /app/examples, so a
    resource that sets neither ``image`` nor ``command`` runs a working example of its
    type: a hello-world that proves the wiring before a team brings its own image.
    """

    runtime_image: str = "ghcr.io/huleedu/huleedu-runtime:0.1.0"
    kafka_bootstrap_servers: str | None = None
    default_http_command: tuple[str, ...] = (
        "huleedu-runtime",
        "serve-http",
        "examples.content_service.app:app",
    )
    default_worker_command: tuple[str, ...] = (
        "huleedu-runtime",
        "run-worker",
        "examples.event_worker.worker:create_processor",
    )
    gateway_name: str | None = None
    """The Gateway an HTTPRoute attaches to (parentRefs); unset: Ingress even when the
    Gateway API is installed."""
    gateway_namespace: str | None = None
    """Namespace of that Gateway; unset: the route's own namespace."""
    ingress_class_name: str | None = None
    """ingressClassName of rendered Ingresses; unset: the cluster's default class."""
    capabilities: frozenset[Capability] = field(default_factory=frozenset)
    network_policies: bool = True
    """Render a NetworkPolicy per resource (each can opt out: spec.networkPolicy)."""
    scraper_namespace: str = "monitoring"
    """Namespace of the Prometheus that scrapes the metrics port (the NetworkPolicy
    admits it there)."""
    scraper_pod_selector: tuple[tuple[str, str], ...] = (("app.kubernetes.io/name", "prometheus"),)
    """Labels of the scraper's pods; empty: every pod in ``scraper_namespace``."""
