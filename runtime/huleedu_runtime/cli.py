"""``huleedu-runtime`` and ``huleedu-service``: how the base image starts a service.

``serve-http`` and ``run-worker`` are what a pod's command runs; the operator
renders ``[huleedu-runtime, serve-http, <module:attr>]`` (or the image's own
command). ``huleedu-service http|worker MODULE:attr`` is the same two commands
under the names the HuleEdu design uses: both groups hold the very same click
command objects, so the two spellings cannot drift apart. Exit codes follow the
contract: 0 after a clean SIGTERM drain, 1 when start-up fails or the consumer
task dies, 2 for usage errors.

``check-heartbeat`` is what a pure worker's exec liveness probe runs every few
seconds, so this module imports the service machinery (quart, pydantic, aiokafka)
only inside the commands that need it: the check costs a bare interpreter start.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from huleedu_runtime import contract

if TYPE_CHECKING:
    from quart import Quart

    from huleedu_runtime.config import ServiceSettings
    from huleedu_runtime.worker.protocol import EventProcessorProtocol

APP_DIR_HELP = "directory put first on sys.path before importing (default: the current one)"


def _settings_of(obj: object) -> ServiceSettings | None:
    from huleedu_runtime.config import ServiceSettings

    settings = getattr(obj, "settings", None)
    return settings if isinstance(settings, ServiceSettings) else None


def _load_app(import_path: str, app_dir: str) -> Quart:
    from quart import Quart

    from huleedu_runtime.loading import ImportPathError, import_object

    obj = import_object(import_path, app_dir)
    if not isinstance(obj, Quart) and callable(obj):
        obj = obj()
    if not isinstance(obj, Quart):
        raise ImportPathError(
            f"{import_path!r} is a {type(obj).__name__}, expected a Quart app or a "
            "zero-argument factory returning one"
        )
    return obj


def _load_processor(import_path: str, app_dir: str) -> EventProcessorProtocol:
    from huleedu_runtime.loading import ImportPathError, import_object
    from huleedu_runtime.worker.protocol import EventProcessorProtocol

    obj = import_object(import_path, app_dir)
    if not isinstance(obj, EventProcessorProtocol) and callable(obj):
        obj = obj()
    if not isinstance(obj, EventProcessorProtocol):
        raise ImportPathError(
            f"{import_path!r} is a {type(obj).__name__}, expected an event processor "
            "(start_processing/stop_processing) or a zero-argument factory returning one"
        )
    return obj


@click.group(name="huleedu-runtime")
def main() -> None:
    """Run HuleEdu services and scaffold new ones."""


@click.group(name="huleedu-service")
def service_main() -> None:
    """Run a HuleEdu service: ``http MODULE:app`` or ``worker MODULE:processor``."""


@click.command("serve-http")
@click.argument("app_import_path")
@click.option("--app-dir", default=".", show_default=True, help=APP_DIR_HELP)
def serve_http(app_import_path: str, app_dir: str) -> None:
    """Serve the Quart app at APP_IMPORT_PATH (module:attr) on HOST:PORT with hypercorn.

    Health and metrics are also served on METRICS_PORT when it is set to another port.
    SIGTERM: readiness 503, serve SHUTDOWN_DRAIN_SECONDS more, finish in-flight requests
    within SHUTDOWN_TIMEOUT_SECONDS, exit 0.
    """
    import asyncio

    from huleedu_runtime.config import ServiceSettings
    from huleedu_runtime.http.app import EXTENSION_KEY
    from huleedu_runtime.http.server import serve_service
    from huleedu_runtime.loading import ImportPathError
    from huleedu_runtime.logging import configure_logging

    try:
        app = _load_app(app_import_path, app_dir)
    except ImportPathError as exc:
        raise click.UsageError(str(exc)) from exc
    runtime = app.extensions.get(EXTENSION_KEY)
    settings = getattr(runtime, "settings", None) or ServiceSettings()
    if runtime is None:
        configure_logging(
            service_name=settings.service_name,
            service_version=settings.service_version,
            level=settings.log_level,
            log_format=settings.log_format,
        )
    asyncio.run(serve_service(app, settings, readiness=getattr(runtime, "readiness", None)))


@click.command("run-worker")
@click.argument("processor_import_path")
@click.option("--app-dir", default=".", show_default=True, help=APP_DIR_HELP)
def run_worker(processor_import_path: str, app_dir: str) -> None:
    """Run the event processor at PROCESSOR_IMPORT_PATH (module:attr) in a WorkerService.

    Health and metrics are served on HOST:METRICS_PORT.
    """
    import asyncio

    from huleedu_runtime.config import ServiceSettings
    from huleedu_runtime.loading import ImportPathError
    from huleedu_runtime.logging import configure_logging
    from huleedu_runtime.worker.service import WorkerService

    try:
        processor = _load_processor(processor_import_path, app_dir)
    except ImportPathError as exc:
        raise click.UsageError(str(exc)) from exc
    settings = _settings_of(processor) or ServiceSettings()
    configure_logging(
        service_name=settings.service_name,
        service_version=settings.service_version,
        level=settings.log_level,
        log_format=settings.log_format,
    )
    sys.exit(asyncio.run(WorkerService(processor, settings).run()))


@click.command("check-heartbeat")
@click.option(
    "--max-age",
    type=click.FloatRange(min=0, min_open=True),
    default=contract.HEARTBEAT_MAX_AGE_SECONDS,
    show_default=True,
    help="seconds after which the heartbeat file counts as stale",
)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"heartbeat file (default: ${contract.Env.HEARTBEAT_FILE}, else "
    f"{contract.DEFAULT_HEARTBEAT_FILE})",
)
def check_heartbeat(max_age: float, path: Path | None) -> None:
    """Exit 0 when the worker touched its heartbeat file within MAX_AGE seconds, else 1.

    A worker without a metrics server runs this as its exec liveness probe.
    """
    from huleedu_runtime.heartbeat import heartbeat_file, stale_reason

    problem = stale_reason(path or heartbeat_file(), max_age)
    if problem is not None:
        click.echo(f"unhealthy: {problem}", err=True)
        sys.exit(1)


main.add_command(serve_http)
main.add_command(check_heartbeat)
main.add_command(run_worker)
service_main.add_command(serve_http, name="http")
service_main.add_command(run_worker, name="worker")


@main.command("new")
@click.argument("kind", type=click.Choice(["http", "worker"]))
@click.argument("name")
@click.option(
    "--output",
    "-o",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write into (default: ./NAME).",
)
def new(kind: str, name: str, output_dir: Path | None) -> None:
    """Scaffold a pattern-conformant service (code, tests, Dockerfile, HuleEduService).

    Defined once, here with its templates; ``huleedu-operator new`` is this command."""
    from huleedu_runtime.scaffold import ScaffoldError, next_steps, runtime_source, write_service

    target = output_dir or Path(name)
    try:
        written = write_service(kind, name, target)
    except ScaffoldError as exc:
        raise click.UsageError(str(exc)) from exc
    for path in written:
        click.echo(f"created {path}")
    click.echo("next, in a fresh virtualenv:")
    for step in next_steps(target, runtime_source()):
        click.echo(f"  {step}")
