"""What the metadata watches of other objects let the reconciler conclude."""

from __future__ import annotations

import pytest

from huleedu_operator.controller.foreign import ForeignNames

pytestmark = pytest.mark.unit


def test_nothing_is_free_before_a_listing() -> None:
    assert not ForeignNames().free("Deployment", "team-a", "svc")


def test_a_listed_namespace_knows_which_names_are_taken() -> None:
    names = ForeignNames()
    names.listed("Deployment", "team-a", {"team-a": {"theirs"}})
    assert names.free("Deployment", "team-a", "svc")
    assert not names.free("Deployment", "team-a", "theirs")
    assert not names.free("Deployment", "team-b", "svc"), "another namespace is not listed"
    assert not names.free("Service", "team-a", "svc"), "another kind is not listed"


def test_events_after_the_listing_keep_it_current() -> None:
    names = ForeignNames()
    names.listed("Deployment", "team-a", {})
    names.seen("Deployment", "team-a", "late", deleted=False)
    assert not names.free("Deployment", "team-a", "late")
    names.seen("Deployment", "team-a", "late", deleted=True)
    assert names.free("Deployment", "team-a", "late")


def test_a_broken_watch_frees_nothing_until_it_lists_again() -> None:
    names = ForeignNames()
    names.listed("Deployment", "team-a", {})
    names.lost("Deployment", "team-a")
    assert not names.free("Deployment", "team-a", "svc")
    names.listed("Deployment", "team-a", {})
    assert names.free("Deployment", "team-a", "svc")


def test_a_cluster_wide_listing_covers_every_namespace_even_new_ones() -> None:
    names = ForeignNames()
    names.listed("ConfigMap", None, {"team-a": {"kube-root-ca.crt"}})
    assert not names.free("ConfigMap", "team-a", "kube-root-ca.crt")
    assert names.free("ConfigMap", "created-later", "settings")
    names.seen("ConfigMap", "created-later", "settings", deleted=False)
    assert not names.free("ConfigMap", "created-later", "settings")
    names.forget("ConfigMap", None)
    assert not names.free("ConfigMap", "team-a", "other")
