"""Capability hysteresis: a brief CRD flap changes nothing that is rendered."""

from __future__ import annotations

import pytest

from huleedu_operator.controller.capabilities import CapabilityTracker
from huleedu_operator.render import Capability

pytestmark = pytest.mark.unit
BOTH = frozenset({Capability.MONITORING, Capability.KEDA})


def test_a_gained_capability_counts_at_once() -> None:
    tracker = CapabilityTracker(grace=600)
    tracker.seed(frozenset())
    assert tracker.observe(BOTH, now=0.0)
    assert tracker.effective == BOTH


def test_a_flap_shorter_than_the_grace_period_changes_nothing() -> None:
    tracker = CapabilityTracker(grace=600)
    tracker.seed(BOTH)
    assert not tracker.observe(frozenset(), now=10.0)
    assert tracker.effective == BOTH
    assert tracker.served == frozenset()
    assert tracker.next_expiry() == 610.0
    assert not tracker.observe(BOTH, now=20.0)
    assert tracker.effective == BOTH
    assert tracker.next_expiry() is None


def test_a_loss_takes_effect_when_its_grace_period_ends() -> None:
    tracker = CapabilityTracker(grace=600)
    tracker.seed(BOTH)
    tracker.observe(frozenset({Capability.KEDA}), now=0.0)
    assert not tracker.tick(now=599.0)
    assert tracker.tick(now=600.0)
    assert tracker.effective == frozenset({Capability.KEDA})
    assert tracker.next_expiry() is None


def test_repeated_losses_keep_the_first_loss_time() -> None:
    tracker = CapabilityTracker(grace=100)
    tracker.seed(BOTH)
    tracker.observe(frozenset(), now=0.0)
    tracker.observe(frozenset(), now=50.0)
    assert tracker.next_expiry() == 100.0


def test_no_grace_means_no_hysteresis() -> None:
    tracker = CapabilityTracker(grace=0)
    tracker.seed(BOTH)
    assert tracker.observe(frozenset(), now=0.0)
    assert tracker.effective == frozenset()
