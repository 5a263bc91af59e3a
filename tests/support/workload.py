"""The benchmark workload: N HuleEduService resources, alternating http and worker,
and the very children the operator would render for them (for the floor)."""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render import RenderDefaults, render

# The value the integration tests give their operators: a cluster-wide operator started by
# another test then renders the same children instead of fighting over the ConfigMap.
BOOTSTRAP = "kafka.huleedu.svc:9092"
IMAGE = "example/bench:1.0"
Body = dict[str, Any]


def name_of(index: int) -> str:
    return f"svc-{index:04d}"


def spec_of(index: int, image: str = IMAGE) -> Body:
    if index % 2 == 0:
        return {"type": "http", "image": image, "replicas": 1, "port": 8000}
    return {"type": "worker", "image": image, "replicas": 1, "kafka": {"topics": ["bench.v1"]}}


def resource(namespace: str, index: int, image: str = IMAGE, name: str | None = None) -> Body:
    return {
        "apiVersion": "huleedu.io/v1alpha1",
        "kind": "HuleEduService",
        "metadata": {"name": name or name_of(index), "namespace": namespace},
        "spec": spec_of(index, image),
    }


def resources(namespace: str, n: int, image: str = IMAGE) -> list[Body]:
    return [resource(namespace, i, image) for i in range(n)]


def children(doc: Body) -> list[Body]:
    """What the operator applies for ``doc`` (without ownerReferences: no parent uid)."""
    rendered = render(
        HuleEduService.model_validate(doc), RenderDefaults(kafka_bootstrap_servers=BOOTSTRAP)
    )
    return list(rendered.children)


def expected_children(docs: list[Body]) -> dict[str, set[str]]:
    """kind -> names every resource's children should add up to."""
    out: dict[str, set[str]] = {}
    for doc in docs:
        for child in children(doc):
            out.setdefault(child["kind"], set()).add(child["metadata"]["name"])
    return out
