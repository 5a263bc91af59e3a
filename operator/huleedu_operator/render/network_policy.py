"""The NetworkPolicy: isolation by default.

One policy per resource selects its pods (the Deployment's selector labels) and admits,
for Ingress only:

- http: the service port from every pod in the resource's namespace. The namespace is
  the unit a team owns and deploys into, and callers there (other services, the
  Service's clients) need no labels of ours. Callers in other namespaces, an ingress
  controller among them, are added with ``spec.networkPolicy.ingressFrom``.
- the metrics port (its own port, or the service port when they are the same) from the
  scraper: pods matching the operator's ``scraper_pod_selector`` in its
  ``scraper_namespace``. A worker declares no other port, so nothing else reaches it.
- ``spec.networkPolicy.ingressFrom``: every port the pod declares.

Kubelet probes are unaffected: traffic from the pod's own node is always allowed.
Egress is not restricted: services reach DNS, Kafka, databases and each other at
addresses the operator cannot know, and a wrong guess would break them silently.
"""

from __future__ import annotations

import copy
from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render.defaults import RenderDefaults
from huleedu_operator.render.plan import Plan

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set on every namespace by the API server (since 1.21): selects a namespace by name."""


def wants_network_policy(resource: HuleEduService, defaults: RenderDefaults) -> bool:
    policy = resource.spec.network_policy
    return defaults.network_policies and (policy is None or policy.enabled)


def _selector(labels: dict[str, str]) -> dict[str, Any]:
    # An empty matchLabels is dropped by the API server; {} stays {} (selects all), so
    # the rendered form equals the stored one and never reads as drift.
    return {"matchLabels": dict(labels)} if labels else {}


def scraper_peer(defaults: RenderDefaults) -> dict[str, Any]:
    peer: dict[str, Any] = {
        "namespaceSelector": _selector({NAMESPACE_NAME_LABEL: defaults.scraper_namespace})
    }
    if defaults.scraper_pod_selector:
        peer["podSelector"] = _selector(dict(defaults.scraper_pod_selector))
    return peer


def _extra_peers(resource: HuleEduService) -> list[dict[str, Any]]:
    policy = resource.spec.network_policy
    peers: list[dict[str, Any]] = []
    for source in (policy.ingress_from if policy else None) or []:
        peer: dict[str, Any] = {}
        if source.namespace_selector is not None:
            peer["namespaceSelector"] = _selector(source.namespace_selector.match_labels or {})
        if source.pod_selector is not None:
            peer["podSelector"] = _selector(source.pod_selector.match_labels or {})
        peers.append(peer)
    return peers


def _port(number: int) -> dict[str, Any]:
    return {"port": number, "protocol": "TCP"}


def render_network_policy(resource: HuleEduService, plan: Plan) -> dict[str, Any]:
    extra = _extra_peers(resource)
    rules: list[dict[str, Any]] = []
    if plan.app_port is not None:
        rules.append({"from": [{"podSelector": {}}, *extra], "ports": [_port(plan.app_port)]})
    if resource.spec.metrics.enabled:
        # On a shared port the http rule above already admits ingressFrom.
        others = [] if plan.metrics_shares_app_port else copy.deepcopy(extra)
        rules.append(
            {
                "from": [scraper_peer(plan.defaults), *others],
                "ports": [_port(plan.metrics_port)],
            }
        )
    body: dict[str, Any] = {
        "podSelector": {"matchLabels": dict(plan.selector_labels)},
        "policyTypes": ["Ingress"],
    }
    if rules:
        # No rules (a worker without metrics): Ingress isolation with nothing allowed.
        # The key is left out, not [], because the API server drops an empty list.
        body["ingress"] = rules
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": resource.name},
        "spec": body,
    }
