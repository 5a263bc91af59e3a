"""One idempotent reconcile per HuleEduService: render, apply what differs, prune what
is no longer wanted, write status if it changed.

Write discipline (why an idle operator sends no requests): a child is applied only when
its rendered form differs from the watched one, either because the desired state changed
(the ``huleedu.io/applied-hash`` annotation no longer matches) or because someone edited
it (a rendered field differs from the live value). Status is patched only when it
differs from what is stored.

Conflicts: apply never forces on the first try. When the API server reports a conflict
and every conflicting manager made *imperative* edits (``kubectl edit``/``scale``,
``operation: Update``), that is drift and the apply is forced back. When a manager that
itself *applies* owns the field, that is a second controller fighting over the object:
the resource is marked Degraded naming that manager, and nothing is forced.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.controller import metrics
from huleedu_operator.controller.cache import Cache
from huleedu_operator.controller.client import Kube, conflict_fields, conflict_managers
from huleedu_operator.controller.drift import applied_hash, up_to_date, with_hash
from huleedu_operator.controller.events import EventRecorder
from huleedu_operator.controller.failures import (
    TERMINAL_RETRY_SECONDS,
    RetryableError,
    api_message,
    terminal,
)
from huleedu_operator.controller.foreign import ForeignNames
from huleedu_operator.controller.index import OwnerKey
from huleedu_operator.controller.kinds import BY_KIND
from huleedu_operator.controller.ownership import Verdict, classify
from huleedu_operator.controller.renders import RenderMemo, token
from huleedu_operator.controller.settings import OperatorSettings
from huleedu_operator.controller.status import Observation, Problem, pod_problems
from huleedu_operator.controller.status_writes import StatusWriter
from huleedu_operator.controller.topics import (
    DISABLED,
    TOPICS_FIELD,
    TopicSnapshot,
    TopicVerdict,
    topics_verdict,
)
from huleedu_operator.render import Capability, Rendered, RenderError, render

log = structlog.get_logger("huleedu_operator.reconcile")

__all__ = ["Outcome", "Reconciler", "RetryableError"]


# Children that act on the Deployment of the same name through its scale subresource.
SCALERS = frozenset({"HorizontalPodAutoscaler", "ScaledObject"})
# How soon to look again at a child an earlier incarnation still owns (the garbage
# collector removes it within seconds).
GC_WAIT_SECONDS = 5.0


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    waiting: bool = False  # a child is still the garbage collector's: look again soon
    slow_retry: bool = False  # a request was refused as sent: try again, slowly
    conflicts: set[str] = field(default_factory=set)  # kinds whose name is taken

    def changes(self) -> list[tuple[str, list[str]]]:
        """What changed, by Event reason."""
        return [
            ("Created", self.created),
            ("Updated", self.updated),
            ("DriftCorrected", self.drift),
            ("Pruned", self.deleted),
            ("Adopted", self.adopted),
        ]


class Reconciler:
    """Renders one resource and makes its children so; :meth:`reconcile` is called by
    the queue workers. It reads the cluster from the :class:`Cache` and writes through
    ``kube``; what it remembers itself is only its own decisions (refusals)."""

    def __init__(
        self,
        kube: Kube,
        cache: Cache,
        settings: OperatorSettings,
        requeue_after: Callable[[OwnerKey, float], None],
        foreign: ForeignNames | None = None,
    ) -> None:
        self.kube = kube
        # Names taken by objects that are not ours (controller/foreign.py).
        self.foreign = foreign or ForeignNames()
        # Parents created after this moment had no children before this process ran.
        self.started = datetime.now(UTC).replace(microsecond=0)
        self.cache = cache
        self.index = cache.index
        self.settings = settings
        # Re-queue a key after a delay (a deferred status write, a child still the GC's).
        self.requeue_after = requeue_after
        # What resources are rendered for (with hysteresis) and what the API serves now:
        # children of a kind that is not served are neither applied nor pruned.
        self.capabilities: frozenset[Capability] = frozenset()
        self.served: frozenset[Capability] = frozenset()
        # Children the API server refused as sent: (owner, kind, name) -> (the refused
        # hash, when to ask again, the problem). A reconcile re-run for another reason
        # (status pacing, a pod event) repeats the answer instead of the request.
        self.refused: dict[tuple[OwnerKey, str, str], tuple[str, float, Problem]] = {}
        self.events = EventRecorder(kube, settings.instance_name)
        self.status = StatusWriter(
            kube, cache, self.events, settings.status_interval_seconds, requeue_after
        )
        # The broker's topics as last listed (controller/topics.py).
        self.topics: TopicSnapshot = DISABLED
        self.renders = RenderMemo()

    def set_capabilities(
        self, effective: frozenset[Capability], served: frozenset[Capability], changed: bool
    ) -> None:
        """Render for ``effective``; apply and prune only kinds of ``served``. When they
        changed, refusals remembered meanwhile (a terminating CRD answers 403) are stale."""
        self.capabilities, self.served = effective, served
        if changed:
            self.refused.clear()

    def set_topics(self, snapshot: TopicSnapshot) -> None:
        self.topics = snapshot

    # --- the reconcile -----------------------------------------------------------

    async def reconcile(self, key: OwnerKey) -> None:
        body = self.cache.parent(key)
        if body is None or body.get("metadata", {}).get("deletionTimestamp"):
            return  # deleted: ownerReferences let the garbage collector remove children
        started = time.perf_counter()
        result = "success"
        try:
            outcome = await self._reconcile(key, body)
            if outcome.problems:
                result = "degraded"
        except RetryableError:
            result = "retry"
            raise
        except Exception:
            result = "error"
            raise
        finally:
            metrics.RECONCILES.labels(result=result).inc()
            metrics.RECONCILE_SECONDS.observe(time.perf_counter() - started)

    async def _reconcile(self, key: OwnerKey, body: dict[str, Any]) -> Outcome:
        outcome = Outcome()
        generation = int(body["metadata"].get("generation", 0))
        service_type = str(body.get("spec", {}).get("type", "http"))
        try:
            resource = HuleEduService.model_validate(body)
            rendered = self._render(key, body, resource)
        except ValidationError as exc:
            message = "; ".join(
                e["msg"].removeprefix("Value error, ")
                if e["msg"].removeprefix("Value error, ").startswith("spec.")
                else f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors()
            )
            outcome.problems.append(Problem("InvalidSpec", message))
            await self.status.write(
                key, body, Observation(generation, service_type, problems=tuple(outcome.problems))
            )
            return outcome
        except RenderError as exc:
            outcome.problems.append(Problem("InvalidSpec", str(exc)))
            await self.status.write(
                key, body, Observation(generation, service_type, problems=tuple(outcome.problems))
            )
            return outcome

        outcome.problems.extend(
            Problem(w.reason, str(w), blocking=False) for w in rendered.warnings
        )
        outcome.problems.extend(await self._missing_references(resource))

        desired = list(rendered.children)
        for child in desired:
            if child["kind"] in SCALERS and "Deployment" in outcome.conflicts:
                continue  # it would scale the other party's Deployment of that name
            await self._apply(key, body, child, outcome)
        await self._prune(key, body, {(c["kind"], c["metadata"]["name"]) for c in desired}, outcome)
        if outcome.waiting:
            self.requeue_after(key, GC_WAIT_SECONDS)
        elif outcome.slow_retry:
            self.requeue_after(key, TERMINAL_RETRY_SECONDS)

        outcome.problems.extend(
            pod_problems(self.index.pods(key), resource, reported=outcome.problems)
        )
        topics = self._topics(resource)
        if topics is not None and topics.ok is False:
            # The pods run and consume nothing: Degraded, but not a reason to be not Ready.
            outcome.problems.append(
                Problem(topics.reason, topics.message, blocking=False, fields=(TOPICS_FIELD,))
            )
        observation = Observation(
            generation=generation,
            service_type=resource.spec.type,
            deployment=self._owned(body, self.index.get(key, "Deployment", resource.name)),
            ready_endpoints=self.index.ready_endpoints(key),
            problems=tuple(outcome.problems),
            selector=rendered.plan.selector,
            url=rendered.plan.url,
            image=rendered.plan.image,
            topics=topics,
        )
        await self.status.write(key, body, observation)
        await self.events.changes(body, outcome.changes())
        return outcome

    def _render(self, key: OwnerKey, body: dict[str, Any], resource: HuleEduService) -> Rendered:
        """The children (with their hashes) of ``resource``, rendered again only when
        the parent or the capabilities changed (controller/renders.py)."""
        depends = token(body, self.capabilities)
        rendered = self.renders.get(key, depends)
        metrics.RENDERS.labels(result="miss" if rendered is None else "hit").inc()
        if rendered is None:
            fresh = render(resource, self.settings.render_defaults(self.capabilities))
            children = tuple(with_hash(c) for c in fresh.children)
            rendered = Rendered(children, fresh.plan, fresh.warnings)
            self.renders.put(key, depends, rendered)
        return rendered

    def _topics(self, resource: HuleEduService) -> TopicVerdict | None:
        kafka = resource.spec.kafka
        if kafka is None:
            return None
        return topics_verdict(
            kafka.topics,
            kafka.bootstrap_servers,
            self.topics,
            self.settings.kafka_bootstrap_servers,
        )

    async def _missing_references(self, resource: HuleEduService) -> list[Problem]:
        """ConfigMaps named in envFrom that do not exist (a real kubelet would refuse to
        start the pod). Secrets are not read: the operator has no Secret permissions; a
        missing Secret surfaces through the pods' CreateContainerConfigError instead,
        which :func:`pod_problems` maps back to the spec fields naming it."""
        problems = []
        for index, source in enumerate(resource.spec.env_from or []):
            ref = source.config_map_ref
            if ref is None or ref.optional:
                continue
            try:
                found = await self.kube.get(BY_KIND["ConfigMap"].path(resource.namespace, ref.name))
            except ApiException as exc:
                raise RetryableError(str(exc)) from exc
            if found is None:
                field_path = f"spec.envFrom[{index}].configMapRef.name"
                problems.append(
                    Problem(
                        "MissingReference",
                        f"{field_path}: ConfigMap {ref.name!r} does not exist in namespace "
                        f"{resource.namespace}; create it or mark the reference optional",
                        fields=(field_path,),
                    )
                )
        return problems

    async def _read(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return await self.kube.get(BY_KIND[kind].path(namespace, name))
        except ApiException as exc:
            raise RetryableError(f"{kind}/{name}: {exc.status}") from exc
        except OSError as exc:
            raise RetryableError(f"{kind}/{name}: {exc}") from exc

    def _free(self, parent: dict[str, Any], kind: str, name: str) -> bool:
        """No object holds this child's name: nobody else's (a synced metadata watch
        says so) and none of ours (the parent is younger than this process, so every
        child of it was made by us, and our watch or our apply put it in the view)."""
        namespace = parent["metadata"]["namespace"]
        if not self.foreign.free(kind, namespace, name):
            return False
        created = parent["metadata"].get("creationTimestamp")
        try:
            born = datetime.strptime(str(created), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return False
        return born > self.started

    @staticmethod
    def _owned(parent: dict[str, Any], live: dict[str, Any] | None) -> dict[str, Any] | None:
        """``live`` if this resource controls it: a look-alike is never its status."""
        if live is not None and classify(live, parent).verdict is Verdict.OURS:
            return live
        return None

    async def _apply(
        self,
        key: OwnerKey,
        parent: dict[str, Any],
        child: dict[str, Any],
        outcome: Outcome,
    ) -> None:
        kind, name = child["kind"], child["metadata"]["name"]
        label = f"{kind}/{name}"
        capability = BY_KIND[kind].capability
        if capability is not None and capability not in self.served:
            # Within the capability's grace period (controller/capabilities.py): its API is
            # gone for now, so there is nothing to apply to; re-created when it returns.
            return
        refused = self.refused.get((key, kind, name))
        if refused is not None:
            digest, until, problem = refused
            if digest == applied_hash(child) and (time.monotonic() < until):
                # Refused as sent, and unchanged since: the same answer, without asking.
                outcome.problems.append(problem)
                return
            del self.refused[key, kind, name]
        live = self.index.get(key, kind, name)
        if (
            live is None
            and not self.index.deleted(key, kind, name)
            and not self._free(parent, kind, name)
        ):
            # Not in the view: it may exist unlabelled (someone else's object with this
            # name, never to be taken over), or the watch has not listed it yet (right
            # after start the parent's events can arrive before the children's). A read
            # is cheaper than a needless write and is what makes a restart write-free. (A
            # child the watch saw deleted is known to be gone: restoring it needs none;
            # nor does one whose name no other object holds, see :meth:`_free`.)
            sent = self.index.mark()
            live = await self._read(kind, key[0], name)
            if live is not None:
                live.setdefault("kind", kind)
                self.index.put(kind, live, since=sent)
        verdict = Verdict.OURS
        if live is not None:
            ownership = classify(live, parent)
            if ownership.verdict is not Verdict.OURS and "managedFields" not in live["metadata"]:
                # The view keeps no managedFields; who wrote it decides adoption and names
                # the other party, so read it whole (only on this rare path).
                full = await self._read(kind, key[0], name)
                if full is None:
                    return  # gone meanwhile: the next event re-queues it
                full.setdefault("kind", kind)
                live, ownership = full, classify(full, parent)
            verdict = ownership.verdict
            if verdict is Verdict.CONFLICT:
                outcome.conflicts.add(kind)
                metrics.NAME_CONFLICTS.labels(kind=kind).inc()
                outcome.problems.append(Problem("NameConflict", ownership.message))
                return
            if verdict is Verdict.WAIT:
                outcome.waiting = True
                return
        if verdict is not Verdict.ADOPT and up_to_date(child, live):
            return
        sent = self.index.mark()  # what the watch says after this is newer than the answer
        try:
            result = await self.kube.apply(child)
        except ApiException as exc:
            if exc.status == 409:
                resolved = await self._resolve_conflict(key, child, exc, outcome)
                if resolved is None:
                    return
                result = resolved
            elif terminal(exc):
                self._apply_failed(key, child, exc, outcome)
                return
            else:
                raise RetryableError(f"{label}: {exc.status} {exc.reason}") from exc
        except OSError as exc:  # connection refused / reset while the API server is down
            raise RetryableError(f"{label}: {exc}") from exc
        self.index.put(kind, result, since=sent)
        metrics.CHILDREN_APPLIED.labels(kind=kind).inc()
        if verdict is Verdict.ADOPT:
            outcome.adopted.append(label)
            log.info("child_adopted", child=label)
        elif live is None:
            outcome.created.append(label)
        elif label not in outcome.drift:
            if applied_hash(live) == applied_hash(child):
                outcome.drift.append(label)
                metrics.DRIFT_CORRECTIONS.labels(kind=kind).inc()
            else:
                outcome.updated.append(label)

    async def _resolve_conflict(
        self, key: OwnerKey, child: dict[str, Any], exc: ApiException, outcome: Outcome
    ) -> dict[str, Any] | None:
        kind, name = child["kind"], child["metadata"]["name"]
        label = f"{kind}/{name}"
        managers = conflict_managers(exc)
        live = await self.kube.get(BY_KIND[kind].path(child["metadata"]["namespace"], name))
        appliers = {
            entry.get("manager")
            for entry in (live or {}).get("metadata", {}).get("managedFields", [])
            if entry.get("operation") == "Apply"
        }
        fighting = sorted(m for m in managers if m in appliers)
        if fighting:
            metrics.ERRORS.labels(reason="field_conflict").inc()
            outcome.problems.append(
                Problem(
                    "FieldConflict",
                    f"{label}: fields {', '.join(conflict_fields(exc))} are also applied by "
                    f"field manager {', '.join(fighting)}; stop managing them there or "
                    "remove them from that manager's configuration",
                    blocking=False,
                )
            )
            return None
        outcome.drift.append(label)
        metrics.DRIFT_CORRECTIONS.labels(kind=kind).inc()
        log.info("drift_corrected", child=label, edited_by=managers)
        try:
            return await self.kube.apply(child, force=True)
        except ApiException as retry_exc:
            if terminal(retry_exc):
                self._apply_failed(key, child, retry_exc, outcome)
                return None
            raise RetryableError(f"{label}: {retry_exc.status}") from retry_exc

    def _apply_failed(
        self, key: OwnerKey, child: dict[str, Any], exc: ApiException, outcome: Outcome
    ) -> None:
        kind, name = child["kind"], child["metadata"]["name"]
        metrics.ERRORS.labels(reason="apply_rejected").inc()
        problem = Problem(
            "ApplyFailed",
            f"{kind}/{name}: the API server refused it ({exc.status}): {api_message(exc)}",
        )
        outcome.problems.append(problem)
        outcome.slow_retry = True
        log.warning("apply_refused", namespace=key[0], child=f"{kind}/{name}", status=exc.status)
        self.refused[key, kind, name] = (
            applied_hash(child) or "",
            time.monotonic() + TERMINAL_RETRY_SECONDS,
            problem,
        )

    def forget(self, key: OwnerKey) -> None:
        """``key`` was deleted: drop what is remembered about it."""
        self.status.forget(key)
        self.renders.forget(key)
        for refused in [r for r in self.refused if r[0] == key]:
            del self.refused[refused]

    async def _prune(
        self, key: OwnerKey, body: dict[str, Any], wanted: set[tuple[str, str]], outcome: Outcome
    ) -> None:
        uid = body["metadata"].get("uid")
        for kind, name in sorted(self.index.names(key) - wanted):
            if kind not in BY_KIND:
                continue
            capability = BY_KIND[kind].capability
            if capability is not None and capability not in self.served:
                continue
            live = self.index.get(key, kind, name)
            if live is None:
                continue
            owners = live.get("metadata", {}).get("ownerReferences") or []
            if not any(o.get("uid") == uid and o.get("controller") for o in owners):
                continue  # labelled like ours but not ours: never delete it
            if kind == "PersistentVolumeClaim":
                # A claim holds data: dropping its volume from the spec must not delete it.
                # It stays (collected with the HuleEduService) until someone deletes it.
                outcome.problems.append(
                    Problem(
                        "ClaimKept",
                        f"PersistentVolumeClaim/{name} is no longer in spec.volumes; it was "
                        "kept with its data. Delete it yourself when it is no longer needed, "
                        "or add the volume back",
                        blocking=False,
                    )
                )
                continue
            try:
                await self.kube.delete(kind, key[0], name)
            except ApiException as exc:
                raise RetryableError(f"delete {kind}/{name}: {exc.status}") from exc
            self.index.remove(kind, live)
            outcome.deleted.append(f"{kind}/{name}")
