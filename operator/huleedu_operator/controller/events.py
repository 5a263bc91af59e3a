"""Kubernetes Events about a HuleEduService: what a reconcile changed, and why it is
Degraded. Best effort: a refused Event never fails a reconcile."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes.client.exceptions import ApiException

from huleedu_operator.api.v1alpha1 import GROUP, KIND, VERSION
from huleedu_operator.controller.client import Kube
from huleedu_operator.controller.failures import api_message

log = structlog.get_logger("huleedu_operator.events")

REPORTING_CONTROLLER = "huleedu.io/operator"
MAX_NOTE = 1024  # events.k8s.io/v1 refuses longer notes


class EventRecorder:
    def __init__(self, kube: Kube, instance: str) -> None:
        self.kube = kube
        self.instance = instance

    async def changes(self, body: dict[str, Any], changes: list[tuple[str, list[str]]]) -> None:
        """One Normal event per kind of change (Created, Updated, ...) naming the children."""
        for reason, items in changes:
            if items:
                await self.post(body, "Normal", reason, ", ".join(items))

    async def post(self, body: dict[str, Any], type_: str, reason: str, note: str) -> None:
        metadata = body["metadata"]
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        event = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            # generateName "x." is refused (it must itself be a valid name), so name it the
            # way client-go's recorder does: <object>.<unique hex>.
            "metadata": {
                "name": f"{metadata['name']}.{uuid.uuid4().hex[:16]}",
                "namespace": metadata["namespace"],
            },
            "eventTime": now,
            "reportingController": REPORTING_CONTROLLER,
            "reportingInstance": self.instance,
            "action": "Reconcile",
            "reason": reason,
            "type": type_,
            "note": note[:MAX_NOTE],
            "regarding": {
                "apiVersion": body.get("apiVersion", f"{GROUP}/{VERSION}"),
                "kind": body.get("kind", KIND),
                "name": metadata["name"],
                "namespace": metadata["namespace"],
                "uid": metadata.get("uid"),
            },
        }
        try:
            await self.kube.post_event(event)
        except ApiException as exc:
            log.warning("event_not_posted", reason=reason, error=api_message(exc))
        except OSError as exc:
            log.warning("event_not_posted", reason=reason, error=str(exc))
