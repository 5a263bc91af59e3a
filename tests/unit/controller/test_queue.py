"""The work queue de-duplicates keys and never hands one key to two workers."""

from __future__ import annotations

import asyncio

import pytest

from huleedu_operator.controller.queue import WorkQueue

pytestmark = pytest.mark.unit


async def test_a_key_added_twice_is_processed_once() -> None:
    queue = WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert queue.depth() == 2


async def test_a_key_added_while_active_is_requeued_after_done() -> None:
    queue = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")
    assert queue.depth() == 0, "must not be handed to a second worker while active"
    queue.done(key)
    assert queue.depth() == 1


async def test_retry_backs_off_exponentially_and_forget_resets() -> None:
    queue = WorkQueue(base_delay=0.01, max_delay=0.04)
    assert queue.retry("a") == 0.01
    assert queue.retry("a") == 0.02
    assert queue.retry("a") == 0.04
    assert queue.retry("a") == 0.04
    queue.forget("a")
    assert queue.retry("a") == 0.01
    await asyncio.sleep(0.05)
    assert queue.depth() == 1


async def test_triggers_added_soon_join_one_reconcile() -> None:
    queue = WorkQueue()
    for _ in range(5):
        queue.add_soon("a", 0.02)
    assert queue.depth() == 0, "not at once"
    await asyncio.sleep(0.05)
    assert queue.depth() == 1


async def test_a_steady_stream_of_soon_triggers_does_not_postpone_the_key() -> None:
    queue = WorkQueue()
    queue.add_soon("a", 0.05)
    for _ in range(4):
        await asyncio.sleep(0.02)
        queue.add_soon("a", 0.05)  # a debounce would push it back each time
    assert queue.depth() == 1, "added 0.05 s after the first trigger"


async def test_soon_brings_a_later_retry_forward_and_is_absorbed_by_a_waiting_key() -> None:
    queue = WorkQueue(base_delay=10.0)
    queue.retry("a")  # due in 10 s
    queue.add_soon("a", 0.01)
    await asyncio.sleep(0.03)
    assert queue.depth() == 1
    queue.add_soon("a", 0.01)  # already waiting
    await asyncio.sleep(0.03)
    assert queue.depth() == 1
