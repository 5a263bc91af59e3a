"""The peer: a HuleEduService operator written the way kopf's documentation teaches.

Handlers for create, update and resume; children rendered with the project's renderer,
adopted with ``kopf.adopt`` and created with the official ``kubernetes`` client (on 409
Conflict: patched); the handler's return value goes to the status (kopf's default). No
tuning: kopf's default settings, its thread pool for the synchronous client.

    kopf run --standalone --namespace <ns> bench/peer.py

The benchmark starts it like that (bench.operator.PeerProcess) to compare the project's
operator with what the textbook approach costs on the same ground.

What kopf's defaults make of it here: per resource one merge patch of the parent (the
``last-handled-configuration`` annotation) and one of its status; the status patch's
``status.reconcile`` is pruned by the CRD's structural schema (kopf logs "inconsistencies"
and goes on); kopf 1.45 posts no Kubernetes Events for log lines by default
(``settings.posting.loggers``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import kopf
import kubernetes

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render import RenderDefaults, render

BOOTSTRAP = os.environ.get("BENCH_PEER_KAFKA_BOOTSTRAP_SERVERS", "kafka.huleedu.svc:9092")

Create = Callable[..., Any]
Patch = Callable[..., Any]


@kopf.on.startup()
def configure(**_: Any) -> None:
    kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
    # The client's first API objects take seconds to build (lazy imports, TLS setup):
    # paid here, at startup, not by the first resource's handler.
    api_calls()


def api_calls() -> dict[str, tuple[Create, Patch]]:
    """kind -> (create, patch), the API objects made per handler call as kopf's examples
    do (``api = kubernetes.client.CoreV1Api()`` in the handler)."""
    core = kubernetes.client.CoreV1Api()
    apps = kubernetes.client.AppsV1Api()
    policy = kubernetes.client.PolicyV1Api()
    networking = kubernetes.client.NetworkingV1Api()
    autoscaling = kubernetes.client.AutoscalingV2Api()
    calls: dict[str, tuple[Create, Patch]] = {
        "ConfigMap": (core.create_namespaced_config_map, core.patch_namespaced_config_map),
        "Service": (core.create_namespaced_service, core.patch_namespaced_service),
        "Deployment": (apps.create_namespaced_deployment, apps.patch_namespaced_deployment),
        "PodDisruptionBudget": (
            policy.create_namespaced_pod_disruption_budget,
            policy.patch_namespaced_pod_disruption_budget,
        ),
        "NetworkPolicy": (
            networking.create_namespaced_network_policy,
            networking.patch_namespaced_network_policy,
        ),
        "HorizontalPodAutoscaler": (
            autoscaling.create_namespaced_horizontal_pod_autoscaler,
            autoscaling.patch_namespaced_horizontal_pod_autoscaler,
        ),
    }
    return calls


def create_or_patch(child: dict[str, Any], calls: dict[str, tuple[Create, Patch]]) -> str:
    create, patch = calls[child["kind"]]
    namespace = child["metadata"]["namespace"]
    try:
        create(namespace=namespace, body=child)
        return "created"
    except kubernetes.client.ApiException as exc:
        if exc.status != 409:
            raise
    patch(name=child["metadata"]["name"], namespace=namespace, body=child)
    return "patched"


@kopf.on.resume("huleedu.io", "v1alpha1", "huleeduservices")
@kopf.on.create("huleedu.io", "v1alpha1", "huleeduservices")
@kopf.on.update("huleedu.io", "v1alpha1", "huleeduservices")
def reconcile(body: kopf.Body, logger: kopf.Logger, **_: Any) -> dict[str, Any]:
    resource = HuleEduService.model_validate(dict(body))
    rendered = render(resource, RenderDefaults(kafka_bootstrap_servers=BOOTSTRAP))
    calls = api_calls()
    done: dict[str, str] = {}
    for child in rendered.children:
        kopf.adopt(child, owner=body)
        done[f"{child['kind']}/{child['metadata']['name']}"] = create_or_patch(child, calls)
    logger.info(f"children: {done}")
    return {"children": len(done)}
