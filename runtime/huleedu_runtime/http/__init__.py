"""The http side of the runtime: Quart app wiring, health, metrics and errors.

Services import from here: ``setup_service`` (or ``create_app``), ``inject`` and
``FromDishka`` for handlers, ``parse_body`` for typed request bodies.
"""

from huleedu_runtime.http.app import ServiceRuntime, create_app, runtime_of, setup_service
from huleedu_runtime.http.di import FromDishka, QuartProvider, inject
from huleedu_runtime.http.validation import parse_body
from huleedu_runtime.serving import ReadinessCheck, ReadinessChecks

__all__ = [
    "FromDishka",
    "QuartProvider",
    "ReadinessCheck",
    "ReadinessChecks",
    "ServiceRuntime",
    "create_app",
    "inject",
    "parse_body",
    "runtime_of",
    "setup_service",
]
