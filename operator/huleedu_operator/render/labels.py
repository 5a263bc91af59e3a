"""Names and labels of rendered children.

Names are deterministic (derived from the resource name only), so a crashed or
restarted operator finds and updates the same objects instead of creating duplicates.
The selector uses only labels that never change for the life of the resource:
Deployment selectors are immutable.
"""

from __future__ import annotations

import re

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_runtime import contract

PART_OF = "huleedu"


def image_tag(image: str) -> str:
    """The tag of ``image`` (``latest`` when untagged; the digest prefix when pinned)."""
    name, _, digest = image.partition("@")
    if digest:
        return digest.split(":")[-1][:12]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def label_value(value: str) -> str:
    """Coerce ``value`` into a valid label value (63 chars, alnum at both ends)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", value)[:63]
    return cleaned.strip("-_.")


def selector_labels(resource: HuleEduService) -> dict[str, str]:
    return {
        "app.kubernetes.io/instance": resource.name,
        contract.LABEL_SERVICE: resource.name,
    }


def selector_string(resource: HuleEduService) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector_labels(resource).items()))


def common_labels(resource: HuleEduService, image: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": resource.name,
        **selector_labels(resource),
        "app.kubernetes.io/component": resource.spec.type,
        "app.kubernetes.io/part-of": PART_OF,
        contract.LABEL_MANAGED_BY: contract.MANAGED_BY_VALUE,
        "app.kubernetes.io/version": label_value(image_tag(image)) or "latest",
        contract.LABEL_SERVICE_TYPE: resource.spec.type,
    }


def kafka_config_name(resource: HuleEduService) -> str:
    return f"{resource.name}-kafka"
