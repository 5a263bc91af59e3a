"""Circuit breaker for outbound calls.

A dependency that is down should cost a caller microseconds, not a timeout per
request: after ``failure_threshold`` consecutive failures the breaker *opens* and
calls fail fast with :class:`CircuitBreakerOpenError` (rendered as
``CIRCUIT_BREAKER_OPEN`` / 503). After ``recovery_timeout`` seconds it lets a
limited number of *probe* calls through (*half-open*); ``success_threshold``
successful probes close it again, one failed probe re-opens it.

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
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if success_threshold < 1:
            raise ValueError("success_threshold must be >= 1")
        if half_open_max_calls < 1:
            raise ValueError("half_open_max_calls must be >= 1")
        if recovery_timeout < 0:
            raise ValueError("recovery_timeout must be >= 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.recovery_timeout = recovery_timeout
        self.success_threshold = success_threshold
        self.half_open_max_calls = half_open_max_calls
        self.expected_exceptions = expected_exceptions
        # A client error (e.g. 404 from the dependency) says nothing about its health.
        self.excluded_exceptions = excluded_exceptions
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._successes = 0
        self._opened_at = 0.0
        self._probes_in_flight = 0
        # Bumped on every transition, so a probe admitted in an earlier half-open
        # period cannot count towards (or free a slot of) the current one.
        self._generation = 0
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
        self._probes_in_flight = 0
        self._generation += 1
        if state is CircuitState.OPEN:
            self._opened_at = self._clock()
        CIRCUIT_STATE.labels(self.name).set(_STATE_VALUE[state])
        CIRCUIT_TRANSITIONS.labels(self.name, state.value).inc()

    def _acquire(self) -> int | None:
        """Admit a call or raise; a half-open probe gets its period's generation."""
        state = self.state
        if state is CircuitState.CLOSED:
            return None
        if state is CircuitState.HALF_OPEN and self._probes_in_flight < self.half_open_max_calls:
            self._probes_in_flight += 1
            return self._generation
        CIRCUIT_CALLS.labels(self.name, "rejected").inc()
        retry_after = (
            self._opened_at + self.recovery_timeout - self._clock()
            if state is CircuitState.OPEN
            else 0.0
        )
        raise CircuitBreakerOpenError(self.name, retry_after)

    def _is_current_probe(self, probe: int | None) -> bool:
        return probe == self._generation and self._state is CircuitState.HALF_OPEN

    def record_success(self, *, probe: int | None = None) -> None:
        CIRCUIT_CALLS.labels(self.name, "success").inc()
        if self._is_current_probe(probe):
            self._probes_in_flight -= 1
            self._successes += 1
            if self._successes >= self.success_threshold:
                self._transition(CircuitState.CLOSED)
        elif self._state is CircuitState.CLOSED:
            self._failures = 0

    def record_failure(self, *, probe: int | None = None) -> None:
        CIRCUIT_CALLS.labels(self.name, "failure").inc()
        if self._is_current_probe(probe):
            self._transition(CircuitState.OPEN)
        elif self._state is CircuitState.CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._transition(CircuitState.OPEN)

    def _release_probe(self, probe: int | None) -> None:
        # A probe cancelled or failing with an excluded exception tells us nothing
        # about the dependency: free its slot without counting it.
        if self._is_current_probe(probe):
            self._probes_in_flight -= 1

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
        )
        return breaker(func)

    return decorate
