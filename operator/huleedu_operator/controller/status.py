"""Status computation: observed children -> conditions. Pure, so it is unit-tested
exhaustively without a cluster.

Conditions follow KEP-1623 (``metav1.Condition``). ``lastTransitionTime`` only moves
when a condition's status changes, and :func:`status_changed` lets the reconciler skip
the write entirely when nothing a user could see has changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.controller.references import explain, spec_references
from huleedu_operator.controller.topics import TOPICS_READY, TopicVerdict

READY, PROGRESSING, DEGRADED = "Ready", "Progressing", "Degraded"
DEPLOYMENT_READY, SERVICE_READY = "DeploymentReady", "ServiceReady"

CONFIG_ERROR = "CreateContainerConfigError"  # the kubelet could not resolve the env
POD_FAILURE_REASONS = frozenset(
    {
        CONFIG_ERROR,
        "CreateContainerError",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CrashLoopBackOff",
        "RunContainerError",
    }
)


@dataclass(frozen=True)
class Problem:
    """Something wrong that makes the resource Degraded.

    ``blocking`` problems also make it not Ready (the pods cannot run as declared); a
    non-blocking one (no autoscaler available, a field owned by another manager) leaves
    the running service Ready but Degraded, which is how KEP-1623 expects both to mix.
    """

    reason: str
    message: str
    blocking: bool = True
    fields: tuple[str, ...] = ()  # the spec fields at fault, when known


@dataclass(frozen=True)
class Observation:
    """What the reconciler saw; everything status depends on."""

    generation: int
    service_type: str
    deployment: dict[str, Any] | None = None
    ready_endpoints: int | None = None
    problems: tuple[Problem, ...] = ()
    selector: str | None = None
    url: str | None = None
    image: str | None = None
    topics: TopicVerdict | None = None  # None: consumes nothing, no TopicsReady condition


# The CRD's condition message limit is 32768 characters; a longer one makes the status
# patch fail with 422 on every retry. Far below it, so several messages joined still fit.
MAX_MESSAGE = 4096


def bounded(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` cut to ``limit`` characters, saying how much was cut."""
    if len(message) <= limit:
        return message
    keep = limit - 48  # room for the note, whatever the count
    return f"{message[:keep]} ... ({len(message) - keep} more characters)"


def _condition(
    type_: str, ok: bool | None, reason: str, message: str, generation: int
) -> dict[str, Any]:
    status = "Unknown" if ok is None else ("True" if ok else "False")
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": bounded(message),
        "observedGeneration": generation,
    }


def _deployment_condition(deployment: dict[str, Any], type_: str) -> dict[str, Any]:
    for cond in deployment.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}


def deployment_state(deployment: dict[str, Any] | None) -> tuple[bool | None, bool, str, str]:
    """(available, rolling out, reason, message) of a Deployment."""
    if deployment is None:
        return None, True, "DeploymentMissing", "the Deployment does not exist yet"
    status = deployment.get("status", {}) or {}
    spec_replicas = deployment.get("spec", {}).get("replicas", 1)
    generation = deployment.get("metadata", {}).get("generation", 0)
    observed = status.get("observedGeneration", 0)
    updated = status.get("updatedReplicas", 0) or 0
    available = status.get("availableReplicas", 0) or 0
    total = status.get("replicas", 0) or 0
    rolling = (
        observed < generation
        or updated < spec_replicas
        or total > updated
        or (available < spec_replicas)
    )
    progressing = _deployment_condition(deployment, "Progressing")
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return False, False, "ProgressDeadlineExceeded", progressing.get("message", "")
    avail = _deployment_condition(deployment, "Available")
    is_available = avail.get("status") == "True" and observed >= generation
    message = f"{available}/{spec_replicas} replicas available"
    if rolling:
        message += f", {updated} updated"
    return is_available, rolling, "Available" if is_available else "Unavailable", message


def compute_conditions(obs: Observation) -> list[dict[str, Any]]:
    gen = obs.generation
    available, rolling, d_reason, d_message = deployment_state(obs.deployment)
    conditions = [
        _condition(DEPLOYMENT_READY, available, d_reason, d_message, gen),
    ]
    service_ok: bool | None = True
    if obs.service_type == "http":
        if obs.ready_endpoints is None:
            service_ok = None
            conditions.append(
                _condition(SERVICE_READY, None, "NoEndpoints", "no endpoints observed yet", gen)
            )
        else:
            service_ok = obs.ready_endpoints > 0
            conditions.append(
                _condition(
                    SERVICE_READY,
                    service_ok,
                    "EndpointsReady" if service_ok else "NoReadyEndpoints",
                    f"{obs.ready_endpoints} ready endpoint(s)",
                    gen,
                )
            )

    if obs.topics is not None:
        conditions.append(
            _condition(TOPICS_READY, obs.topics.ok, obs.topics.reason, obs.topics.message, gen)
        )

    if obs.problems:
        first = obs.problems[0]
        message = "; ".join(p.message for p in obs.problems)
        conditions.append(_condition(DEGRADED, True, first.reason, message, gen))
    else:
        conditions.append(_condition(DEGRADED, False, "AsExpected", "", gen))
    conditions.append(
        _condition(
            PROGRESSING,
            rolling,
            "RollingOut" if rolling else "Complete",
            d_message if rolling else "rollout complete",
            gen,
        )
    )
    blocking = [p for p in obs.problems if p.blocking]
    ready = bool(available) and service_ok is True and not blocking
    if ready:
        reason, message = "Ready", "all children ready"
    elif blocking:
        reason, message = blocking[0].reason, blocking[0].message
    elif not available:
        reason, message = d_reason, d_message
    else:
        reason, message = "NoReadyEndpoints", "the Service has no ready endpoints"
    conditions.append(_condition(READY, ready, reason, message, gen))
    return conditions


def merge_transition_times(
    new: list[dict[str, Any]], old: list[dict[str, Any]], now: str
) -> list[dict[str, Any]]:
    """Keep each condition's lastTransitionTime unless its status changed."""
    previous = {c.get("type"): c for c in old or []}
    merged = []
    for cond in new:
        before = previous.get(cond["type"])
        keep = before is not None and before.get("status") == cond["status"]
        merged.append(
            {
                **cond,
                "lastTransitionTime": before.get("lastTransitionTime", now)
                if keep and before
                else now,
            }
        )
    return merged


def compute_status(obs: Observation, old_status: dict[str, Any], now: str) -> dict[str, Any]:
    """The full status block for ``obs``, reusing transition times from ``old_status``."""
    deployment_status = (obs.deployment or {}).get("status", {}) or {}
    status: dict[str, Any] = {
        "observedGeneration": obs.generation,
        "conditions": merge_transition_times(
            compute_conditions(obs), old_status.get("conditions", []), now
        ),
        "replicas": deployment_status.get("replicas", 0) or 0,
        "readyReplicas": deployment_status.get("readyReplicas", 0) or 0,
    }
    for key, value in (("selector", obs.selector), ("url", obs.url), ("image", obs.image)):
        if value is not None:
            status[key] = value
    return status


def status_changed(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """True when writing ``new`` would change what a user sees."""
    return new != old


def pod_problems(
    pods: list[dict[str, Any]],
    resource: HuleEduService | None = None,
    reported: Iterable[Problem] = (),
) -> list[Problem]:
    """Container waiting reasons that will not fix themselves (missing Secret, bad image).

    With ``resource``, a kubelet message about a missing Secret or ConfigMap (or a key in
    one) names the spec fields that reference it and the fix; fields some problem in
    ``reported`` already names are not reported twice. One problem per reason, or per
    missing object for those, however many pods fail on it.
    """
    refs = spec_references(resource) if resource is not None else []
    namespace = resource.namespace if resource is not None else ""
    known = {f for problem in reported for f in problem.fields}
    found: dict[tuple[str, ...], Problem] = {}
    for pod in pods:
        status = pod.get("status", {}) or {}
        statuses = [*(status.get("containerStatuses") or [])]
        statuses += status.get("initContainerStatuses") or []
        for cs in statuses:
            waiting = (cs.get("state", {}) or {}).get("waiting") or {}
            reason = waiting.get("reason")
            if reason not in POD_FAILURE_REASONS:
                continue
            message = waiting.get("message", "") or ""
            seen = (
                f"pod {pod['metadata']['name']} container {cs.get('name')}: "
                f"{reason}{': ' + message if message else ''}"
            )
            explanation = explain(message, refs) if reason == CONFIG_ERROR else None
            if explanation is None:
                found.setdefault((reason,), Problem(reason, seen))
            elif not set(explanation.fields) <= known:
                key = (reason, explanation.kind, explanation.name, explanation.key or "")
                found.setdefault(
                    key,
                    Problem(reason, explanation.message(namespace, seen), True, explanation.fields),
                )
    return list(found.values())
