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
