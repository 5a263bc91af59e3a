"""When a HuleEduService's status is written: only when it changed, paced so that a
converging resource is not rewritten on every pod event, at once when it turns
Degraded with a new message (with a Warning event saying why)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes.client.exceptions import ApiException

from huleedu_operator.controller import metrics
from huleedu_operator.controller.cache import Cache
from huleedu_operator.controller.client import Kube
from huleedu_operator.controller.events import EventRecorder
from huleedu_operator.controller.failures import RetryableError, api_message, terminal
from huleedu_operator.controller.index import OwnerKey
from huleedu_operator.controller.pacing import StatusPacer
from huleedu_operator.controller.status import (
    DEGRADED,
    READY,
    Observation,
    compute_status,
    status_changed,
)

log = structlog.get_logger("huleedu_operator.status")


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    for cond in status.get("conditions", []) or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}


class StatusWriter:
    def __init__(
        self,
        kube: Kube,
        cache: Cache,
        events: EventRecorder,
        interval_seconds: float,
        requeue_after: Callable[[OwnerKey, float], None],
    ) -> None:
        self.kube = kube
        self.cache = cache
        self.events = events
        self.requeue_after = requeue_after
        self.pacer = StatusPacer(
            interval_seconds,
            progress_interval=interval_seconds * 2.5,
            first_wait=interval_seconds * 10,
        )

    def forget(self, key: OwnerKey) -> None:
        self.pacer.forget(key)

    async def write(self, key: OwnerKey, body: dict[str, Any], observation: Observation) -> None:
        old = body.get("status") or {}
        new = compute_status(observation, old, now_rfc3339())
        if not status_changed(new, old):
            return
        old_degraded = _condition(old, DEGRADED)
        new_degraded = _condition(new, DEGRADED)
        urgent = new_degraded.get("status") == "True" and (
            old_degraded.get("message") != new_degraded.get("message")
        )
        clock = time.monotonic()
        old_states = {c.get("type"): c.get("status") for c in old.get("conditions", [])}
        new_states = {c["type"]: c["status"] for c in new["conditions"]}
        wait = self.pacer.delay(
            key,
            clock,
            first=not old,
            urgent=urgent,
            ready=new_states.get(READY) == "True",
            transition=old_states != new_states,
        )
        if wait > 0:
            self.requeue_after(key, wait)
            return
        patch = {**{k: None for k in old if k not in new}, **new}
        try:
            await self.kube.patch_status(key[0], key[1], patch)
        except ApiException as exc:
            if exc.status == 404:
                return
            if terminal(exc):
                # Never a retry loop on a status the server will not take (messages are
                # bounded, so this is a bug or a policy): say so once per attempt.
                metrics.ERRORS.labels(reason="status_rejected").inc()
                log.error("status_rejected", key="/".join(key), error=api_message(exc)[:500])
                return
            raise RetryableError(f"status: {exc.status}") from exc
        self.cache.set_status(key, new)
        body["status"] = new
        self.pacer.wrote(key, clock)
        if urgent:
            await self.events.post(body, "Warning", new_degraded["reason"], new_degraded["message"])
