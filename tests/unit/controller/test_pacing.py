"""Status writes are coalesced per resource, but urgent news is never held back."""

from __future__ import annotations

import pytest

from huleedu_operator.controller.pacing import StatusPacer

pytestmark = pytest.mark.unit


def pacer() -> StatusPacer:
    return StatusPacer(interval=2.0, progress_interval=5.0, first_wait=10.0)


def test_a_new_resource_that_is_ready_gets_its_status_at_once() -> None:
    assert pacer().delay("a", 0.0, first=True, urgent=False, ready=True, transition=True) == 0


def test_a_new_resource_not_yet_ready_waits_for_readiness_or_first_wait() -> None:
    p = pacer()
    assert p.delay("a", 100.0, first=True, urgent=False, ready=False, transition=True) == 10
    assert p.delay("a", 104.0, first=True, urgent=False, ready=False, transition=True) == 6
    assert p.delay("a", 110.0, first=True, urgent=False, ready=False, transition=True) == 0
    assert p.delay("a", 105.0, first=True, urgent=False, ready=True, transition=True) == 0


def test_condition_changes_wait_the_interval_and_progress_waits_longer() -> None:
    p = pacer()
    p.wrote("a", 10.0)
    assert p.delay("a", 11.0, first=False, urgent=False, ready=False, transition=True) == 1
    assert p.delay("a", 11.0, first=False, urgent=False, ready=False, transition=False) == 4
    assert p.delay("a", 15.0, first=False, urgent=False, ready=False, transition=False) == 0


def test_urgent_news_is_written_at_once() -> None:
    p = pacer()
    p.wrote("a", 10.0)
    assert p.delay("a", 10.1, first=False, urgent=True, ready=False, transition=False) == 0
    assert p.delay("b", 10.1, first=True, urgent=True, ready=False, transition=True) == 0


def test_after_a_restart_the_first_change_is_written_at_once() -> None:
    # The pacer forgets on restart; a resource that already has status is not "first".
    assert pacer().delay("a", 1.0, first=False, urgent=False, ready=False, transition=False) == 0


def test_interval_zero_writes_every_change() -> None:
    p = StatusPacer(interval=0.0, progress_interval=0.0, first_wait=0.0)
    assert p.delay("a", 1.0, first=True, urgent=False, ready=False, transition=True) == 0
