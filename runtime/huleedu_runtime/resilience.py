"""Circuit breaker for outbound calls.

A dependency that is down should cost a caller microseconds, not a timeout per
request: after ``failure_threshold`` consecutive failures the breaker *opens* and
calls fail fast with :class:`CircuitBreakerOpenError` (rendered as
``CIRCUIT_BREAKER_OPEN`` / 503). After ``recovery_timeout`` seconds it lets a
limited number of *probe* calls through (*half-open*); ``success_threshold``
successful probes close it again, one failed probe re-opens it.

A probe holds its slot on a lease of ``probe_lease_seconds`` (default 30). A probe
that hangs (a dependency that accepts connections and never answers, a call without
a timeout) would otherwise keep the only slot forever and every later call would be
rejected for as long as the process lives. Once the lease has run out the slot is free
for the next caller, and the expired probe's eventual result is ignored: its slot was
given away, so counting it could free a slot another probe holds, re-open a breaker a
newer probe is about to close, or count as a failure after the breaker closed.

State changes happen without awaiting in between, so the breaker is safe to share
between the tasks of one event loop without a lock. The clock is injectable so
tests drive time instead of sleeping.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import ParamSpec, TypeVar

import structlog
from prometheus_client import Counter, Gauge

from huleedu_runtime.errors import ErrorCode, ServiceError

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_PROBE_LEASE_SECONDS = 30.0
"""How long a half-open probe may take before its slot goes to the next caller."""

log = structlog.get_logger(__name__)


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


_STATE_VALUE = {CircuitState.CLOSED: 0, CircuitState.OPEN: 1, CircuitState.HALF_OPEN: 2}

CIRCUIT_STATE = Gauge(
    "huleedu_circuit_breaker_state",
    "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
    ["breaker"],
)
CIRCUIT_CALLS = Counter(
    "huleedu_circuit_breaker_calls_total",
    "Calls through a circuit breaker by outcome (success, failure, rejected).",
    ["breaker", "outcome"],
)
CIRCUIT_TRANSITIONS = Counter(
    "huleedu_circuit_breaker_transitions_total",
    "Circuit breaker state transitions by target state.",
    ["breaker", "state"],
)


class CircuitBreakerOpenError(ServiceError):
    """Raised instead of calling a dependency whose breaker is open."""

    code = ErrorCode.CIRCUIT_BREAKER_OPEN

    def __init__(self, breaker: str, retry_after: float) -> None:
        super().__init__(
            message=f"{breaker} is unavailable (circuit open); retry later",
            details={"breaker": breaker, "retry_after_seconds": round(max(retry_after, 0.0), 3)},
        )
        self.breaker = breaker
        self.retry_after = retry_after


class CircuitBreaker:
    """A closed/open/half-open circuit breaker around async calls.

    Use :meth:`call`, or the breaker itself as a decorator::

        payments = CircuitBreaker("payments", failure_threshold=5, recovery_timeout=30)

        @payments
        async def charge(...): ...

    ``probe_lease_seconds`` bounds how long one half-open probe may hold its slot; set
    it above the longest a healthy call takes (the call's own timeout, if it has one).
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        recovery_timeout: float = 30.0,
        success_threshold: int = 1,
        half_open_max_calls: int = 1,
        expected_exceptions: tuple[type[BaseException], ...] = (Exception,),
        excluded_exceptions: tuple[type[BaseException], ...] = (),
        clock: Callable[[], float] = time.monotonic,
        probe_lease_seconds: float = DEFAULT_PROBE_LEASE_SECONDS,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if success_threshold < 1:
            raise ValueError("success_threshold must be >= 1")
        if half_open_max_calls < 1:
            raise ValueError("half_open_max_calls must be >= 1")
        if recovery_timeout < 0:
            raise ValueError("recovery_timeout must be >= 0")
        if probe_lease_seconds <= 0:
            raise ValueError("probe_lease_seconds must be > 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.recovery_timeout = recovery_timeout
        self.success_threshold = success_threshold
        self.half_open_max_calls = half_open_max_calls
        self.probe_lease_seconds = probe_lease_seconds
        self.expected_exceptions = expected_exceptions
        # A client error (e.g. 404 from the dependency) says nothing about its health.
        self.excluded_exceptions = excluded_exceptions
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._successes = 0
        self._opened_at = 0.0
        # The slots of the current half-open period: probe token -> lease deadline.
        # Emptied on every transition, and tokens are never reused, so a probe
        # admitted in an earlier period (or whose lease ran out) finds no slot of its
        # own and cannot count towards, or free a slot of, the current one.
        self._leases: dict[int, float] = {}
        self._last_probe = 0
        CIRCUIT_STATE.labels(name).set(_STATE_VALUE[self._state])

    @property
    def state(self) -> CircuitState:
        """The current state; an open breaker whose timeout passed reads half-open."""
        if (
            self._state is CircuitState.OPEN
            and self._clock() - self._opened_at >= self.recovery_timeout
        ):
            self._transition(CircuitState.HALF_OPEN)
        return self._state

    @property
    def failure_count(self) -> int:
        return self._failures

    def _transition(self, state: CircuitState) -> None:
        if state is self._state:
            return
        log.warning(
            "circuit_breaker_state_changed",
            breaker=self.name,
            state=state.value,
            previous=self._state.value,
        )
        self._state = state
        self._failures = 0
        self._successes = 0
        self._leases.clear()
        if state is CircuitState.OPEN:
            self._opened_at = self._clock()
        CIRCUIT_STATE.labels(self.name).set(_STATE_VALUE[state])
        CIRCUIT_TRANSITIONS.labels(self.name, state.value).inc()

    def _acquire(self) -> int | None:
        """Admit a call or raise; a half-open probe gets the token of its slot."""
        state = self.state
        if state is CircuitState.CLOSED:
            return None
        now = self._clock()
        if state is CircuitState.HALF_OPEN:
            for token in [t for t, deadline in self._leases.items() if now >= deadline]:
                self._expire(token)
            if len(self._leases) < self.half_open_max_calls:
                self._last_probe += 1
                self._leases[self._last_probe] = now + self.probe_lease_seconds
                return self._last_probe
            retry_after = min(self._leases.values()) - now  # the first slot to free up
        else:
            retry_after = self._opened_at + self.recovery_timeout - now
        CIRCUIT_CALLS.labels(self.name, "rejected").inc()
        raise CircuitBreakerOpenError(self.name, retry_after)

    def _expire(self, token: int) -> None:
        del self._leases[token]
        log.warning(
            "circuit_breaker_probe_lease_expired",
            breaker=self.name,
            lease_seconds=self.probe_lease_seconds,
        )

    def _end_probe(self, probe: int) -> bool:
        """Give the probe's slot back; whether its result still counts (lease held)."""
        deadline = self._leases.get(probe)
        if deadline is None:  # an earlier period's probe, or one whose lease expired
            return False
        if self._clock() >= deadline:
            self._expire(probe)
            return False
        del self._leases[probe]
        return True

    def record_success(self, *, probe: int | None = None) -> None:
        CIRCUIT_CALLS.labels(self.name, "success").inc()
        if probe is not None:
            if self._end_probe(probe):
                self._successes += 1
                if self._successes >= self.success_threshold:
                    self._transition(CircuitState.CLOSED)
        elif self._state is CircuitState.CLOSED:
            self._failures = 0

    def record_failure(self, *, probe: int | None = None) -> None:
        CIRCUIT_CALLS.labels(self.name, "failure").inc()
        if probe is not None:
            if self._end_probe(probe):
                self._transition(CircuitState.OPEN)
        elif self._state is CircuitState.CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._transition(CircuitState.OPEN)

    def _release_probe(self, probe: int | None) -> None:
        # A probe cancelled or failing with an excluded exception tells us nothing
        # about the dependency: free its slot without counting it.
        if probe is not None:
            self._end_probe(probe)

    async def call(
        self, func: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call ``func`` through the breaker."""
        probe = self._acquire()
        try:
            result = await func(*args, **kwargs)
        except self.excluded_exceptions:
            self._release_probe(probe)
            raise
        except self.expected_exceptions:
            self.record_failure(probe=probe)
            raise
        except BaseException:
            self._release_probe(probe)
            raise
        self.record_success(probe=probe)
        return result

    def __call__(self, func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(func)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self.call(func, *args, **kwargs)

        guarded.circuit_breaker = self  # type: ignore[attr-defined]
        return guarded


def circuit_breaker(
    failure_threshold: int = 5,
    timeout: float = 30.0,
    *,
    name: str | None = None,
    success_threshold: int = 1,
    half_open_max_calls: int = 1,
    expected_exceptions: tuple[type[BaseException], ...] = (Exception,),
    excluded_exceptions: tuple[type[BaseException], ...] = (),
    clock: Callable[[], float] = time.monotonic,
    probe_lease_seconds: float = DEFAULT_PROBE_LEASE_SECONDS,
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Decorator form: ``@circuit_breaker(failure_threshold=5, timeout=30)``.

    Each decorated function gets its own breaker, named after the function unless
    ``name`` is given; it is reachable as ``func.circuit_breaker``.
    """

    def decorate(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        breaker = CircuitBreaker(
            name or f"{func.__module__}.{func.__qualname__}",
            failure_threshold=failure_threshold,
            recovery_timeout=timeout,
            success_threshold=success_threshold,
            half_open_max_calls=half_open_max_calls,
            expected_exceptions=expected_exceptions,
            excluded_exceptions=excluded_exceptions,
            clock=clock,
            probe_lease_seconds=probe_lease_seconds,
        )
        return breaker(func)

    return decorate
