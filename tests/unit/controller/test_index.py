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


# --- resync: a LIST repairs what the watch missed ----------------------------------


def child(name: str, rv: str, owner: str = "svc") -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "resourceVersion": rv,
            "labels": {"huleedu.io/service": owner},
        },
    }


def test_a_child_missing_from_the_listing_is_forgotten_and_its_owner_reported() -> None:
    index = ChildIndex()
    index.put("Deployment", child("svc", "1"))
    index.put("Deployment", child("other", "1", owner="other"))
    before = index.mark()
    changed = index.reconcile_listing(
        "Deployment", "team-a", [child("other", "1", owner="other")], before
    )
    assert changed == {OWNER}
    assert index.get(OWNER, "Deployment", "svc") is None
    assert index.deleted(OWNER, "Deployment", "svc")


def test_an_unchanged_listing_changes_nothing() -> None:
    index = ChildIndex()
    index.put("Deployment", child("svc", "7"))
    before = index.mark()
    assert index.reconcile_listing("Deployment", "team-a", [child("svc", "7")], before) == set()


def test_a_newer_listing_updates_the_view() -> None:
    index = ChildIndex()
    index.put("Deployment", child("svc", "7"))
    before = index.mark()
    assert index.reconcile_listing("Deployment", "team-a", [child("svc", "9")], before) == {OWNER}
    assert index.get(OWNER, "Deployment", "svc")["metadata"]["resourceVersion"] == "9"  # type: ignore[index]


def test_a_watch_event_after_the_list_started_wins_over_the_listing() -> None:
    index = ChildIndex()
    before = index.mark()
    index.put("Deployment", child("svc", "9"))  # created while the LIST was in flight
    assert index.reconcile_listing("Deployment", "team-a", [], before) == set()
    assert index.get(OWNER, "Deployment", "svc") is not None

    index2 = ChildIndex()
    index2.put("Deployment", child("svc", "9"))
    before = index2.mark()
    index2.remove("Deployment", child("svc", "9"))  # deleted while the LIST was in flight
    assert index2.reconcile_listing("Deployment", "team-a", [child("svc", "9")], before) == set()
    assert index2.get(OWNER, "Deployment", "svc") is None


def test_pods_and_endpoint_slices_missing_from_the_listing_are_forgotten() -> None:
    index = ChildIndex()
    index.put_pod(pod("svc-1", waiting("app", "ImagePullBackOff")))
    index.put_endpoints(
        {
            "metadata": {
                "name": "svc-x",
                "namespace": "team-a",
                "labels": {"huleedu.io/service": "svc"},
            },
            "endpoints": [{"conditions": {"ready": True}}],
        }
    )
    before = index.mark()
    assert index.reconcile_listing("Pod", "team-a", [], before) == {OWNER}
    assert index.reconcile_listing("EndpointSlice", "team-a", [], before) == {OWNER}
    assert index.pods(OWNER) == []
    assert index.ready_endpoints(OWNER) is None


def test_other_namespaces_are_not_touched_by_a_listing() -> None:
    index = ChildIndex()
    index.put("Deployment", child("svc", "1"))
    before = index.mark()
    assert index.reconcile_listing("Deployment", "team-b", [], before) == set()
    assert index.get(OWNER, "Deployment", "svc") is not None


def test_a_dropped_kind_is_gone_for_every_owner() -> None:
    index = ChildIndex()
    monitor = {**child("svc", "1"), "kind": "ServiceMonitor"}
    index.put("ServiceMonitor", monitor)
    assert index.drop_kind("ServiceMonitor") == {OWNER}
    assert index.get(OWNER, "ServiceMonitor", "svc") is None
    assert index.deleted(OWNER, "ServiceMonitor", "svc")


# --- what the view keeps of a child, and when a change is news ----------------------


def live_deployment(rv: str, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "svc",
            "namespace": "team-a",
            "resourceVersion": rv,
            "generation": 1,
            "labels": {"huleedu.io/service": "svc"},
            "annotations": {
                "huleedu.io/applied-hash": "abc",
                "kubectl.kubernetes.io/last-applied-configuration": "{" + "x" * 5000 + "}",
            },
            "managedFields": [{"manager": "huleedu-operator", "fieldsV1": {"f:spec": {}}}] * 20,
        },
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "app"}]}}},
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True",
                    "reason": "MinimumReplicasAvailable",
                    "lastUpdateTime": "2026-12-01T00:00:00Z",
                }
            ],
            **status,
        },
    }


def test_the_view_keeps_what_reconcile_reads_and_not_managed_fields_or_last_applied() -> None:
    index = ChildIndex()
    index.put("Deployment", live_deployment("5", collisionCount=2))
    kept = index.get(OWNER, "Deployment", "svc")
    assert kept is not None
    assert "managedFields" not in kept["metadata"]
    assert kept["metadata"]["annotations"] == {"huleedu.io/applied-hash": "abc"}
    assert kept["metadata"]["resourceVersion"] == "5"
    assert kept["spec"] == {"replicas": 1, "template": {"spec": {"containers": [{"name": "app"}]}}}
    # Of the status, what controller/status.py reads: no times, no collisionCount.
    assert kept["status"] == {
        "observedGeneration": 1,
        "replicas": 1,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}
        ],
    }


def test_status_churn_that_status_does_not_read_is_no_news() -> None:
    index = ChildIndex()
    assert index.put("Deployment", live_deployment("5")) == OWNER  # new: news
    assert index.put("Deployment", live_deployment("5")) is None  # our own apply's echo
    churn = live_deployment("6", collisionCount=1)
    churn["status"]["conditions"][0]["lastUpdateTime"] = "2026-12-01T00:00:09Z"
    assert index.put("Deployment", churn) is None
    assert index.put("Deployment", live_deployment("7", readyReplicas=1)) == OWNER
    edited = live_deployment("8", readyReplicas=1)
    edited["spec"]["replicas"] = 3
    assert index.put("Deployment", edited) == OWNER


def test_other_kinds_keep_no_status() -> None:
    index = ChildIndex()
    budget = {
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "svc", "namespace": "team-a", "labels": {"huleedu.io/service": "svc"}},
        "spec": {"maxUnavailable": 1},
        "status": {"currentHealthy": 1, "observedGeneration": 1},
    }
    assert index.put("PodDisruptionBudget", budget) == OWNER
    budget["status"]["currentHealthy"] = 0
    assert index.put("PodDisruptionBudget", budget) is None
    assert "status" not in (index.get(OWNER, "PodDisruptionBudget", "svc") or {})


def deployment(rv: str, available: int) -> dict[str, Any]:
    body = child("svc", rv)
    body["status"] = {"replicas": 1, "availableReplicas": available}
    return body


def test_an_apply_answer_older_than_a_watch_event_since_the_request_is_not_kept() -> None:
    """The defect: under load, the watch delivered the Deployment's status update
    (available 1) before the reconcile resumed with its apply's answer (available 0,
    the object as created); the answer overwrote the newer view and the resource said
    "0/1 available" until the next resync, as nothing changed any more."""
    index = ChildIndex()
    sent = index.mark()  # the apply request goes out
    index.observe("Deployment", deployment("100", 0), deleted=False)  # ADDED
    index.observe("Deployment", deployment("105", 1), deleted=False)  # status: available
    assert index.put("Deployment", deployment("100", 0), since=sent) is None
    kept = index.get(OWNER, "Deployment", "svc")
    assert kept is not None
    assert kept["status"]["availableReplicas"] == 1


def test_an_answer_is_kept_when_no_event_came_since_the_request() -> None:
    index = ChildIndex()
    index.observe("Deployment", deployment("90", 0), deleted=False)
    sent = index.mark()
    assert index.put("Deployment", deployment("100", 1), since=sent) == OWNER
    assert index.get(OWNER, "Deployment", "svc")["metadata"]["resourceVersion"] == "100"  # type: ignore[index]


def test_an_answer_does_not_bring_back_a_child_the_watch_saw_deleted_since() -> None:
    index = ChildIndex()
    sent = index.mark()
    index.observe("Deployment", deployment("100", 0), deleted=True)
    assert index.put("Deployment", deployment("100", 0), since=sent) is None
    assert index.get(OWNER, "Deployment", "svc") is None
    assert index.deleted(OWNER, "Deployment", "svc")


def monitor() -> dict[str, Any]:
    body = child("svc", "300")
    body["kind"] = "ServiceMonitor"
    return body


def test_an_answer_to_a_request_sent_before_its_kind_was_dropped_is_not_kept() -> None:
    """The CI failure of the capability flap: the CRD's deletion deleted the
    ServiceMonitors, their DELETED events queued reconciles, and an apply already in
    flight when the CRD was found terminating answered after the kind was dropped. Kept,
    that answer said the ServiceMonitor existed, so when the CRD came back nothing
    re-created it (no watch event ever removed it: kopf had stopped that watch)."""
    index = ChildIndex()
    sent = index.mark()
    index.drop_kind("ServiceMonitor")
    assert index.put("ServiceMonitor", monitor(), since=sent) is None
    assert index.get(OWNER, "ServiceMonitor", "svc") is None
    later = index.mark()
    assert index.put("ServiceMonitor", monitor(), since=later) == OWNER
