"""The Service of an http resource; its port keeps the number the app listens on so
existing in-cluster URLs (``http://content-service:8001``) keep working."""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render.plan import Plan


def render_service(resource: HuleEduService, plan: Plan) -> dict[str, Any]:
    assert plan.app_port is not None
    ports: list[dict[str, Any]] = [
        {"name": "http", "port": plan.app_port, "targetPort": "http", "protocol": "TCP"}
    ]
    if plan.separate_metrics_port is not None:
        ports.append(
            {
                "name": "metrics",
                "port": plan.separate_metrics_port,
                "targetPort": "metrics",
                "protocol": "TCP",
            }
        )
    metadata: dict[str, Any] = {"name": resource.name}
    if plan.scrape_annotations:
        metadata["annotations"] = dict(plan.scrape_annotations)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {"type": "ClusterIP", "selector": dict(plan.selector_labels), "ports": ports},
    }
