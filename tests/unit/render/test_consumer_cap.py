"""A consumer group never runs more consumers than partitions, however spec.replicas got
there (``kubectl scale`` writes it through the scale subresource, past the spec's rules)."""

from __future__ import annotations

from typing import Any

import pytest

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render import RenderDefaults, render

pytestmark = pytest.mark.unit


def resource(**spec: Any) -> HuleEduService:
    # Valid, then changed past the rules: what a scale subresource write leaves stored.
    doc = {
        "apiVersion": "huleedu.io/v1alpha1",
        "kind": "HuleEduService",
        "metadata": {"name": "grader", "namespace": "team-a"},
        "spec": {"type": "worker", "image": "e/w:1", "kafka": {"topics": ["t"], "partitions": 3}},
    }
    validated = HuleEduService.model_validate(doc)
    return validated.model_copy(update={"spec": validated.spec.model_copy(update=spec)}, deep=True)


def deployment_replicas(resource: HuleEduService) -> int:
    rendered = render(resource, RenderDefaults(kafka_bootstrap_servers="k:9092"))
    (deployment,) = rendered.by_kind("Deployment")
    return int(deployment["spec"]["replicas"])


def test_replicas_scaled_past_the_partitions_run_as_many_consumers_as_partitions() -> None:
    scaled = resource(replicas=5)
    assert deployment_replicas(scaled) == 3
    (warning,) = render(scaled, RenderDefaults(kafka_bootstrap_servers="k:9092")).warnings
    assert warning.reason == "ConsumersCapped"
    assert warning.startswith("spec.replicas: 5 consumers for spec.kafka.partitions 3; running 3")


def test_replicas_within_the_partitions_are_kept_without_a_warning() -> None:
    within = resource(replicas=3)
    assert deployment_replicas(within) == 3
    assert render(within, RenderDefaults(kafka_bootstrap_servers="k:9092")).warnings == ()


def test_without_a_partition_count_nothing_is_capped() -> None:
    base = resource(replicas=5)
    assert base.spec.kafka is not None
    unknown = resource(replicas=5, kafka=base.spec.kafka.model_copy(update={"partitions": None}))
    assert deployment_replicas(unknown) == 5
