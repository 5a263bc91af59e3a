"""Whose object is it: the rule that keeps the operator off objects it does not own."""

from __future__ import annotations

from typing import Any

import pytest

from huleedu_operator.controller.ownership import ADOPT_ANNOTATION, Verdict, classify

pytestmark = pytest.mark.unit

PARENT: dict[str, Any] = {
    "apiVersion": "huleedu.io/v1alpha1",
    "kind": "HuleEduService",
    "metadata": {"name": "api", "namespace": "team-a", "uid": "uid-now"},
}


def live(
    *,
    owner: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    managers: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "kind": "Service",
        "metadata": {
            "name": "api",
            "namespace": "team-a",
            "labels": labels or {},
            "annotations": annotations or {},
            "ownerReferences": [owner] if owner else [],
            "managedFields": [{"manager": m, "operation": "Apply"} for m in managers],
        },
    }


def ref(uid: str, kind: str = "HuleEduService", name: str = "api") -> dict[str, Any]:
    return {
        "apiVersion": "huleedu.io/v1alpha1" if kind == "HuleEduService" else "apps/v1",
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
    }


OURS_LABELS = {"app.kubernetes.io/managed-by": "huleedu-operator", "huleedu.io/service": "api"}


def test_a_child_controlled_by_this_resource_is_ours() -> None:
    assert classify(live(owner=ref("uid-now")), PARENT).verdict is Verdict.OURS


def test_a_helm_service_is_a_conflict_naming_the_release_and_left_alone() -> None:
    helm = live(
        labels={"app.kubernetes.io/managed-by": "Helm"},
        annotations={"meta.helm.sh/release-name": "payments"},
        managers=("helm",),
    )
    result = classify(helm, PARENT)
    assert result.verdict is Verdict.CONFLICT
    assert "Service 'api' already exists" in result.message
    assert "Helm release payments" in result.message
    assert "field manager helm" in result.message
    assert "left unchanged" in result.message


def test_an_object_labelled_like_ours_by_someone_else_is_still_theirs() -> None:
    lookalike = live(labels=OURS_LABELS, managers=("kubectl-create",))
    result = classify(lookalike, PARENT)
    assert result.verdict is Verdict.CONFLICT
    assert "field manager kubectl-create" in result.message


def test_an_object_controlled_by_another_owner_names_that_owner() -> None:
    other = live(owner=ref("x", kind="ReplicaSet", name="web-1"), labels=OURS_LABELS)
    result = classify(other, PARENT)
    assert result.verdict is Verdict.CONFLICT
    assert "controlled by ReplicaSet 'web-1'" in result.message


def test_an_earlier_incarnations_child_waits_for_the_garbage_collector() -> None:
    assert classify(live(owner=ref("uid-before")), PARENT).verdict is Verdict.WAIT


def test_our_orphan_is_adopted_only_when_the_resource_asks() -> None:
    orphan = live(labels=OURS_LABELS, managers=("huleedu-operator",))
    refused = classify(orphan, PARENT)
    assert refused.verdict is Verdict.CONFLICT
    assert f'{ADOPT_ANNOTATION}="true"' in refused.message

    asking = {
        **PARENT,
        "metadata": {**PARENT["metadata"], "annotations": {ADOPT_ANNOTATION: "true"}},
    }
    assert classify(orphan, asking).verdict is Verdict.ADOPT


def test_adoption_never_applies_to_objects_someone_else_made() -> None:
    asking = {
        **PARENT,
        "metadata": {**PARENT["metadata"], "annotations": {ADOPT_ANNOTATION: "true"}},
    }
    kubectl_made = live(labels=OURS_LABELS, managers=("kubectl-client-side-apply",))
    assert classify(kubectl_made, asking).verdict is Verdict.CONFLICT
