"""Wire kopf, the work queue and the reconciler into a running operator.

Why kopf's *low-level* event handlers and our own work queue rather than
``@kopf.on.create/update/resume``: the high-level handlers persist their progress in an
annotation and in ``status`` on every change, which costs writes per resource and would
make an idle operator busy; and reconciliation has more triggers than the parent's own
changes (children drifting, pods failing, capabilities appearing). Every trigger
enqueues the owner's key and one idempotent reconcile serves them all. kopf still does
what it is good at: watching the HuleEduServices and the CRDs, peering for HA, the
liveness endpoint, and its lifecycle. The children, and their pods and endpoint slices,
are streamed by the operator's own loops (controller/owned.py: a fraction of kopf's CPU
per event), except with peering: kopf pauses its watches while another replica leads,
and then watches those too.

The loops of an optional kind (ServiceMonitor, ScaledObject, HTTPRoute) run only while
its capability is served: started when its CRDs are Established, stopped the moment one
goes. kopf watched them before, and its watch of a kind whose CRD had just been deleted
could reconnect before kopf's own discovery noticed; the 404 it got then is not retried
but raised, and it stopped the whole operator (kopf 1.45; the CRD flap tests, twice in
CI under load). Our loops retry every error. With peering kopf still watches them, and
such a crash restarts the pod.

No finalizers are added: children are garbage-collected through ownerReferences, so a
stopped operator never blocks a deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import kopf
import structlog
from prometheus_client import start_http_server

from huleedu_operator.api.identity import MANAGED_SELECTOR
from huleedu_operator.api.v1alpha1 import GROUP, PLURAL, VERSION
from huleedu_operator.controller import metrics
from huleedu_operator.controller.cache import Cache
from huleedu_operator.controller.capabilities import CapabilityTracker
from huleedu_operator.controller.client import Kube
from huleedu_operator.controller.failures import RetryableError
from huleedu_operator.controller.foreign import ForeignNames, foreign_watches
from huleedu_operator.controller.index import SPEC, OwnerKey
from huleedu_operator.controller.kinds import (
    CAPABILITY_CRDS,
    CHILD_KINDS,
    ENDPOINT_SLICE_KIND,
    POD_KIND,
    ChildKind,
)
from huleedu_operator.controller.logs import configure_logging
from huleedu_operator.controller.owned import owned_watches
from huleedu_operator.controller.ownership import adoption_requested
from huleedu_operator.controller.paths import api_path
from huleedu_operator.controller.queue import WorkQueue
from huleedu_operator.controller.reconcile import Reconciler
from huleedu_operator.controller.settings import OperatorSettings
from huleedu_operator.controller.streams import Streams
from huleedu_operator.controller.terminating import namespace_watch
from huleedu_operator.controller.topics import TopicCache, TopicSnapshot, affected
from huleedu_operator.render import Capability

log = structlog.get_logger("huleedu_operator")

CAPABILITY_CRD_NAMES = frozenset().union(*CAPABILITY_CRDS.values())
# The kinds every cluster serves; the rest come with optional CRDs.
CORE_KINDS = tuple(kind for kind in CHILD_KINDS if kind.capability is None)
OPTIONAL_KINDS: dict[Capability, tuple[ChildKind, ...]] = {
    capability: tuple(kind for kind in CHILD_KINDS if kind.capability is capability)
    for capability in CAPABILITY_CRDS
}
OBSERVED_KINDS = (POD_KIND, ENDPOINT_SLICE_KIND)
# How long a reconcile waits for the first LIST of its namespace's children before it
# goes ahead without it (the watch may be refused, e.g. by RBAC).
SYNC_PATIENCE_SECONDS = 10.0
# A change only status reads (a Deployment's status, a pod, an endpoint slice) is
# reconciled within this long, together with the others of its burst: a new resource's
# Deployment, pod and endpoint slice move some seven times in its first seconds.
STATUS_COALESCE_SECONDS = 1.0


class NoDiffBase(kopf.DiffBaseStorage):
    """kopf deep-copies every watched object on every event to diff it later, for
    change-detecting handlers; this operator has none, and the copy was 19% of its CPU
    (py-spy, 300 resources converging)."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def capabilities_from(established: set[str]) -> frozenset[Capability]:
    return frozenset(cap for cap, names in CAPABILITY_CRDS.items() if names <= established)


def _established(body: dict[str, Any]) -> bool:
    for cond in body.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == "Established":
            return bool(cond.get("status") == "True")
    return False


async def parents_as_served(
    kube: Kube, cache: Cache, namespace: str
) -> dict[OwnerKey, dict[str, Any] | None]:
    """The namespace's HuleEduServices as the API server holds them: None for one the
    view holds at the same resourceVersion (unchanged), else its whole object. Their
    metadata first: an idle resync of 3000 parents then decodes some 0.5 KiB of each
    instead of the whole object with its managedFields. Only when one differs is the
    namespace listed in full (RBAC grants list, not get, on HuleEduServices)."""
    path = api_path("apis", GROUP, VERSION, "namespaces", namespace, PLURAL)
    versions = {
        (namespace, item["metadata"]["name"]): item["metadata"].get("resourceVersion")
        for item in await kube.list(path, metadata_only=True)
    }
    listed: dict[OwnerKey, dict[str, Any] | None] = {
        key: None
        for key, version in versions.items()
        if version is not None and version == cache.resource_version(key)
    }
    if len(listed) < len(versions):
        for body in await kube.list(path):
            key = (namespace, body["metadata"]["name"])
            if key not in listed:
                listed[key] = body
    return listed


class Operator:
    """All the operator's moving parts; one instance per process (or per test)."""

    def __init__(self, settings: OperatorSettings) -> None:
        self.settings = settings
        self.namespaces = settings.namespace_selection()
        self.registry = kopf.OperatorRegistry()
        self.cache = Cache()
        self.index = self.cache.index
        self.foreign_names = ForeignNames()
        self.foreign: Streams | None = None
        # Our own streams of the core children (None: kopf watches them, with peering).
        self.owned: Streams | None = None
        # The same for the optional kinds, per capability; each runs while it is served.
        self.optional: dict[Capability, Streams] = {}
        self.own_streams = not settings.peering
        self._watch_started: dict[str | None, float] = {}
        self._impatient: set[str | None] = set()  # scopes warned of by _view_ready
        # Pattern mode: the namespaces themselves, and those being deleted (let go of).
        self.namespace_feed: Streams | None = None
        self.terminating: set[str] = set()
        self.queue: WorkQueue | None = None
        self.reconciler: Reconciler | None = None
        self.crds: set[str] = set()
        self.capabilities = CapabilityTracker(settings.capability_grace_seconds)
        # When each parent was last changed by a watch event (ChildIndex.mark() numbers),
        # so a resync LIST older than the event cannot undo it.
        self._parent_stamps: dict[OwnerKey, int] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._capability_timer: asyncio.TimerHandle | None = None
        self.topic_cache: TopicCache | None = None
        if settings.topic_check_bootstrap_servers:
            self.topic_cache = TopicCache(
                settings.topic_check_bootstrap_servers, settings.topic_check_interval_seconds
            )
        self._register()

    # --- kopf wiring -------------------------------------------------------------

    def configure(self, settings: kopf.OperatorSettings) -> None:
        settings.posting.enabled = False  # we post our own, deliberate Events
        settings.persistence.diffbase_storage = NoDiffBase()
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.networking.request_timeout = 30
        # kopf retries a failed request after 1, 1, 2, 3, 5, 8, 13, 21 s. After a CRD is
        # (re)created the API server answers 429 "storage is (re)initializing" for a few
        # seconds, and a watcher that started then (a new namespace, in pattern mode)
        # reached the long delays: resources there went unseen for over half a minute.
        settings.networking.error_backoffs = [0.5, 1, 1, 2, 2, 3, 5, 5, 5, 5]
        for kind in CHILD_KINDS:
            settings.watching.label_selectors[kind.group, kind.plural] = MANAGED_SELECTOR
        settings.watching.label_selectors["", "pods"] = MANAGED_SELECTOR
        settings.watching.label_selectors["discovery.k8s.io", "endpointslices"] = MANAGED_SELECTOR
        if self.settings.peering:
            settings.peering.name = self.settings.peering
            settings.peering.priority = self.settings.effective_priority()
            settings.peering.lifetime = self.settings.peering_lifetime
            settings.peering.mandatory = True
            # Decided here, after kopf.operator() set it from `clusterwide`: with globs the
            # watches are per namespace but the peering is one ClusterKopfPeering.
            settings.peering.clusterwide = self.namespaces.clusterwide_peering
        else:
            settings.peering.standalone = True

    def _register(self) -> None:
        reg = self.registry
        # A private registry gets none of kopf's default login handlers: use the same
        # credentials the kubernetes client uses (in-cluster, then the kubeconfig).
        kopf.on.login(registry=reg)(kopf.login_via_client)
        kopf.on.startup(registry=reg)(self._startup)
        kopf.on.cleanup(registry=reg)(self._cleanup)
        kopf.on.event(GROUP, VERSION, PLURAL, registry=reg)(self._on_resource)  # type: ignore[arg-type]
        kopf_kinds = [] if self.own_streams else [*CHILD_KINDS, *OBSERVED_KINDS]
        for kind in kopf_kinds:
            kopf.on.event(kind.group, kind.version, kind.plural, registry=reg)(
                self._child_handler(kind)
            )
        kopf.on.event(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            registry=reg,
            when=lambda name, **_: name in CAPABILITY_CRD_NAMES,
        )(self._on_crd)  # type: ignore[arg-type]

    async def _startup(self, settings: kopf.OperatorSettings, **_: Any) -> None:
        self.configure(settings)
        kube = Kube.connect(2 * self.settings.workers)
        # Backoff capped at 10 s: after an API server outage every failed key retries
        # within 10 s of its return instead of up to a minute later.
        self.queue = WorkQueue(max_delay=10.0)
        self.reconciler = Reconciler(
            kube, self.cache, self.settings, self.queue.add_after, self.foreign_names
        )
        # Names taken by objects that are not ours, for the kinds every cluster serves
        # (an optional CRD's kind is read before its first apply instead).
        self.foreign = foreign_watches(kube.config, CORE_KINDS, self.foreign_names)
        if self.own_streams:
            self.owned = owned_watches(
                kube.config, (*CORE_KINDS, *OBSERVED_KINDS), self.index, self._changed
            )
            self.optional = {
                capability: owned_watches(kube.config, kinds, self.index, self._changed)
                for capability, kinds in OPTIONAL_KINDS.items()
            }
        # Cluster-wide, or each listed namespace, from the start; with patterns, each
        # namespace from its first HuleEduService on (_parent_changed).
        if self.namespaces.mode == "patterns":
            self.namespace_feed = namespace_watch(
                kube.config, self._namespace_terminating, self.terminating.discard
            )
            self.namespace_feed.watch(None)
        if self.namespaces.mode == "cluster":
            self._watch_scope(None)
        elif self.namespaces.mode == "namespaces":
            for namespace in self.namespaces.include:
                self._watch_scope(namespace)
        for namespace in {ns for ns, _ in self.cache.parent_keys()}:
            self._watch_scope(namespace)
        # Seed capabilities before the first reconcile so resources are not rendered
        # once without a ServiceMonitor and again with one.
        names = await kube.list_crd_names()
        self.crds = names & CAPABILITY_CRD_NAMES
        self.capabilities.seed(capabilities_from(self.crds))
        self._publish_capabilities()
        self._follow_capabilities()
        if self.settings.metrics_port:
            start_http_server(self.settings.metrics_port, addr=self.settings.bind_address)
        self._workers = [
            asyncio.create_task(self._worker(), name=f"reconcile-{i}")
            for i in range(self.settings.workers)
        ]
        if self.settings.resync_seconds > 0:
            self._workers.append(asyncio.create_task(self._resync_loop(), name="resync"))
        if self.topic_cache is not None:
            self.reconciler.set_topics(self.topic_cache.snapshot)
            self._workers.append(asyncio.create_task(self._topics_loop(), name="topics"))
        log.info(
            "operator_started",
            namespaces=self.namespaces.describe(),
            peering=self.settings.peering or "standalone",
            priority=self.settings.effective_priority() if self.settings.peering else None,
            capabilities=sorted(self.reconciler.capabilities),
        )

    async def _cleanup(self, **_: Any) -> None:
        if self._capability_timer is not None:
            self._capability_timer.cancel()
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for streams in (*self._scoped_streams(), self.namespace_feed):
            if streams is not None:
                await streams.close()
        if self.reconciler is not None:
            await self.reconciler.kube.close()

    async def _worker(self) -> None:
        assert self.queue is not None
        assert self.reconciler is not None
        while True:
            key = await self.queue.get()
            metrics.QUEUE_DEPTH.set(self.queue.depth())
            if not self._view_ready(key[0]):  # type: ignore[index]
                # The children there are not listed yet: a reconcile now would take
                # every existing child for missing.
                self.queue.done(key)
                self.queue.add_after(key, 0.2)
                continue
            try:
                await self.reconciler.reconcile(key)  # type: ignore[arg-type]
                self.queue.forget(key)
            except RetryableError as exc:
                delay = self.queue.retry(key)
                log.warning("reconcile_retry", key="/".join(key), error=str(exc), delay=delay)  # type: ignore[arg-type]
            except Exception:
                delay = self.queue.retry(key)
                log.exception("reconcile_failed", key="/".join(key), delay=delay)  # type: ignore[arg-type]
            finally:
                self.queue.done(key)

    def _scoped_streams(self) -> list[Streams]:
        """Every set of loops that runs per watched scope."""
        return [s for s in (self.foreign, self.owned, *self.optional.values()) if s is not None]

    def _watch_scope(self, scope: str | None) -> None:
        """Start the foreign-name and owned-child streams of ``scope`` if not running,
        those of the optional kinds only while their capability is served."""
        for streams in (self.foreign, self.owned):
            if streams is not None and not streams.watching(scope):
                streams.watch(scope)
                self._watch_started.setdefault(scope, time.monotonic())
        for capability in self.capabilities.served:
            if capability in self.optional:
                self.optional[capability].watch(scope)

    def _follow_capabilities(self) -> None:
        """Run the loops of the optional kinds that are served, in every watched scope,
        and stop the others: their API is gone, and a watch of it would only fail."""
        scopes = self.owned.scopes() if self.owned is not None else []
        for capability, streams in self.optional.items():
            if capability in self.capabilities.served:
                for scope in scopes:
                    streams.watch(scope)
            else:
                for scope in streams.scopes():
                    streams.unwatch(scope)

    def _view_ready(self, namespace: str) -> bool:
        """The owned children of ``namespace`` are listed (or we waited long enough)."""
        if self.owned is None or self.owned.synced(namespace):
            return True
        scope = None if self.owned.watching(None) else namespace
        started = self._watch_started.get(scope)
        if started is None or time.monotonic() - started <= SYNC_PATIENCE_SECONDS:
            return False
        if scope not in self._impatient:
            # Going ahead on a partial view: say so once, naming what never listed.
            self._impatient.add(scope)
            log.warning(
                "view_not_synced",
                namespace=namespace,
                waited=SYNC_PATIENCE_SECONDS,
                unlisted=self.owned.unsynced(namespace),
            )
        return True

    def _enqueue(self, key: tuple[str, str] | None) -> None:
        if key is not None and self.queue is not None:
            self.queue.add(key)

    def _changed(self, key: OwnerKey, change: str) -> None:
        """The view of ``key``'s children changed: a child itself (reconcile now) or
        only what its status reads (reconcile soon, with the rest of the burst)."""
        if self.queue is None:
            return
        if change == SPEC:
            self.queue.add(key)
        else:
            self.queue.add_soon(key, STATUS_COALESCE_SECONDS)

    # --- event handlers ----------------------------------------------------------

    async def _on_resource(self, event: dict[str, Any], **_: Any) -> None:
        assert self.reconciler is not None
        body = event["object"]
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        self._parent_stamps[key] = self.index.mark()
        self._parent_changed(key, None if event.get("type") == "DELETED" else body)

    def _parent_changed(self, key: OwnerKey, body: dict[str, Any] | None) -> bool:
        """Record a parent's new state (None: deleted); True when it needs a reconcile."""
        assert self.reconciler is not None
        queued = False
        if body is None:
            self.cache.forget_parent(key)
            self.reconciler.forget(key)
            self._unwatch_if_empty(key[0])
            # Its children stay in the view until their own DELETED events (the garbage
            # collector's work) remove them: orphaned ones (--cascade=orphan) are still
            # there for a successor of the same name, pods and endpoints included.
            self.index.release(key)
        elif key[0] in self.terminating:
            return False  # its namespace is being deleted: nothing can be made there
        else:
            previous = self.cache.put_parent(key, body)
            if previous is None and self.namespaces.mode == "patterns":
                self._watch_scope(key[0])
            # A status-only change (our own write) needs no reconcile.
            if previous is None or not _same_spec(previous, body):
                self._enqueue(key)
                queued = True
        metrics.MANAGED.set(len(self.cache))
        return queued

    def _unwatch_if_empty(self, namespace: str) -> None:
        """The namespace's last HuleEduService is gone: stop watching its other objects."""
        if self.namespaces.mode != "patterns":
            return
        if any(ns == namespace for ns, _ in self.cache.parent_keys()):
            return
        self._watch_started.pop(namespace, None)
        self._impatient.discard(namespace)
        for streams in self._scoped_streams():
            streams.unwatch(namespace)
        if self.owned is not None:
            # Its DELETED events will not come now; a later watch lists it afresh.
            self.index.drop_namespace(namespace)

    def _namespace_terminating(self, namespace: str) -> None:
        """``namespace`` is being deleted (or is gone): forget its resources and stop
        watching it now, not when their DELETED events come (controller/terminating.py)."""
        if namespace in self.terminating or not self.namespaces.matches(namespace):
            return
        self.terminating.add(namespace)
        keys = [key for key in self.cache.parent_keys() if key[0] == namespace]
        if keys:
            log.info("namespace_terminating", namespace=namespace, resources=len(keys))
        for key in keys:
            self._parent_changed(key, None)
        if any(s.watching(namespace) for s in self._scoped_streams()):
            self._unwatch_if_empty(namespace)

    def _child_handler(self, kind: ChildKind) -> Any:
        async def on_child(event: dict[str, Any], **_: Any) -> None:
            deleted = event.get("type") == "DELETED"
            changed = self.index.observe(kind.kind, event["object"], deleted)
            if changed is not None:
                self._changed(*changed)

        on_child.__name__ = f"on_{kind.plural}"
        return on_child

    async def _on_crd(self, event: dict[str, Any], name: str, **_: Any) -> None:
        body = event["object"]
        # A CRD being deleted still says Established, but refuses new objects (403).
        terminating = bool(body.get("metadata", {}).get("deletionTimestamp"))
        if event.get("type") == "DELETED" or terminating or not _established(body):
            self.crds.discard(name)
        else:
            self.crds.add(name)
        self._capabilities_observed()

    def _capabilities_observed(self) -> None:
        assert self.reconciler is not None
        before_served = self.capabilities.served
        effective_changed = self.capabilities.observe(
            capabilities_from(self.crds), time.monotonic()
        )
        served = self.capabilities.served
        # Gained (children of its kinds to create), or lost past its grace period.
        changed = bool(effective_changed or served - before_served)
        for capability in before_served - served:
            # The API server deleted every object of the CRD with it; the watch may not
            # say so before it stops.
            for kind in CHILD_KINDS:
                if kind.capability is capability:
                    self.index.drop_kind(kind.kind)
            log.warning(
                "capability_lost",
                capability=capability,
                grace_seconds=self.capabilities.grace,
                effect="pod templates unchanged until the grace period ends",
            )
        self._publish_capabilities(changed)
        self._follow_capabilities()
        if changed:
            log.info("capabilities_changed", capabilities=sorted(self.capabilities.effective))
            for key in self.cache.parent_keys():
                self._enqueue(key)
        self._schedule_capability_tick()

    def _publish_capabilities(self, changed: bool = False) -> None:
        assert self.reconciler is not None
        self.reconciler.set_capabilities(
            self.capabilities.effective, self.capabilities.served, changed
        )

    def _schedule_capability_tick(self) -> None:
        if self._capability_timer is not None:
            self._capability_timer.cancel()
            self._capability_timer = None
        expiry = self.capabilities.next_expiry()
        if expiry is not None:
            delay = max(0.0, expiry - time.monotonic()) + 0.05
            self._capability_timer = asyncio.get_running_loop().call_later(
                delay, self._capabilities_observed
            )

    # --- topics ------------------------------------------------------------------

    async def _topics_loop(self) -> None:
        assert self.topic_cache is not None
        while True:
            try:
                self.topics_listed(*await self.topic_cache.refresh())
            except Exception:  # never let the loop die; the next round tries again
                log.exception("topic_check_failed")
            await asyncio.sleep(self.topic_cache.interval)

    def topics_listed(self, before: TopicSnapshot, after: TopicSnapshot) -> list[OwnerKey]:
        """Publish a new listing; queue the resources whose TopicsReady it changes."""
        assert self.reconciler is not None
        self.reconciler.set_topics(after)
        if before == after:
            return []
        if after.error is not None and before.error is None:
            log.warning("topic_check_unreachable", servers=after.servers, error=after.error)
        keys: list[OwnerKey] = affected(
            dict(self.cache.parents()), before, after, self.settings.kafka_bootstrap_servers
        )
        for key in keys:
            self._enqueue(key)
        if keys:
            log.info("topics_changed", queued=len(keys))
        return keys

    # --- resync ------------------------------------------------------------------

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.resync_seconds)
            try:
                await self.resync()
            except Exception:  # never let the loop die; the next round tries again
                log.exception("resync_failed")

    async def resync(self) -> int:
        """LIST what the view holds, namespace by namespace, and repair it where it is
        stale; returns how many resources were queued. Reads only: reconciles follow
        only for resources whose view changed."""
        assert self.reconciler is not None
        kube = self.reconciler.kube
        namespaces = sorted({ns for ns, _ in self.cache.parent_keys()} | self.index.namespaces())
        queued: set[OwnerKey] = set()
        first = self.index.mark()
        for namespace in namespaces:
            before = self.index.mark()
            try:
                listed = await parents_as_served(kube, self.cache, namespace)
            except Exception as exc:
                log.warning("resync_list_failed", namespace=namespace, error=str(exc))
                continue
            known = [k for k in self.cache.parent_keys() if k[0] == namespace]
            for key in set(known) | set(listed):
                if self._parent_stamps.get(key, 0) > before:
                    continue
                if key in listed and listed[key] is None:
                    continue  # unchanged since the view's copy
                body = listed.get(key)
                if body is None:
                    metrics.RESYNC_REPAIRS.labels(kind="HuleEduService").inc()
                    log.info("resync_parent_gone", key="/".join(key))
                    self._parent_changed(key, None)
                elif self._parent_changed(key, body):
                    queued.add(key)
            for kind, path in self._resync_kinds(namespace):
                before = self.index.mark()
                try:
                    items = await kube.list(path, MANAGED_SELECTOR)
                except Exception as exc:
                    log.warning(
                        "resync_list_failed", namespace=namespace, kind=kind, error=str(exc)
                    )
                    continue
                for item in items:
                    item.setdefault("kind", kind)
                changed = self.index.reconcile_listing(kind, namespace, items, before)
                if changed:
                    metrics.RESYNC_REPAIRS.labels(kind=kind).inc(len(changed))
                    log.info("resync_repaired", kind=kind, owners=len(changed))
                queued |= {k for k in changed if k in self.cache}
        self.index.settle(first)
        for key in [k for k, seq in self._parent_stamps.items() if seq < first]:
            if key not in self.cache:
                del self._parent_stamps[key]
        for key in sorted(queued):
            self._enqueue(key)
        return len(queued)

    def _resync_kinds(self, namespace: str) -> list[tuple[str, str]]:
        """What kopf watches (with peering: its relist after a broken watch reports no
        deletions); our own streams repair their view at each relist (controller/owned.py)."""
        assert self.reconciler is not None
        if self.owned is not None:
            return []
        return [
            (kind.kind, kind.path(namespace))
            for kind in (*CHILD_KINDS, *OBSERVED_KINDS)
            if kind.capability is None or kind.capability in self.reconciler.served
        ]

    # --- running -----------------------------------------------------------------

    async def run(
        self, stop_flag: asyncio.Event | None = None, ready_flag: asyncio.Event | None = None
    ) -> None:
        liveness = (
            f"http://{self.settings.bind_address}:{self.settings.liveness_port}/healthz"
            if self.settings.liveness_port
            else None
        )
        await kopf.operator(
            registry=self.registry,
            clusterwide=self.namespaces.mode == "cluster",
            namespaces=self.namespaces.kopf_namespaces(),
            standalone=not self.settings.peering,
            peering_name=self.settings.peering,
            priority=self.settings.effective_priority(),
            liveness_endpoint=liveness,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
        )


def _same_spec(a: dict[str, Any], b: dict[str, Any]) -> bool:
    meta_a, meta_b = a.get("metadata", {}), b.get("metadata", {})
    return bool(
        meta_a.get("generation") == meta_b.get("generation")
        and meta_a.get("uid") == meta_b.get("uid")
        and meta_a.get("labels") == meta_b.get("labels")
        and adoption_requested(a) == adoption_requested(b)
        and a.get("spec") == b.get("spec")
        and not meta_b.get("deletionTimestamp")
    )


def run_operator() -> None:
    settings = OperatorSettings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(Operator(settings).run())
