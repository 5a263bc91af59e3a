"""Serve an ASGI app with hypercorn until SIGTERM/SIGINT.

One hypercorn worker per process (scale with replicas). On SIGTERM hypercorn
stops accepting connections and lets in-flight requests finish for up to
``SHUTDOWN_TIMEOUT_SECONDS``, which stays below the pod's
``terminationGracePeriodSeconds``.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from hypercorn.asyncio import serve
from hypercorn.config import Config

log = structlog.get_logger(__name__)


def hypercorn_config(*, host: str, port: int, shutdown_timeout: float) -> Config:
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.graceful_timeout = shutdown_timeout
    config.accesslog = None  # the metrics middleware counts requests; logs stay quiet
    config.errorlog = "-"
    config.keep_alive_timeout = 75  # above common load balancer idle timeouts
    config.include_server_header = False
    return config


async def serve_asgi(
    app: Any,
    *,
    host: str,
    port: int,
    shutdown_timeout: float,
    shutdown_trigger: Callable[[], Awaitable[Any]],
) -> None:
    """Serve ``app`` until ``shutdown_trigger`` returns, then drain."""
    config = hypercorn_config(host=host, port=port, shutdown_timeout=shutdown_timeout)
    await serve(app, config, shutdown_trigger=shutdown_trigger)


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` instead of killing the loop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):

        def on_signal(sig: signal.Signals = sig) -> None:
            log.info("shutdown_signal_received", signal=sig.name)
            stop.set()

        loop.add_signal_handler(sig, on_signal)


async def serve_until_signal(app: Any, *, host: str, port: int, shutdown_timeout: float) -> None:
    stop = asyncio.Event()
    install_stop_signals(stop)
    log.info("http_server_starting", host=host, port=port)
    await serve_asgi(
        app, host=host, port=port, shutdown_timeout=shutdown_timeout, shutdown_trigger=stop.wait
    )
    log.info("http_server_stopped")
