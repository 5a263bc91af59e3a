"""Prometheus scraping: a ServiceMonitor (http) or PodMonitor (worker) when the
Prometheus Operator's CRDs are served, ``prometheus.io/*`` annotations otherwise
(rendered on the pod template by :mod:`deployment`)."""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render.defaults import Capability, RenderDefaults
from huleedu_operator.render.labels import selector_labels


def scrape_annotations(resource: HuleEduService, defaults: RenderDefaults) -> dict[str, str]:
    """``prometheus.io/*`` annotations, used only when no Prometheus Operator is served."""
    spec = resource.spec
    if not spec.metrics.enabled or Capability.MONITORING in defaults.capabilities:
        return {}
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(spec.metrics_port()),
        "prometheus.io/path": spec.metrics.path,
    }


def metrics_port_name(resource: HuleEduService) -> str:
    spec = resource.spec
    if spec.type == "http" and spec.metrics_port() == spec.http_port():
        return "http"
    return "metrics"


def render_monitor(resource: HuleEduService) -> dict[str, Any]:
    spec = resource.spec
    endpoint = {
        "port": metrics_port_name(resource),
        "path": spec.metrics.path,
        "interval": spec.metrics.interval,
        "scrapeTimeout": spec.metrics.scrape_timeout,
    }
    if spec.type == "http":
        kind, body = "ServiceMonitor", {"endpoints": [endpoint]}
    else:
        kind, body = "PodMonitor", {"podMetricsEndpoints": [endpoint]}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": kind,
        "metadata": {"name": resource.name},
        "spec": {
            "selector": {"matchLabels": selector_labels(resource)},
            "namespaceSelector": {"matchNames": [resource.namespace]},
            **body,
        },
    }
