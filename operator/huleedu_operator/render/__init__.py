"""Pure rendering: (resource, defaults, capabilities) -> child manifests.

No I/O and no kopf here. The controller, the ``render`` CLI and the tests call the same
:func:`render`, so what a user reviews offline is exactly what the cluster gets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from huleedu_operator.api.v1alpha1 import GROUP, KIND, VERSION, HuleEduService
from huleedu_operator.render.autoscaling import autoscaling_warnings, render_hpa, render_keda
from huleedu_operator.render.configmap import render_kafka_configmap
from huleedu_operator.render.defaults import Capability, RenderDefaults
from huleedu_operator.render.deployment import render_deployment, replica_warnings
from huleedu_operator.render.disruption import render_pdb, wants_pdb
from huleedu_operator.render.errors import RenderError, RenderWarning
from huleedu_operator.render.expose import render_expose
from huleedu_operator.render.labels import selector_string
from huleedu_operator.render.monitoring import render_monitor
from huleedu_operator.render.network_policy import render_network_policy, wants_network_policy
from huleedu_operator.render.plan import Plan, effective_image, kafka_settings, plan, service_url
from huleedu_operator.render.service import render_service
from huleedu_operator.render.volumes import render_claims

__all__ = [
    "Capability",
    "Plan",
    "RenderDefaults",
    "RenderError",
    "RenderWarning",
    "Rendered",
    "effective_image",
    "kafka_settings",
    "plan",
    "render",
    "selector_string",
    "service_url",
]


@dataclass(frozen=True)
class Rendered:
    """The children of one resource, plus warnings about what could not be honoured,
    and the plan they were rendered from (image, selector, url for the status)."""

    children: tuple[dict[str, Any], ...]
    plan: Plan
    warnings: tuple[RenderWarning, ...] = ()

    def by_kind(self, kind: str) -> list[dict[str, Any]]:
        return [c for c in self.children if c["kind"] == kind]


def _finish(
    child: dict[str, Any], resource: HuleEduService, labels: Mapping[str, str]
) -> dict[str, Any]:
    """Stamp namespace, labels and (when the resource has a uid) the controller ref."""
    metadata = child["metadata"]
    metadata["namespace"] = resource.namespace
    metadata["labels"] = {**labels, **metadata.get("labels", {})}
    uid = resource.metadata.get("uid")
    if uid:
        metadata["ownerReferences"] = [
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": KIND,
                "name": resource.name,
                "uid": uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return child


# One rendered child at most this big. etcd refuses objects over 1.5 MiB (its default
# --max-request-bytes) with a 500 "request is too large" that no retry can fix; the limit
# here leaves room for the server's own metadata and status.
MAX_CHILD_BYTES = 1024 * 1024


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def _check_sizes(resource: HuleEduService, children: tuple[dict[str, Any], ...]) -> None:
    """Refuse, before any request, a resource whose children could never be stored."""
    for child in children:
        size = _size(child)
        if size <= MAX_CHILD_BYTES:
            continue
        spec = resource.spec.model_dump(by_alias=True, exclude_none=True)
        largest = sorted(((_size(v), k) for k, v in spec.items()), reverse=True)[:3]
        fields = ", ".join(f"spec.{k} ({n / 1024:.0f} KiB)" for n, k in largest)
        raise RenderError(
            "spec",
            f"the rendered {child['kind']} would be {size / 1024 / 1024:.1f} MiB; one object "
            f"must stay under {MAX_CHILD_BYTES // 1024 // 1024} MiB (etcd refuses larger ones). "
            f"The largest fields: {fields}; move bulk configuration into a ConfigMap and "
            "reference it with spec.envFrom",
        )


def render(resource: HuleEduService, defaults: RenderDefaults | None = None) -> Rendered:
    """Every child ``resource`` needs, in apply order (config before its consumers).

    Raises :class:`RenderError` naming the field when the resource cannot be rendered.
    """
    defaults = defaults or RenderDefaults()
    http = resource.spec.type == "http"
    the_plan = plan(resource, defaults)

    children: list[dict[str, Any]] = []
    if the_plan.kafka_settings:
        children.append(render_kafka_configmap(resource, the_plan))
    children.extend(render_claims(resource))
    if wants_network_policy(resource, defaults):
        # Before the Deployment: no pod of a new resource runs without its isolation.
        children.append(render_network_policy(resource, the_plan))
    children.append(render_deployment(resource, the_plan))
    if http:
        children.append(render_service(resource, the_plan))
        exposed = render_expose(resource, the_plan)
        if exposed is not None:
            children.append(exposed)
    if the_plan.monitor:
        children.append(render_monitor(resource, the_plan))
    if wants_pdb(resource):
        children.append(render_pdb(resource, the_plan))
    if the_plan.autoscaler_owns_replicas:
        if http:
            children.append(render_hpa(resource))
        else:
            children.extend(render_keda(resource, the_plan))
    finished = tuple(_finish(c, resource, the_plan.labels) for c in children)
    _check_sizes(resource, finished)
    return Rendered(
        children=finished,
        plan=the_plan,
        warnings=(*autoscaling_warnings(resource, the_plan), *replica_warnings(resource)),
    )
