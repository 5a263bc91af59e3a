"""Exposure of an http service (``spec.expose``): a Gateway API HTTPRoute or an Ingress.

The HTTPRoute is rendered when the cluster serves ``httproutes.gateway.networking.k8s.io``
(:attr:`Capability.GATEWAY_API`) *and* the operator is told which Gateway to attach to
(``RenderDefaults.gateway_name``): a route without a parent is accepted by the API
server and then serves nothing. Otherwise an Ingress, with the configured
``ingressClassName`` (none: the cluster's default class). Both send the traffic to the
Service's ``http`` port, so readiness and the preStop drain work as for in-cluster calls.
"""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render.defaults import Capability, RenderDefaults
from huleedu_operator.render.plan import Plan

_GATEWAY_GROUP = "gateway.networking.k8s.io"
_ROUTE_PATH_TYPE = {"Prefix": "PathPrefix", "Exact": "Exact"}


def uses_http_route(defaults: RenderDefaults) -> bool:
    return Capability.GATEWAY_API in defaults.capabilities and bool(defaults.gateway_name)


def render_expose(resource: HuleEduService, plan: Plan) -> dict[str, Any] | None:
    if resource.spec.expose is None or plan.app_port is None:
        return None
    if uses_http_route(plan.defaults):
        return _http_route(resource, plan.defaults, plan.app_port)
    return _ingress(resource, plan.defaults)


def _http_route(resource: HuleEduService, defaults: RenderDefaults, port: int) -> dict[str, Any]:
    expose = resource.spec.expose
    assert expose is not None
    parent: dict[str, Any] = {
        "group": _GATEWAY_GROUP,
        "kind": "Gateway",
        "name": defaults.gateway_name,
    }
    if defaults.gateway_namespace:
        parent["namespace"] = defaults.gateway_namespace
    matches = [
        {"path": {"type": _ROUTE_PATH_TYPE[p.path_type], "value": p.path}}
        for p in expose.effective_paths()
    ]
    return {
        "apiVersion": f"{_GATEWAY_GROUP}/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": resource.name},
        "spec": {
            "parentRefs": [parent],
            "hostnames": [expose.host],
            "rules": [
                {
                    "matches": matches,
                    "backendRefs": [{"name": resource.name, "port": port}],
                }
            ],
        },
    }


def _ingress(resource: HuleEduService, defaults: RenderDefaults) -> dict[str, Any]:
    expose = resource.spec.expose
    assert expose is not None
    spec: dict[str, Any] = {}
    if defaults.ingress_class_name:
        spec["ingressClassName"] = defaults.ingress_class_name
    if expose.tls_secret_name:
        spec["tls"] = [{"hosts": [expose.host], "secretName": expose.tls_secret_name}]
    spec["rules"] = [
        {
            "host": expose.host,
            "http": {
                "paths": [
                    {
                        "path": p.path,
                        "pathType": p.path_type,
                        # One dict per path: a shared one would dump as a YAML anchor.
                        "backend": {"service": {"name": resource.name, "port": {"name": "http"}}},
                    }
                    for p in expose.effective_paths()
                ]
            },
        }
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": resource.name},
        "spec": spec,
    }
