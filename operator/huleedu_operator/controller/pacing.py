"""When to write status: soon enough for a user, rarely enough for the API server.

While a Deployment rolls out, its status changes each time a pod becomes ready, and a
status write per change would cost a resource several writes during creation alone.
:class:`StatusPacer` coalesces them per resource:

- urgent news (a new Degraded reason) is written at once;
- a resource's first status is written when it is Ready, or after ``first_wait`` if it
  is not Ready by then (a new resource on a healthy cluster gets one status write);
- a change of some condition's status (Ready False -> True, ...) waits at most
  ``interval`` after the previous write; progress alone (replica counts, messages)
  waits ``progress_interval``.

A deferred write is not lost: the reconciler re-queues the resource for the moment the
pacer names. Pure (the clock is passed in), so the policy is unit-tested.
"""

from __future__ import annotations

from collections.abc import Hashable


class StatusPacer:
    def __init__(
        self, interval: float = 2.0, progress_interval: float = 5.0, first_wait: float = 10.0
    ) -> None:
        self.interval = interval
        self.progress_interval = max(progress_interval, interval)
        self.first_wait = first_wait
        self._last: dict[Hashable, float] = {}
        self._first_seen: dict[Hashable, float] = {}

    def delay(
        self,
        key: Hashable,
        now: float,
        *,
        first: bool,
        urgent: bool,
        ready: bool,
        transition: bool,
    ) -> float:
        """0 to write now, else seconds until the write may happen."""
        if urgent:
            return 0.0
        if first:
            if ready:
                return 0.0
            started = self._first_seen.setdefault(key, now)
            return max(started + self.first_wait - now, 0.0)
        last = self._last.get(key)
        if last is None:
            return 0.0
        wait = self.interval if transition else self.progress_interval
        return max(last + wait - now, 0.0)

    def wrote(self, key: Hashable, now: float) -> None:
        self._last[key] = now
        self._first_seen.pop(key, None)

    def forget(self, key: Hashable) -> None:
        self._last.pop(key, None)
        self._first_seen.pop(key, None)
