"""The child kinds the operator manages, and where each lives in the API.

The one registry of them: the controller watches, reads, applies and prunes these;
the chart's RBAC test grants exactly these; a unit test renders every feature and
checks each child's kind is here with its group and version, and each kind here is
rendered by some case.
"""

from __future__ import annotations

from dataclasses import dataclass

from huleedu_operator.controller.paths import api_path
from huleedu_operator.render import Capability


@dataclass(frozen=True)
class ChildKind:
    kind: str
    group: str
    version: str
    plural: str
    capability: Capability | None = None
    """The optional API the kind belongs to (None: always served). Rendered only when
    the cluster serves it; while it is not served the controller neither applies nor
    prunes the kind."""

    def _base(self) -> tuple[str, ...]:
        return ("api", self.version) if not self.group else ("apis", self.group, self.version)

    def path(self, namespace: str, name: str | None = None) -> str:
        """The collection in ``namespace``, or the object ``name`` in it (an empty name
        is refused, not read as the collection)."""
        collection = (*self._base(), "namespaces", namespace, self.plural)
        return api_path(*collection) if name is None else api_path(*collection, name)

    def scoped_path(self, namespace: str | None) -> str:
        """The collection in ``namespace``, or across all namespaces for None."""
        if namespace is None:
            return api_path(*self._base(), self.plural)
        return self.path(namespace)


CHILD_KINDS: tuple[ChildKind, ...] = (
    ChildKind("ConfigMap", "", "v1", "configmaps"),
    ChildKind("Deployment", "apps", "v1", "deployments"),
    ChildKind("Service", "", "v1", "services"),
    ChildKind("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims"),
    ChildKind("Ingress", "networking.k8s.io", "v1", "ingresses"),
    ChildKind("HTTPRoute", "gateway.networking.k8s.io", "v1", "httproutes", Capability.GATEWAY_API),
    ChildKind("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets"),
    ChildKind("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies"),
    ChildKind("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers"),
    ChildKind(
        "ServiceMonitor", "monitoring.coreos.com", "v1", "servicemonitors", Capability.MONITORING
    ),
    ChildKind("PodMonitor", "monitoring.coreos.com", "v1", "podmonitors", Capability.MONITORING),
    ChildKind("ScaledObject", "keda.sh", "v1alpha1", "scaledobjects", Capability.KEDA),
    ChildKind(
        "TriggerAuthentication", "keda.sh", "v1alpha1", "triggerauthentications", Capability.KEDA
    ),
)
BY_KIND = {k.kind: k for k in CHILD_KINDS}

# Read, never applied: the pods and endpoint slices of the children, which status is
# computed from.
POD_KIND = ChildKind("Pod", "", "v1", "pods")
ENDPOINT_SLICE_KIND = ChildKind("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices")

# Capability -> CRD names that must all be served for it to count as present.
CAPABILITY_CRDS: dict[Capability, frozenset[str]] = {
    Capability.MONITORING: frozenset(
        {"servicemonitors.monitoring.coreos.com", "podmonitors.monitoring.coreos.com"}
    ),
    Capability.KEDA: frozenset({"scaledobjects.keda.sh", "triggerauthentications.keda.sh"}),
    Capability.GATEWAY_API: frozenset({"httproutes.gateway.networking.k8s.io"}),
}
