"""The in-memory child index: what it keeps of pods (enough for status, nothing more)."""

from __future__ import annotations

from typing import Any

import pytest

from huleedu_operator.controller.index import ChildIndex
from huleedu_operator.controller.status import pod_problems

pytestmark = pytest.mark.unit
OWNER = ("team-a", "svc")


def pod(
    name: str, *statuses: dict[str, Any], init: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "labels": {"huleedu.io/service": "svc"},
            "managedFields": [{"manager": "kubelet"}],
        },
        "spec": {"containers": [{"name": "app", "image": "i:1"}]},
        "status": {
            "phase": "Pending",
            "containerStatuses": list(statuses),
            "initContainerStatuses": list(init),
        },
    }


def waiting(name: str, reason: str, message: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"reason": reason}
    if message is not None:
        state["message"] = message
    return {
        "name": name,
        "image": "i:1",
        "imageID": "",
        "restartCount": 3,
        "ready": False,
        "state": {"waiting": state},
        "lastState": {"terminated": {"exitCode": 1}},
    }


def test_a_pod_is_kept_as_its_containers_waiting_reasons_and_messages() -> None:
    index = ChildIndex()
    index.put_pod(
        pod(
            "svc-1",
            waiting("app", "CreateContainerConfigError", 'secret "db" not found'),
            init=(waiting("migrations", "PodInitializing"),),
        )
    )
    assert index.pods(OWNER) == [
        {
            "metadata": {"name": "svc-1"},
            "status": {
                "containerStatuses": [
                    {
                        "name": "app",
                        "state": {
                            "waiting": {
                                "reason": "CreateContainerConfigError",
                                "message": 'secret "db" not found',
                            }
                        },
                    }
                ],
                "initContainerStatuses": [
                    {"name": "migrations", "state": {"waiting": {"reason": "PodInitializing"}}}
                ],
            },
        }
    ]


def test_a_running_container_is_kept_as_its_name_only() -> None:
    index = ChildIndex()
    running = {"name": "app", "restartCount": 0, "state": {"running": {"startedAt": "t"}}}
    index.put_pod(pod("svc-1", running))
    assert index.pods(OWNER)[0]["status"]["containerStatuses"] == [{"name": "app"}]


def test_a_restart_count_change_does_not_change_the_kept_pod() -> None:
    # The pod handler re-queues only when the kept view changes.
    index = ChildIndex()
    first = waiting("app", "CrashLoopBackOff", "back-off 10s")
    index.put_pod(pod("svc-1", first))
    before = index.pods(OWNER)
    index.put_pod(pod("svc-1", {**first, "restartCount": 4}))
    assert index.pods(OWNER) == before


def test_the_kubelets_message_reaches_pod_problems() -> None:
    index = ChildIndex()
    index.put_pod(
        pod("svc-1", waiting("app", "CreateContainerConfigError", 'secret "db" not found'))
    )
    (problem,) = pod_problems(index.pods(OWNER))
    assert problem.message == (
        'pod svc-1 container app: CreateContainerConfigError: secret "db" not found'
    )


def test_a_deleted_pod_is_forgotten() -> None:
    index = ChildIndex()
    body = pod("svc-1", waiting("app", "ErrImagePull"))
    index.put_pod(body)
    index.put_pod(body, deleted=True)
    assert index.pods(OWNER) == []
