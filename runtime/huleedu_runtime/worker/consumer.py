"""The Kafka consumer loop: at-least-once, bounded retries, dead letters.

Semantics a service can rely on:

* offsets are committed only after the handler returned (auto-commit is off), so
  a crash or SIGKILL re-delivers whatever was not finished: nothing is lost,
  some messages may be handled twice;
* a failing message is retried ``max_retries`` times with exponential backoff,
  then copied to ``<topic>.DLQ`` with the failure in its headers, committed, and
  the loop moves on (a poison message never blocks its partition);
* one attempt may take ``KAFKA_HANDLER_TIMEOUT_SECONDS`` (default 300, 0 = no
  limit); an attempt that overruns is cancelled and fails with
  :class:`HandlerTimeoutError`, a retriable failure like any other: retried with
  backoff, then dead-lettered, so a message that always hangs no longer blocks
  its partition (nor, after a rebalance, the next consumer's). The deadline is
  kept by one timer per batch, not one per message (see :meth:`KafkaEventProcessor._watch`):
  it is exact, not polled, so an attempt is cancelled when its deadline passes,
  as precisely as ``asyncio.timeout`` would;
* a handler still running ``HANDLER_TIMEOUT_GRACE_SECONDS`` after its timeout
  (it swallowed the cancellation, or blocks the event loop) makes
  :meth:`KafkaEventProcessor.is_alive` false: liveness fails and the kubelet
  restarts the pod, re-delivering the uncommitted message elsewhere;
* if the dead letter itself cannot be produced the loop dies rather than skip
  the message; the worker then exits non-zero and the message is re-delivered
  after the restart;
* :meth:`KafkaEventProcessor.stop_processing` stops fetching, lets the message in
  hand finish, commits what was done and returns; messages fetched but not
  started stay uncommitted and go to the next owner of the partition;
* :meth:`KafkaEventProcessor.is_ready` means "started and joined its group": a
  rebalance completed for this consumer, with or without partitions. A replica
  beyond the partition count holds none and is still Ready (it takes over when
  another leaves); how many it holds is the ``huleedu_worker_assigned_partitions``
  gauge, not a readiness question.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.contract import CORRELATION_ID_HEADER, HANDLER_TIMEOUT_GRACE_SECONDS
from huleedu_runtime.logging import current_message_correlation_id, set_current_message
from huleedu_runtime.worker import metrics
from huleedu_runtime.worker.dead_letter import (
    dead_letter_headers,
    dead_letter_topic,
    failure_reason,
)
from huleedu_runtime.worker.kafka_options import consumer_options, producer_options
from huleedu_runtime.worker.protocol import MessageHandler

log = structlog.get_logger(__name__)


class NonRetriableError(Exception):
    """Raised by a handler for a message that can never succeed (bad schema, ...):
    it is dead-lettered without retries."""


class HandlerTimeoutError(Exception):
    """A handler attempt did not return within ``KAFKA_HANDLER_TIMEOUT_SECONDS``.

    Retriable: the attempt was cancelled, and the message is retried with backoff,
    then dead-lettered (unless listed in ``non_retriable``).
    """


class _Abandoned(Exception):
    """The worker is stopping while a message waits for its next retry."""


class _GroupMembership(ConsumerRebalanceListener):  # type: ignore[misc]
    """Records that a rebalance completed for this consumer and what it was given.

    aiokafka calls ``on_partitions_assigned`` after every completed join, also with
    an empty set, which is what makes an idle consumer distinguishable from one
    that never joined.
    """

    def __init__(self) -> None:
        self.joined = False

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Still a member: a rebalance is not a reason to leave the Service endpoints.
        return None

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.joined = True
        metrics.ASSIGNED_PARTITIONS.set(len(assigned))
        log.info("partitions_assigned", partitions=len(assigned))


def _timeout_from(cancelled: asyncio.CancelledError) -> TimeoutError:
    """The ``TimeoutError`` ``asyncio.timeout`` raised ``from`` the cancellation it caused."""
    try:
        raise TimeoutError from cancelled
    except TimeoutError as timeout:
        return timeout


def backoff_delay(attempt: int, base: float, maximum: float) -> float:
    """Delay before retry number ``attempt`` (1-based): base * 2**(attempt-1), capped."""
    return float(min(maximum, base * (2 ** (attempt - 1))))


class KafkaEventProcessor:
    """Consumes ``KAFKA_TOPICS`` as ``KAFKA_CONSUMER_GROUP`` and feeds a handler."""

    def __init__(
        self,
        settings: ServiceSettings,
        handler: MessageHandler,
        *,
        topics: Sequence[str] | None = None,
        max_retries: int = 3,
        retry_backoff_seconds: float = 0.2,
        max_backoff_seconds: float = 5.0,
        non_retriable: tuple[type[BaseException], ...] = (
            NonRetriableError,
            pydantic.ValidationError,
        ),
        poll_timeout_ms: int = 500,
        handler_timeout_grace_seconds: float = HANDLER_TIMEOUT_GRACE_SECONDS,
    ) -> None:
        self.settings = settings
        self.handler = handler
        self.topics = list(topics if topics is not None else settings.kafka_topics)
        if not self.topics:
            raise ValueError("KAFKA_TOPICS is empty: a worker needs at least one topic to consume")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.max_retries = max_retries
        self.retry_backoff_seconds = retry_backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.non_retriable = non_retriable
        self.poll_timeout_ms = poll_timeout_ms
        self.handler_timeout = settings.kafka_handler_timeout_seconds or None
        self.handler_timeout_grace_seconds = handler_timeout_grace_seconds
        self._attempt_started: float | None = None
        # The handler timeout's watchdog (:meth:`_watch`): its timer, the task it
        # cancels, and the start of the attempt it cancelled.
        self._watchdog: asyncio.TimerHandle | None = None
        self._watched_task: asyncio.Task[Any] | None = None
        self._timed_out_attempt: float | None = None
        self._stopping = asyncio.Event()
        self._stop_requested = False  # _stopping.is_set(), read per message without a call
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._running = False
        self._membership = _GroupMembership()
        self._topic_metrics: dict[str, metrics.TopicMetrics] = {}

    # --- EventProcessorProtocol -----------------------------------------------------

    async def start_processing(self) -> None:
        consumer = AIOKafkaConsumer(**consumer_options(self.settings))
        consumer.subscribe(self.topics, listener=self._membership)
        producer = AIOKafkaProducer(**producer_options(self.settings))
        self._consumer, self._producer = consumer, producer
        await producer.start()
        try:
            await consumer.start()
            self._running = True
            log.info("consumer_started", topics=self.topics, group=self.settings.consumer_group)
            while not self._stopping.is_set():
                batch = await consumer.getmany(
                    timeout_ms=self.poll_timeout_ms,
                    max_records=self.settings.kafka_max_poll_records,
                )
                if batch:
                    await self._process_batch(consumer, batch)
                await self._record_lag(consumer)
            log.info("consumer_stopping", reason="stop requested")
        finally:
            self._running = False
            metrics.ASSIGNED_PARTITIONS.set(0)
            try:
                await consumer.stop()
            finally:
                await producer.stop()
            log.info("consumer_stopped")

    async def stop_processing(self) -> None:
        self._stop_requested = True
        self._stopping.set()

    async def is_ready(self) -> bool:
        """Started and joined the group (zero partitions included); see the module doc."""
        return self._running and self._membership.joined

    def is_alive(self) -> bool:
        """False once a handler attempt ran past its timeout plus the grace period."""
        started, timeout = self._attempt_started, self.handler_timeout
        if started is None or timeout is None:
            return True
        overdue = time.perf_counter() - started - timeout
        if overdue <= self.handler_timeout_grace_seconds:
            return True
        log.error(
            "handler_stuck",
            seconds=round(overdue + timeout, 1),
            handler_timeout_seconds=timeout,
            reason="the handler did not return after its timeout cancelled it",
        )
        return False

    # --- Publisher ---------------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Mapping[str, bytes] | None = None,
    ) -> None:
        """Produce an event and wait for the broker's ack (``acks=all``).

        The event carries the correlation id of the message in hand, as checked by
        :func:`~huleedu_runtime.logging.current_message_correlation_id` (an unsafe one
        has been replaced), unless ``headers`` already set one.
        """
        if self._producer is None:
            raise RuntimeError("publish() called before start_processing()")
        merged = dict(headers or {})
        correlation_id = (
            current_message_correlation_id()
            or structlog.contextvars.get_contextvars().get("correlation_id")
        )
        if correlation_id and CORRELATION_ID_HEADER not in merged:
            merged[CORRELATION_ID_HEADER] = str(correlation_id).encode()
        await self._producer.send_and_wait(
            topic, value, key=key, headers=list(merged.items()) or None
        )

    # --- the loop ----------------------------------------------------------------------

    # The per-message path below is the worker's hot loop (bench/runtime_worker.py):
    # the handler is awaited inline (no coroutine per message), metric children
    # are looked up once per topic, counters and offsets move per batch, the
    # latency histogram is updated in place, the log context is one context
    # variable, not four, and the handler timeout is one timer per batch
    # (:meth:`_watch`) instead of an ``asyncio.timeout`` per message. Failures
    # leave the fast path for :meth:`_attempt_failed` and :meth:`_retry_or_dead_letter`.

    async def _process_batch(self, consumer: AIOKafkaConsumer, batch: Mapping[Any, Any]) -> None:
        done: dict[TopicPartition, OffsetAndMetadata] = {}
        metrics.IN_FLIGHT.set(sum(len(records) for records in batch.values()))
        handler, clock = self.handler, time.perf_counter
        task = self._arm_watchdog()
        try:
            for tp, records in batch.items():
                topic_metrics = self._metrics_for(tp.topic)
                seconds = topic_metrics.seconds
                bounds, counts = seconds.bounds, seconds.counts
                last_done: int | None = None
                processed = 0
                try:
                    for record in records:
                        if self._stop_requested:
                            return
                        set_current_message(record)
                        cancelling = task.cancelling()
                        started = self._attempt_started = clock()
                        try:
                            await handler(record, self)
                        except BaseException as exc:
                            error = self._attempt_failed(record, exc, started, task, cancelling)
                            if error is None:
                                raise
                            self._attempt_started = None
                            seconds.observe(clock() - started)
                            await self._retry_or_dead_letter(record, error, topic_metrics)
                        else:
                            self._attempt_started = None
                            elapsed = clock() - started
                            # LoopHistogramChild.observe, inline.
                            counts[bisect_left(bounds, elapsed)] += 1
                            seconds.total += elapsed
                            processed += 1
                            if self._timed_out_attempt == started:
                                # It swallowed the timeout's cancellation and returned.
                                self._timed_out_attempt = None
                                task.uncancel()
                        last_done = record.offset
                finally:
                    topic_metrics.pending_processed += processed
                    if last_done is not None:
                        done[tp] = OffsetAndMetadata(last_done + 1, "")
        except _Abandoned:
            return
        finally:
            self._disarm_watchdog()
            set_current_message(None)
            for topic_metrics in self._topic_metrics.values():
                topic_metrics.flush()
            await self._commit(consumer, done)
            metrics.IN_FLIGHT.set(0)

    # --- the handler timeout -------------------------------------------------------------

    def _arm_watchdog(self) -> asyncio.Task[Any]:
        """Start watching the attempts of the batch the current task is about to handle."""
        task = asyncio.current_task()
        assert task is not None
        if self.handler_timeout is not None:
            self._watched_task = task
            self._watchdog = asyncio.get_running_loop().call_later(
                self.handler_timeout, self._watch
            )
        return task

    def _disarm_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._watched_task = None

    def _watch(self) -> None:
        """The handler timeout, for every attempt of a batch, on one timer.

        An attempt records only its start (``_attempt_started``, also what
        :meth:`is_alive` reads). This callback runs no later than the deadline of the
        attempt in hand: when it finds that attempt not yet due, it sets its next run
        to exactly that attempt's deadline; with no attempt in hand (between messages,
        during a retry's backoff) it runs again ``timeout`` seconds later, which is
        no later than the deadline of any attempt starting meanwhile. So the
        granularity is exact: an overdue attempt is cancelled when its deadline
        passes, as ``asyncio.timeout`` did it, give or take the event loop's latency.
        While messages flow it runs about once per ``timeout`` seconds, and the happy
        path costs a float assignment per message instead of creating and cancelling
        a timer.

        An overdue attempt is cancelled once (as ``asyncio.timeout`` does): a handler
        that swallows the cancellation keeps running, and :meth:`is_alive` turns
        false after the grace period.
        """
        timeout, task = self.handler_timeout, self._watched_task
        if timeout is None or task is None:
            return
        delay = timeout
        started = self._attempt_started
        if started is not None and started != self._timed_out_attempt:
            remaining = started + timeout - time.perf_counter()
            if remaining > 0:
                delay = remaining
            else:
                self._timed_out_attempt = started
                task.cancel()
        self._watchdog = asyncio.get_running_loop().call_later(delay, self._watch)

    def _attempt_failed(
        self,
        record: Any,
        exc: BaseException,
        started: float,
        task: asyncio.Task[Any],
        cancelling: int,
    ) -> Exception | None:
        """An attempt that began at ``started`` raised ``exc``: the error to retry or
        dead-letter, or ``None`` when ``exc`` is to propagate (a cancellation that is
        not the timeout's, ``KeyboardInterrupt``, ...).

        What leaving ``asyncio.timeout`` did: if the watchdog cancelled this attempt,
        its cancellation request is withdrawn and, unless another one arrived
        meanwhile (``task.cancelling()`` above what it was when the attempt began),
        the ``CancelledError`` becomes a ``TimeoutError``, which is reported as a
        :class:`HandlerTimeoutError`.
        """
        error: BaseException = exc
        expired = self._timed_out_attempt == started
        if expired:
            self._timed_out_attempt = None
            if task.uncancel() <= cancelling and type(exc) is asyncio.CancelledError:
                error = _timeout_from(exc)
        if not isinstance(error, Exception):
            return None
        return self._timed_out(record, error, expired)

    def _metrics_for(self, topic: str) -> metrics.TopicMetrics:
        found = self._topic_metrics.get(topic)
        if found is None:
            found = self._topic_metrics[topic] = metrics.TopicMetrics(topic)
        return found

    async def _retry_or_dead_letter(
        self, record: Any, error: Exception, topic_metrics: metrics.TopicMetrics
    ) -> None:
        """After attempt 1 failed with ``error``: retry with backoff, then dead-letter.

        Raises :class:`_Abandoned` when the worker is asked to stop during a backoff.
        """
        attempt = 1
        while True:
            if isinstance(error, self.non_retriable) or attempt > self.max_retries:
                await self._dead_letter(record, error, attempt)
                return
            topic_metrics.retried.inc()
            delay = backoff_delay(attempt, self.retry_backoff_seconds, self.max_backoff_seconds)
            log.warning(
                "message_failed_retrying",
                attempt=attempt,
                delay_seconds=delay,
                exception_type=type(error).__name__,
                error=failure_reason(error)[:200],
            )
            await self._sleep_unless_stopping(delay, record)
            attempt += 1
            task = asyncio.current_task()
            assert task is not None
            cancelling = task.cancelling()
            started = self._attempt_started = time.perf_counter()
            try:
                await self.handler(record, self)
            except BaseException as exc:
                failed = self._attempt_failed(record, exc, started, task, cancelling)
                if failed is None:
                    raise
                error = failed
                continue
            else:
                if self._timed_out_attempt == started:
                    self._timed_out_attempt = None
                    task.uncancel()
            finally:
                self._attempt_started = None
                topic_metrics.seconds.observe(time.perf_counter() - started)
            topic_metrics.pending_processed += 1
            return

    def _timed_out(self, record: Any, error: Exception, expired: bool) -> Exception:
        """``error``, or a :class:`HandlerTimeoutError` when our timeout cancelled the attempt."""
        if not (isinstance(error, TimeoutError) and expired):
            return error
        metrics.MESSAGES.labels(record.topic, "timed_out").inc()
        log.warning("handler_timed_out", handler_timeout_seconds=self.handler_timeout)
        timeout = HandlerTimeoutError(f"handler did not return within {self.handler_timeout}s")
        timeout.__cause__ = error
        return timeout

    async def _sleep_unless_stopping(self, delay: float, record: Any) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=delay)
        except TimeoutError:
            return
        metrics.MESSAGES.labels(record.topic, "abandoned").inc()
        log.info("message_abandoned_for_shutdown", reason="stop requested during retry backoff")
        raise _Abandoned

    async def _dead_letter(self, record: Any, error: BaseException, attempts: int) -> None:
        assert self._producer is not None
        target = dead_letter_topic(record.topic)
        headers = dead_letter_headers(
            original_headers=record.headers or (),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=error,
            attempts=attempts,
            service=self.settings.service_name,
            consumer_group=self.settings.consumer_group,
        )
        # No try/except: a DLQ we cannot write to must stop the loop, not lose the message.
        await self._producer.send_and_wait(target, record.value, key=record.key, headers=headers)
        metrics.MESSAGES.labels(record.topic, "dead_lettered").inc()
        log.error(
            "message_dead_lettered",
            dlq_topic=target,
            attempts=attempts,
            exception_type=type(error).__name__,
        )

    async def _commit(
        self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, OffsetAndMetadata]
    ) -> None:
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group rebalanced under us: the new owner re-reads from the last
            # committed offset. Duplicates, not loss, so carry on.
            metrics.COMMITS.labels("failed").inc()
            log.warning("commit_failed_after_rebalance", exception_type=type(exc).__name__)
            return
        except KafkaError:
            metrics.COMMITS.labels("failed").inc()
            raise
        metrics.COMMITS.labels("ok").inc()

    async def _record_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:  # nothing fetched from this partition yet
                continue
            try:
                position = await consumer.position(tp)
            except IllegalStateError:  # revoked by a rebalance meanwhile
                continue
            metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(
                max(highwater - position, 0)
            )
