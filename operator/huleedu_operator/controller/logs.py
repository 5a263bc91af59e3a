"""structlog JSON logging for the operator, kopf's own records included.

The set-up is the runtime's (:func:`huleedu_runtime.logging.configure_logging`), so the
operator and the services it deploys log in one format. kopf logs per-object messages
through a LoggerAdapter whose ``extra`` carries ``k8s_ref``; :func:`_kopf_object` lifts
its namespace/name into the JSON record.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from importlib.metadata import version
from typing import Any

from huleedu_runtime.logging import configure_logging as configure_runtime_logging


def _kopf_object(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    record = event.get("_record")
    ref = getattr(record, "k8s_ref", None) if record is not None else None
    if isinstance(ref, dict):
        event.setdefault("namespace", ref.get("namespace"))
        event.setdefault("name", ref.get("name"))
    return event


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    configure_runtime_logging(
        service_name="huleedu-operator",
        service_version=version("huleedu-operator"),
        level=level,
        log_format=fmt,
        extra_processors=[_kopf_object],
    )
    # The kubernetes client logs every request body at DEBUG; never let that through.
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    if level != "DEBUG":
        # kopf logs "Handler ... succeeded" for every watch event at INFO; with our
        # low-level handlers that is one line per child event, pure noise.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
