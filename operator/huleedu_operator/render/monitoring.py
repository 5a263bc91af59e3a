"""Prometheus scraping: a ServiceMonitor (http) or PodMonitor (worker) when the
Prometheus Operator's CRDs are served, ``prometheus.io/*`` annotations otherwise
(``Plan.scrape_annotations``, rendered on the pod template and the Service)."""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render.plan import Plan


def render_monitor(resource: HuleEduService, plan: Plan) -> dict[str, Any]:
    spec = resource.spec
    endpoint = {
        "port": plan.metrics_port_name,
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
            "selector": {"matchLabels": dict(plan.selector_labels)},
            "namespaceSelector": {"matchNames": [resource.namespace]},
            **body,
        },
    }
