"""What http services and workers both serve: liveness, readiness and metrics endpoints,
and the hypercorn plumbing that serves them until a stop signal.

Neutral ground between :mod:`huleedu_runtime.http` (the Quart service side) and
:mod:`huleedu_runtime.worker` (the Kafka consumer side): a worker serves its health and
metrics through this module and never imports the http side.


``/healthz/live`` answers whether the process can make progress (for a worker:
the consumer task is alive); the kubelet restarts the pod when it fails.
``/healthz`` runs the registered dependency checks concurrently, each under a
timeout, and answers 503 when one fails, so the pod leaves the Service endpoints
without being restarted. The body names the failing check but not its error
message, which may contain hosts or credentials.

Once shutdown begins (:meth:`ReadinessChecks.start_draining`, called on SIGTERM)
``/healthz`` answers 503 ``draining`` without running the checks, while liveness
stays 200: the pod is leaving, not broken, and must not be restarted mid-drain.

hypercorn's error log is the stdlib logger ``hypercorn.error`` without a handler of its
own: its lines propagate to the root logger that
:func:`huleedu_runtime.logging.configure_logging` renders, one JSON stream on stdout.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from hypercorn.asyncio import serve
from hypercorn.config import Config
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from quart import Blueprint, Quart, Response, jsonify

from huleedu_runtime import contract

log = structlog.get_logger(__name__)

HYPERCORN_LOGGER = "hypercorn.error"

ReadinessCheck = Callable[[], Awaitable[bool]]
"""A dependency check: returns ``False`` or raises when the dependency is unusable."""


@dataclass
class ReadinessChecks:
    """The named dependency checks ``/healthz`` runs, and whether shutdown has begun."""

    timeout_seconds: float = 2.0
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    _draining: bool = field(default=False, init=False, repr=False)

    def add(self, name: str, check: ReadinessCheck) -> None:
        self.checks[name] = check

    @property
    def draining(self) -> bool:
        return self._draining

    def start_draining(self) -> None:
        """From now on ``/healthz`` answers 503: the process is shutting down."""
        self._draining = True

    async def _run_one(self, name: str, check: ReadinessCheck) -> dict[str, Any]:
        try:
            ok = bool(await asyncio.wait_for(check(), self.timeout_seconds))
        except TimeoutError:
            return {"ok": False, "reason": f"timed out after {self.timeout_seconds}s"}
        except Exception as exc:
            log.warning("readiness_check_failed", check=name, exception_type=type(exc).__name__)
            return {"ok": False, "reason": type(exc).__name__}
        return {"ok": True} if ok else {"ok": False, "reason": "check returned false"}

    async def run(self) -> tuple[bool, dict[str, dict[str, Any]]]:
        names = list(self.checks)
        results = await asyncio.gather(*(self._run_one(n, self.checks[n]) for n in names))
        by_name = dict(zip(names, results, strict=True))
        return all(r["ok"] for r in results), by_name


def health_blueprint(
    *,
    service_name: str,
    readiness: ReadinessChecks,
    liveness: Callable[[], bool] = lambda: True,
    metrics_path: str = contract.METRICS_PATH,
) -> Blueprint:
    bp = Blueprint("huleedu_health", __name__)

    @bp.get(contract.LIVENESS_PATH)
    async def live() -> tuple[Response, int]:
        alive = liveness()
        body = {"status": "alive" if alive else "dead", "service": service_name}
        return jsonify(body), 200 if alive else 503

    @bp.get(contract.READINESS_PATH)
    async def ready() -> tuple[Response, int]:
        if readiness.draining:
            return jsonify({"status": "draining", "service": service_name, "checks": {}}), 503
        ok, checks = await readiness.run()
        body = {
            "status": "ready" if ok else "unavailable",
            "service": service_name,
            "checks": checks,
        }
        return jsonify(body), 200 if ok else 503

    @bp.get(metrics_path)
    async def metrics() -> Response:
        return metrics_response()

    return bp


def health_app(
    name: str,
    *,
    service_name: str,
    readiness: ReadinessChecks,
    liveness: Callable[[], bool] = lambda: True,
    metrics_path: str = contract.METRICS_PATH,
) -> Quart:
    """A Quart app with only the health and metrics endpoints (a worker's metrics server,
    an http service's separate metrics port). No request hooks: scrapes and probes are
    not counted as service traffic."""
    app = Quart(name)
    app.register_blueprint(
        health_blueprint(
            service_name=service_name,
            readiness=readiness,
            liveness=liveness,
            metrics_path=metrics_path,
        )
    )
    return app


def metrics_response(registry: CollectorRegistry = REGISTRY) -> Response:
    return Response(generate_latest(registry), status=200, content_type=CONTENT_TYPE_LATEST)


def hypercorn_config(
    *, host: str, port: int, shutdown_timeout: float, config: Config | None = None
) -> Config:
    """``config`` (default: a plain hypercorn ``Config``) set up to bind ``host:port``,
    with this runtime's timeouts and logging."""
    config = config if config is not None else Config()
    config.bind = [f"{host}:{port}"]
    config.graceful_timeout = shutdown_timeout
    config.accesslog = None  # the metrics middleware counts requests; logs stay quiet
    config.errorlog = logging.getLogger(HYPERCORN_LOGGER)  # propagates to the JSON root
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
    config: Config | None = None,
) -> None:
    """Serve ``app`` until ``shutdown_trigger`` returns, then drain (``config``: see
    :func:`hypercorn_config`)."""
    config = hypercorn_config(
        host=host, port=port, shutdown_timeout=shutdown_timeout, config=config
    )
    await serve(app, config, shutdown_trigger=shutdown_trigger)


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` instead of killing the loop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):

        def on_signal(sig: signal.Signals = sig) -> None:
            log.info("shutdown_signal_received", signal=sig.name)
            stop.set()

        loop.add_signal_handler(sig, on_signal)
