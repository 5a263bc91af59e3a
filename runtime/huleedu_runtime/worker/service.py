"""``WorkerService``: run an event processor as a well-behaved pod process.

It owns what every worker needs and none should write: SIGTERM/SIGINT handling,
the health and metrics endpoints on ``METRICS_PORT``, and the exit code.

* SIGTERM/SIGINT -> ``stop_processing()``; the processor has
  ``SHUTDOWN_TIMEOUT_SECONDS`` to finish in-flight work and commit, then the
  process exits 0. A processor that overruns is cancelled and the exit is 1.
* While the worker is alive (:meth:`WorkerService.is_alive`) it touches
  ``HEARTBEAT_FILE`` every ``HEARTBEAT_INTERVAL_SECONDS``: the liveness signal of a
  worker without HTTP probes (``huleedu-runtime check-heartbeat``).
* The processor raising (start-up failure included) or returning without being
  asked to stop means the consumer task is dead: the error is logged as
  critical and the process exits 1, so Kubernetes restarts it instead of a
  live-looking pod that consumes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import structlog
from quart import Quart

from huleedu_runtime import contract, heartbeat
from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.serving import ReadinessChecks, health_app, install_stop_signals, serve_asgi
from huleedu_runtime.worker.protocol import (
    EventProcessorProtocol,
    SupportsLiveness,
    SupportsReadiness,
)

log = structlog.get_logger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1


class WorkerService:
    """Runs ``event_processor`` until a signal, then drains; see the module doc."""

    def __init__(
        self,
        event_processor: EventProcessorProtocol,
        settings: ServiceSettings | None = None,
        *,
        readiness: ReadinessChecks | None = None,
        serve_health: bool = True,
        heartbeat_interval_seconds: float = contract.HEARTBEAT_INTERVAL_SECONDS,
    ) -> None:
        self.event_processor = event_processor
        self.settings = settings or ServiceSettings()
        self.readiness = readiness or ReadinessChecks()
        self.serve_health = serve_health
        self.heartbeat_interval_seconds = heartbeat_interval_seconds
        self._task: asyncio.Task[None] | None = None
        if isinstance(event_processor, SupportsReadiness):
            self.readiness.add("consumer", event_processor.is_ready)

    def is_alive(self) -> bool:
        """The consumer task is running (what ``/healthz/live`` reports)."""
        if self._task is None or self._task.done():
            return False
        if isinstance(self.event_processor, SupportsLiveness):
            return self.event_processor.is_alive()
        return True

    async def _beat(self, path: Path) -> None:
        """Touch ``path`` every interval while alive; a failed write is logged, not fatal."""
        failing = False
        while True:
            if self.is_alive():
                try:
                    heartbeat.touch(path)
                except OSError as exc:
                    if not failing:
                        log.error("heartbeat_write_failed", path=str(path), error=exc.strerror)
                    failing = True
                else:
                    failing = False
            await asyncio.sleep(self.heartbeat_interval_seconds)

    def health_app(self) -> Quart:
        return health_app(
            f"{self.settings.service_name}-health",
            service_name=self.settings.service_name,
            readiness=self.readiness,
            liveness=self.is_alive,
            metrics_path=self.settings.metrics_path,
        )

    async def run(self) -> int:
        """Run until stopped; returns the process exit code."""
        stop = asyncio.Event()
        install_stop_signals(stop)
        health_stop = asyncio.Event()
        health_task: asyncio.Task[None] | None = None
        if self.serve_health:
            health_task = asyncio.create_task(
                serve_asgi(
                    self.health_app(),
                    host=self.settings.host,
                    port=self.settings.metrics_port,
                    shutdown_timeout=1.0,
                    shutdown_trigger=health_stop.wait,
                ),
                name="health-server",
            )
        log.info("worker_starting", metrics_port=self.settings.metrics_port)
        self._task = asyncio.create_task(
            self.event_processor.start_processing(), name="event-processor"
        )
        stop_wait = asyncio.create_task(stop.wait(), name="stop-signal")
        beat: asyncio.Task[None] | None = None
        if self.settings.heartbeat_file:
            beat = asyncio.create_task(
                self._beat(Path(self.settings.heartbeat_file)), name="heartbeat"
            )
        try:
            watched: set[asyncio.Task[object]] = {self._task, stop_wait}
            if health_task is not None:
                watched.add(health_task)
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                return await self._drain()
            if health_task is not None and health_task.done():
                log.critical("health_server_died", error=_describe(health_task))
                await self.event_processor.stop_processing()
                await self._drain()
                return EXIT_FAILURE
            return self._consumer_died()
        finally:
            stop_wait.cancel()
            if beat is not None:
                beat.cancel()
            health_stop.set()
            if health_task is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(health_task, timeout=5)

    async def _drain(self) -> int:
        assert self._task is not None
        timeout = self.settings.shutdown_timeout_seconds
        log.info("worker_draining", timeout_seconds=timeout)
        await self.event_processor.stop_processing()
        done, _ = await asyncio.wait({self._task}, timeout=timeout)
        if not done:
            log.error("worker_drain_timed_out", timeout_seconds=timeout)
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            return EXIT_FAILURE
        if self._task.exception() is not None:
            log.critical("event_processor_failed_while_draining", error=_describe(self._task))
            return EXIT_FAILURE
        log.info("worker_stopped_cleanly")
        return EXIT_OK

    def _consumer_died(self) -> int:
        assert self._task is not None
        exc = self._task.exception()
        if exc is not None:
            log.critical(
                "event_processor_died",
                error=_describe(self._task),
                exc_info=(type(exc), exc, exc.__traceback__),
            )
        else:
            log.critical("event_processor_died", error="start_processing returned unasked")
        return EXIT_FAILURE


def _describe(task: asyncio.Task[None]) -> str:
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    return f"{type(exc).__name__}: {exc}" if exc else "returned"
