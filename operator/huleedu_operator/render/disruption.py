"""The PodDisruptionBudget. On by default with maxUnavailable 1: it never blocks a
drain of a single-replica service, and keeps a multi-replica one serving."""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import DisruptionBudgetSpec, HuleEduService
from huleedu_operator.render.plan import Plan


def wants_pdb(resource: HuleEduService) -> bool:
    budget = resource.spec.disruption_budget
    return budget is None or budget.enabled


def render_pdb(resource: HuleEduService, plan: Plan) -> dict[str, Any]:
    budget = resource.spec.disruption_budget or DisruptionBudgetSpec()
    if budget.min_available is not None:
        limit: dict[str, Any] = {"minAvailable": budget.min_available}
    else:
        limit = {
            "maxUnavailable": budget.max_unavailable if budget.max_unavailable is not None else 1
        }
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": resource.name},
        "spec": {"selector": {"matchLabels": dict(plan.selector_labels)}, **limit},
    }
