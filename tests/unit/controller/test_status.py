"""Status computation is pure: every condition a user reads is specified here."""

from __future__ import annotations

from typing import Any

import pytest

from huleedu_operator.controller.status import (
    Observation,
    Problem,
    compute_status,
    merge_transition_times,
    pod_problems,
    status_changed,
)

pytestmark = pytest.mark.unit
T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"


def deployment(
    replicas: int = 2,
    available: int = 2,
    updated: int = 2,
    generation: int = 1,
    observed: int = 1,
    available_status: str = "True",
) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas,
            "updatedReplicas": updated,
            "availableReplicas": available,
            "readyReplicas": available,
            "conditions": [{"type": "Available", "status": available_status}],
        },
    }


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def test_available_worker_is_ready_and_not_progressing() -> None:
    status = compute_status(Observation(3, "worker", deployment()), {}, T0)
    cond = conditions(status)
    assert cond["Ready"]["status"] == "True"
    assert cond["Progressing"]["status"] == "False"
    assert cond["Degraded"]["status"] == "False"
    assert status["observedGeneration"] == 3
    assert status["readyReplicas"] == 2
    assert all(c["observedGeneration"] == 3 for c in status["conditions"])


def test_http_service_without_ready_endpoints_is_not_ready() -> None:
    status = compute_status(Observation(1, "http", deployment(), ready_endpoints=0), {}, T0)
    cond = conditions(status)
    assert cond["Ready"]["status"] == "False"
    assert cond["Ready"]["reason"] == "NoReadyEndpoints"
    assert cond["ServiceReady"]["status"] == "False"


def test_http_service_with_endpoints_is_ready() -> None:
    status = compute_status(Observation(1, "http", deployment(), ready_endpoints=2), {}, T0)
    assert conditions(status)["Ready"]["status"] == "True"


def test_rollout_in_progress_is_progressing_and_not_ready() -> None:
    dep = deployment(available=1, updated=1, available_status="False")
    cond = conditions(compute_status(Observation(1, "worker", dep), {}, T0))
    assert cond["Progressing"]["status"] == "True"
    assert cond["Ready"]["status"] == "False"
    assert "1/2 replicas available" in cond["Ready"]["message"]


def test_stale_deployment_generation_counts_as_rolling_out() -> None:
    dep = deployment(generation=2, observed=1)
    cond = conditions(compute_status(Observation(1, "worker", dep), {}, T0))
    assert cond["Progressing"]["status"] == "True"
    assert cond["Ready"]["status"] == "False"


def test_missing_deployment_is_unknown_not_false() -> None:
    cond = conditions(compute_status(Observation(1, "worker", None), {}, T0))
    assert cond["DeploymentReady"]["status"] == "Unknown"
    assert cond["Ready"]["status"] == "False"


def test_problems_make_it_degraded_with_the_first_reason_and_every_message() -> None:
    problems = (Problem("MissingReference", "spec.envFrom[0]: a"), Problem("X", "b"))
    cond = conditions(
        compute_status(Observation(1, "worker", deployment(), problems=problems), {}, T0)
    )
    assert cond["Degraded"]["status"] == "True"
    assert cond["Degraded"]["reason"] == "MissingReference"
    assert cond["Degraded"]["message"] == "spec.envFrom[0]: a; b"
    assert cond["Ready"]["status"] == "False"
    assert cond["Ready"]["reason"] == "MissingReference"


def test_transition_time_moves_only_when_status_changes() -> None:
    first = compute_status(Observation(1, "worker", deployment()), {}, T0)
    same = compute_status(Observation(1, "worker", deployment()), first, T1)
    assert same == first
    assert not status_changed(same, first)
    down = compute_status(
        Observation(1, "worker", deployment(available=0, available_status="False")), first, T1
    )
    cond = conditions(down)
    assert cond["Ready"]["lastTransitionTime"] == T1
    assert cond["Degraded"]["lastTransitionTime"] == T0
    assert status_changed(down, first)


def test_merge_transition_times_uses_now_for_new_conditions() -> None:
    merged = merge_transition_times([{"type": "A", "status": "True"}], [], T1)
    assert merged[0]["lastTransitionTime"] == T1


def test_pod_waiting_reasons_that_need_a_human_are_problems() -> None:
    pods = [
        {
            "metadata": {"name": "p1"},
            "status": {
                "containerStatuses": [
                    {
                        "name": "app",
                        "state": {
                            "waiting": {
                                "reason": "CreateContainerConfigError",
                                "message": 'secret "kafka-creds" not found',
                            }
                        },
                    }
                ]
            },
        },
        {
            "metadata": {"name": "p2"},
            "status": {
                "containerStatuses": [
                    {"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}
                ]
            },
        },
    ]
    problems = pod_problems(pods)
    assert [p.reason for p in problems] == ["CreateContainerConfigError"]
    assert 'secret "kafka-creds" not found' in problems[0].message


def test_a_non_blocking_problem_leaves_a_running_service_ready_but_degraded() -> None:
    problems = (Problem("AutoscalerUnavailable", "spec.autoscaling: no KEDA", blocking=False),)
    cond = conditions(
        compute_status(Observation(1, "worker", deployment(), problems=problems), {}, T0)
    )
    assert cond["Ready"]["status"] == "True"
    assert cond["Degraded"]["status"] == "True"
    assert cond["Degraded"]["reason"] == "AutoscalerUnavailable"


def test_a_huge_message_is_bounded_and_says_how_much_was_cut() -> None:
    from huleedu_operator.controller.status import MAX_MESSAGE, bounded

    message = "spec.env[0]: " + "x" * 100_000
    cut = bounded(message)
    assert len(cut) <= MAX_MESSAGE
    assert cut.startswith("spec.env[0]: xxx")
    assert cut.endswith("more characters)")
    assert bounded("short") == "short"
