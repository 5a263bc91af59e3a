"""The Service of an http resource; its port keeps the number the app listens on so
existing in-cluster URLs (``http://content-service:8001``) keep working."""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render.labels import selector_labels


def service_url(resource: HuleEduService) -> str:
    return f"http://{resource.name}.{resource.namespace}.svc:{resource.spec.http_port()}"


def render_service(resource: HuleEduService, metrics_annotations: dict[str, str]) -> dict[str, Any]:
    spec = resource.spec
    ports: list[dict[str, Any]] = [
        {"name": "http", "port": spec.http_port(), "targetPort": "http", "protocol": "TCP"}
    ]
    if spec.metrics.enabled and spec.metrics_port() != spec.http_port():
        ports.append(
            {
                "name": "metrics",
                "port": spec.metrics_port(),
                "targetPort": "metrics",
                "protocol": "TCP",
            }
        )
    metadata: dict[str, Any] = {"name": resource.name}
    if metrics_annotations:
        metadata["annotations"] = metrics_annotations
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {"type": "ClusterIP", "selector": selector_labels(resource), "ports": ports},
    }
