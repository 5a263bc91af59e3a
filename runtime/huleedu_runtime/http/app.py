"""``setup_service``: turn a bare Quart app into a HuleEdu http service.

The HuleEdu pattern keeps ``app.py`` to three lines (``Quart(__name__)``,
``setup_service(app)``, done) and puts wiring in the service's
``startup_setup.py``, which calls :func:`setup_service` with its dishka providers
and blueprints. Everything a service must have and should not write itself is
installed here: logging, correlation ids, metrics, health, error handlers, the
body size limit and the dishka container.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dishka import AsyncContainer, Provider, Scope, make_async_container
from quart import Blueprint, Quart

from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.http.body_limit import BodyLimit
from huleedu_runtime.http.di import QuartProvider, setup_dishka
from huleedu_runtime.http.errors import install_error_handlers
from huleedu_runtime.http.request_hooks import install_request_hooks
from huleedu_runtime.logging import configure_logging
from huleedu_runtime.serving import ReadinessCheck, ReadinessChecks, health_blueprint

EXTENSION_KEY = "huleedu_runtime"


@dataclass
class ServiceRuntime:
    """What :func:`setup_service` installed; ``app.extensions["huleedu_runtime"]``."""

    settings: ServiceSettings
    readiness: ReadinessChecks
    container: AsyncContainer


def settings_provider(settings: ServiceSettings) -> Provider:
    """Provides the settings object as ``ServiceSettings`` and as its own subclass."""
    provider = Provider(scope=Scope.APP)
    provider.provide(lambda: settings, provides=ServiceSettings)
    if type(settings) is not ServiceSettings:
        provider.provide(lambda: settings, provides=type(settings))
    return provider


def runtime_of(app: Quart) -> ServiceRuntime:
    """The runtime state :func:`setup_service` attached to ``app``."""
    runtime = app.extensions.get(EXTENSION_KEY)
    if not isinstance(runtime, ServiceRuntime):
        raise RuntimeError(f"{app.name}: call setup_service(app) before using the runtime")
    return runtime


def setup_service(
    app: Quart,
    *,
    settings: ServiceSettings | None = None,
    providers: Iterable[Provider] = (),
    blueprints: Iterable[Blueprint] = (),
    readiness_checks: Mapping[str, ReadinessCheck] | None = None,
    configure_logs: bool = True,
) -> ServiceRuntime:
    """Install the runtime into ``app`` and return what was installed."""
    settings = settings or ServiceSettings()
    if configure_logs:
        configure_logging(
            service_name=settings.service_name,
            service_version=settings.service_version,
            level=settings.log_level,
            log_format=settings.log_format,
        )
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_body_bytes
    # Quart's documented way to wrap its ASGI entry point in middleware.
    body_limit = BodyLimit(app.asgi_app, settings.max_request_body_bytes)
    app.asgi_app = body_limit  # type: ignore[method-assign, assignment]

    install_request_hooks(app, max_body_bytes=settings.max_request_body_bytes)
    install_error_handlers(app, settings.service_name)

    container = make_async_container(settings_provider(settings), QuartProvider(), *providers)
    setup_dishka(container, app)

    readiness = ReadinessChecks()
    for name, check in (readiness_checks or {}).items():
        readiness.add(name, check)
    app.register_blueprint(
        health_blueprint(
            service_name=settings.service_name,
            readiness=readiness,
            metrics_path=settings.metrics_path,
        )
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    runtime = ServiceRuntime(settings=settings, readiness=readiness, container=container)
    app.extensions[EXTENSION_KEY] = runtime
    return runtime


def create_app(
    name: str,
    *,
    settings: ServiceSettings | None = None,
    providers: Iterable[Provider] = (),
    blueprints: Iterable[Blueprint] = (),
    readiness_checks: Mapping[str, ReadinessCheck] | None = None,
) -> Quart:
    """``Quart(name)`` with :func:`setup_service` applied."""
    app = Quart(name)
    setup_service(
        app,
        settings=settings,
        providers=providers,
        blueprints=blueprints,
        readiness_checks=readiness_checks,
    )
    return app
