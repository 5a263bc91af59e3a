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
