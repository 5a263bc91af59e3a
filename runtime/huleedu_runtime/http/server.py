"""Serve an http service with hypercorn until SIGTERM/SIGINT, then drain and stop.

One hypercorn worker per process (scale with replicas). Shutdown runs in three steps,
all inside the pod's ``terminationGracePeriodSeconds`` (drain + shutdown timeout +
margin, as the operator renders it):

1. SIGTERM/SIGINT: readiness (``/healthz``) answers 503 at once, so whatever probes the
   process (the kubelet, a load balancer, a compose health check) sees it leave first.
2. Drain: the listener stays open for ``SHUTDOWN_DRAIN_SECONDS`` and requests are served
   as usual, each response with ``Connection: close`` so keep-alive clients reconnect,
   to another replica. Under Kubernetes the operator puts the drain into a ``preStop``
   sleep instead (it holds SIGTERM back until endpoints and kube-proxy have let go of
   the pod, for any image) and renders ``SHUTDOWN_DRAIN_SECONDS=0``, so the runtime's
   own drain, default 0, is for compose and other hosts without a preStop hook.
3. hypercorn's graceful shutdown: stop accepting, finish the requests in flight for up
   to ``SHUTDOWN_TIMEOUT_SECONDS``, close idle keep-alive connections, return.

A separate metrics port (``METRICS_PORT`` set and different from ``PORT``) is a second
hypercorn server running a small app with only ``/metrics``, ``/healthz`` and
``/healthz/live`` (:func:`~huleedu_runtime.serving.health_app`), sharing the
service's readiness checks and the process's metrics registry. A second app rather than
a second bind of the same app: a second bind would expose every route of the service on
the port a NetworkPolicy opens to Prometheus, and count each scrape as service traffic.
It stops after the main server, so the whole shutdown stays observable.

The main server is configured with the app's body limit, so that hypercorn does not
answer ``Expect: 100-continue`` for a body the app will refuse
(:mod:`huleedu_runtime.http.body_limit`).

hypercorn's configuration, the stop signals and the health app are
:mod:`huleedu_runtime.serving`'s (a worker serves its health with them too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from hypercorn.config import Config

from huleedu_runtime import serving
from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.http.body_limit import BodyLimitConfig, body_limit_of, install_continue_guard
from huleedu_runtime.serving import ReadinessChecks, health_app, install_stop_signals

log = structlog.get_logger(__name__)

METRICS_SERVER_SHUTDOWN_TIMEOUT = 1.0
"""Scrapes and probes are short; the metrics server does not wait long for them."""

AsgiMessage = MutableMapping[str, Any]
AsgiSend = Callable[[AsgiMessage], Awaitable[None]]


def hypercorn_config(
    *, host: str, port: int, shutdown_timeout: float, max_body_bytes: int | None = None
) -> Config:
    """:func:`huleedu_runtime.serving.hypercorn_config` on a :class:`BodyLimitConfig`
    carrying the app's body limit."""
    config = BodyLimitConfig()
    config.max_request_body_bytes = max_body_bytes
    return serving.hypercorn_config(
        host=host, port=port, shutdown_timeout=shutdown_timeout, config=config
    )


async def serve_asgi(
    app: Any,
    *,
    host: str,
    port: int,
    shutdown_timeout: float,
    shutdown_trigger: Callable[[], Awaitable[Any]],
    max_body_bytes: int | None = None,
) -> None:
    """Serve ``app`` until ``shutdown_trigger`` returns, then drain. With
    ``max_body_bytes``, a request declaring a longer body gets no ``100 Continue``."""
    config = hypercorn_config(
        host=host, port=port, shutdown_timeout=shutdown_timeout, max_body_bytes=max_body_bytes
    )
    if max_body_bytes is not None:
        install_continue_guard()
    await serving.serve_asgi(
        app,
        host=host,
        port=port,
        shutdown_timeout=shutdown_timeout,
        shutdown_trigger=shutdown_trigger,
        config=config,
    )


class CloseWhileDraining:
    """ASGI wrapper: while ``readiness`` is draining, responses carry ``Connection: close``.

    A keep-alive client would otherwise keep sending to the leaving process until the
    listener closes; told to close, it opens its next connection through the Service
    (or load balancer) to a replica that stays.
    """

    def __init__(self, app: Any, readiness: ReadinessChecks) -> None:
        self.app = app
        self._readiness = readiness

    async def __call__(self, scope: AsgiMessage, receive: Any, send: AsgiSend) -> None:
        if scope["type"] != "http" or not self._readiness.draining:
            await self.app(scope, receive, send)
            return

        async def send_closing(message: AsgiMessage) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)


async def serve_until_signal(
    app: Any,
    *,
    host: str,
    port: int,
    shutdown_timeout: float,
    drain_seconds: float = 0.0,
    readiness: ReadinessChecks | None = None,
    metrics_app: Any | None = None,
    metrics_port: int | None = None,
    max_body_bytes: int | None = None,
) -> None:
    """Serve ``app`` (and ``metrics_app`` on ``metrics_port``) until a signal; see the
    module doc for the shutdown steps. ``readiness`` is the one ``/healthz`` reports;
    ``max_body_bytes`` the body limit ``app`` enforces (by default, the one it has)."""
    if max_body_bytes is None:
        max_body_bytes = body_limit_of(app)
    if (metrics_app is None) != (metrics_port is None):
        raise ValueError("metrics_app and metrics_port go together")
    readiness = readiness or ReadinessChecks()
    stop = asyncio.Event()
    drained = asyncio.Event()
    main_stopped = asyncio.Event()
    install_stop_signals(stop)

    async def drain() -> None:
        await stop.wait()
        readiness.start_draining()
        log.info(
            "http_server_draining",
            drain_seconds=drain_seconds,
            shutdown_timeout_seconds=shutdown_timeout,
        )
        await asyncio.sleep(drain_seconds)
        log.info("http_server_closing_listener")
        drained.set()

    async def serve_main() -> None:
        try:
            await serve_asgi(
                CloseWhileDraining(app, readiness),
                host=host,
                port=port,
                shutdown_timeout=shutdown_timeout,
                shutdown_trigger=drained.wait,
                max_body_bytes=max_body_bytes,
            )
        finally:
            main_stopped.set()

    log.info("http_server_starting", host=host, port=port, metrics_port=metrics_port)
    drain_task = asyncio.create_task(drain(), name="http-drain")
    try:
        async with asyncio.TaskGroup() as servers:
            servers.create_task(serve_main(), name="http-server")
            if metrics_app is not None and metrics_port is not None:
                servers.create_task(
                    serve_asgi(
                        metrics_app,
                        host=host,
                        port=metrics_port,
                        shutdown_timeout=METRICS_SERVER_SHUTDOWN_TIMEOUT,
                        shutdown_trigger=main_stopped.wait,
                    ),
                    name="metrics-server",
                )
    except* Exception as group:
        # A server failing (a port in use) stops the other; report the cause itself,
        # not a task group wrapped around it.
        raise group.exceptions[0] from None
    finally:
        drain_task.cancel()
    log.info("http_server_stopped")


async def serve_service(
    app: Any, settings: ServiceSettings, *, readiness: ReadinessChecks | None = None
) -> None:
    """Serve an http service as its settings say: ``PORT``, the separate metrics port
    when there is one, the drain and the shutdown timeout."""
    readiness = readiness or ReadinessChecks()
    metrics_port = settings.separate_metrics_port
    metrics_app = None
    if metrics_port is not None:
        metrics_app = health_app(
            f"{settings.service_name}-metrics",
            service_name=settings.service_name,
            readiness=readiness,
            metrics_path=settings.metrics_path,
        )
    await serve_until_signal(
        app,
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_timeout_seconds,
        drain_seconds=settings.shutdown_drain_seconds,
        readiness=readiness,
        metrics_app=metrics_app,
        metrics_port=metrics_port,
    )
