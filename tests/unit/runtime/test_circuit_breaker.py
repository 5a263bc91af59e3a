"""Circuit breaker state machine, driven by a controllable clock."""

from __future__ import annotations

import asyncio

import pytest

from huleedu_runtime.errors import ErrorCode
from huleedu_runtime.resilience import (
    CircuitBreaker,
    CircuitBreakerOpenError,
    CircuitState,
    circuit_breaker,
)

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def fail() -> None:
    raise ConnectionError("down")


async def ok() -> str:
    return "ok"


async def trip(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)


async def test_breaker_opens_after_the_failure_threshold_and_then_fails_fast() -> None:
    clock = Clock()
    breaker = CircuitBreaker("dep", failure_threshold=3, recovery_timeout=30, clock=clock)
    await trip(breaker, 2)
    assert breaker.state is CircuitState.CLOSED
    await trip(breaker, 1)
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitBreakerOpenError) as info:
        await breaker.call(ok)
    assert info.value.code is ErrorCode.CIRCUIT_BREAKER_OPEN
    assert info.value.details["retry_after_seconds"] == 30


async def test_a_success_resets_the_consecutive_failure_count() -> None:
    breaker = CircuitBreaker("dep", failure_threshold=2, clock=Clock())
    await trip(breaker, 1)
    await breaker.call(ok)
    await trip(breaker, 1)
    assert breaker.state is CircuitState.CLOSED


async def test_after_the_recovery_timeout_a_successful_probe_closes_the_breaker() -> None:
    clock = Clock()
    breaker = CircuitBreaker(
        "dep", failure_threshold=1, recovery_timeout=10, success_threshold=2, clock=clock
    )
    await trip(breaker, 1)
    clock.now += 9.9
    assert breaker.state is CircuitState.OPEN
    clock.now += 0.1
    assert breaker.state is CircuitState.HALF_OPEN
    assert await breaker.call(ok) == "ok"
    assert breaker.state is CircuitState.HALF_OPEN  # needs two successes
    await breaker.call(ok)
    assert breaker.state is CircuitState.CLOSED


async def test_a_failed_probe_reopens_the_breaker_for_another_timeout() -> None:
    clock = Clock()
    breaker = CircuitBreaker("dep", failure_threshold=1, recovery_timeout=10, clock=clock)
    await trip(breaker, 1)
    clock.now += 10
    await trip(breaker, 1)
    assert breaker.state is CircuitState.OPEN
    clock.now += 5
    with pytest.raises(CircuitBreakerOpenError):
        await breaker.call(ok)


async def test_half_open_admits_only_the_configured_number_of_concurrent_probes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(
        "dep", failure_threshold=1, recovery_timeout=1, half_open_max_calls=2, clock=clock
    )
    await trip(breaker, 1)
    clock.now += 1
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        return "slow"

    probes = [asyncio.create_task(breaker.call(slow)) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(CircuitBreakerOpenError):
        await breaker.call(ok)
    release.set()
    assert await asyncio.gather(*probes) == ["slow", "slow"]
    assert breaker.state is CircuitState.CLOSED


async def test_a_cancelled_probe_frees_its_slot_without_counting() -> None:
    clock = Clock()
    breaker = CircuitBreaker("dep", failure_threshold=1, recovery_timeout=1, clock=clock)
    await trip(breaker, 1)
    clock.now += 1
    probe = asyncio.create_task(breaker.call(asyncio.Event().wait))
    await asyncio.sleep(0)
    probe.cancel()
    await asyncio.gather(probe, return_exceptions=True)
    assert breaker.state is CircuitState.HALF_OPEN
    assert await breaker.call(ok) == "ok"
    assert breaker.state is CircuitState.CLOSED


async def test_excluded_exceptions_do_not_count_as_failures() -> None:
    breaker = CircuitBreaker(
        "dep", failure_threshold=1, excluded_exceptions=(KeyError,), clock=Clock()
    )

    async def missing() -> None:
        raise KeyError("no such row")

    with pytest.raises(KeyError):
        await breaker.call(missing)
    assert breaker.state is CircuitState.CLOSED


async def test_decorator_form_gives_each_function_its_own_breaker() -> None:
    clock = Clock()

    @circuit_breaker(failure_threshold=2, timeout=30, clock=clock)
    async def fetch(fail_it: bool) -> str:
        if fail_it:
            raise TimeoutError
        return "data"

    assert await fetch(False) == "data"
    for _ in range(2):
        with pytest.raises(TimeoutError):
            await fetch(True)
    with pytest.raises(CircuitBreakerOpenError):
        await fetch(False)
    assert fetch.circuit_breaker.state is CircuitState.OPEN  # type: ignore[attr-defined]


def test_invalid_thresholds_are_rejected() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker("dep", failure_threshold=0)


# --- the probe lease: a hung probe cannot hold the half-open slot forever ------------


class Probe:
    """A probe call the test finishes when it likes: with a result or an error."""

    def __init__(self) -> None:
        self._outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def __call__(self) -> str:
        return await self._outcome

    def succeed(self) -> None:
        self._outcome.set_result("late")

    def fail(self) -> None:
        self._outcome.set_exception(ConnectionError("still down"))


async def half_open(breaker: CircuitBreaker, clock: Clock) -> CircuitBreaker:
    """``breaker`` (failure_threshold=1, recovery_timeout=10) tripped and recovered."""
    await trip(breaker, 1)
    clock.now += 10
    assert breaker.state is CircuitState.HALF_OPEN
    return breaker


def leased(clock: Clock, lease: float = 5) -> CircuitBreaker:
    return CircuitBreaker(
        "dep", failure_threshold=1, recovery_timeout=10, probe_lease_seconds=lease, clock=clock
    )


async def start_probe(breaker: CircuitBreaker, probe: Probe) -> asyncio.Task[str]:
    task = asyncio.create_task(breaker.call(probe))
    await asyncio.sleep(0)  # admitted: it now holds a slot
    return task


async def abandon(task: asyncio.Task[str]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_hung_probe_loses_its_slot_when_its_lease_expires() -> None:
    clock = Clock()
    breaker = await half_open(leased(clock), clock)
    hung = await start_probe(breaker, Probe())

    clock.now += 4
    with pytest.raises(CircuitBreakerOpenError) as info:
        await breaker.call(ok)
    assert info.value.details["retry_after_seconds"] == 1, "says when the slot frees up"

    clock.now += 1
    assert await breaker.call(ok) == "ok", "the lease expired: the next caller probes"
    assert breaker.state is CircuitState.CLOSED
    await abandon(hung)


async def test_the_probe_lease_defaults_to_thirty_seconds() -> None:
    clock = Clock()
    breaker = await half_open(
        CircuitBreaker("dep", failure_threshold=1, recovery_timeout=10, clock=clock), clock
    )
    assert breaker.probe_lease_seconds == 30
    hung = await start_probe(breaker, Probe())
    clock.now += 29.9
    with pytest.raises(CircuitBreakerOpenError):
        await breaker.call(ok)
    clock.now += 0.1
    assert await breaker.call(ok) == "ok"
    await abandon(hung)


async def test_a_late_failure_of_an_expired_probe_neither_reopens_nor_frees_another_slot() -> None:
    clock = Clock()
    breaker = await half_open(leased(clock), clock)
    expired, current = Probe(), Probe()
    late = await start_probe(breaker, expired)
    clock.now += 5
    holding = await start_probe(breaker, current)

    expired.fail()
    with pytest.raises(ConnectionError):
        await late
    assert breaker.state is CircuitState.HALF_OPEN, "a stale failure must not re-open"
    with pytest.raises(CircuitBreakerOpenError):
        await breaker.call(ok)  # the current probe still holds the only slot

    current.succeed()
    assert await holding == "late"
    assert breaker.state is CircuitState.CLOSED


async def test_a_late_success_of_an_expired_probe_does_not_count_towards_closing() -> None:
    clock = Clock()
    breaker = await half_open(
        CircuitBreaker(
            "dep",
            failure_threshold=1,
            recovery_timeout=10,
            success_threshold=2,
            probe_lease_seconds=5,
            clock=clock,
        ),
        clock,
    )
    expired = Probe()
    late = await start_probe(breaker, expired)
    clock.now += 5
    assert await breaker.call(ok) == "ok"  # success 1 of 2, by a probe holding a lease

    expired.succeed()
    assert await late == "late"
    assert breaker.state is CircuitState.HALF_OPEN, "the expired probe's success is not counted"
    assert await breaker.call(ok) == "ok"
    assert breaker.state is CircuitState.CLOSED


async def test_a_probe_answering_after_its_lease_is_ignored_even_if_nobody_took_the_slot() -> None:
    clock = Clock()
    breaker = await half_open(leased(clock), clock)
    slow = Probe()
    late = await start_probe(breaker, slow)
    clock.now += 6
    slow.fail()
    with pytest.raises(ConnectionError):
        await late
    assert breaker.state is CircuitState.HALF_OPEN
    assert await breaker.call(ok) == "ok"
    assert breaker.state is CircuitState.CLOSED


async def test_a_late_failure_after_the_breaker_closed_is_not_a_closed_state_failure() -> None:
    clock = Clock()
    breaker = await half_open(leased(clock), clock)
    expired = Probe()
    late = await start_probe(breaker, expired)
    clock.now += 5
    await breaker.call(ok)
    assert breaker.state is CircuitState.CLOSED

    expired.fail()
    with pytest.raises(ConnectionError):
        await late
    assert breaker.state is CircuitState.CLOSED, "failure_threshold=1 would have opened it"
    assert breaker.failure_count == 0


async def test_the_decorator_passes_the_probe_lease_on() -> None:
    @circuit_breaker(failure_threshold=1, timeout=10, probe_lease_seconds=2.5)
    async def fetch() -> str:
        return "data"

    assert fetch.circuit_breaker.probe_lease_seconds == 2.5  # type: ignore[attr-defined]


def test_a_probe_lease_that_is_not_positive_is_rejected() -> None:
    with pytest.raises(ValueError, match="probe_lease_seconds"):
        CircuitBreaker("dep", probe_lease_seconds=0)
