"""The ConfigMap of Kafka consumer settings (never credentials)."""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render.labels import kafka_config_name


def render_kafka_configmap(resource: HuleEduService, settings: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": kafka_config_name(resource)},
        "data": dict(sorted(settings.items())),
    }
