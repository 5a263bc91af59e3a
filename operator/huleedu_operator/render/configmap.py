"""The ConfigMap of Kafka consumer settings (never credentials)."""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render.labels import kafka_config_name
from huleedu_operator.render.plan import Plan


def render_kafka_configmap(resource: HuleEduService, plan: Plan) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": kafka_config_name(resource)},
        "data": dict(sorted(plan.kafka_settings.items())),
    }
