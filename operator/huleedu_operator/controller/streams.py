"""List-then-watch loops the operator runs itself, over aiohttp, for the collections it
only reads: its own children, their pods and endpoint slices, and (metadata only) the
objects of the same kinds that others own.

Why not kopf's watches for these: kopf turns every watch event into a full handler
cycle (a ``Body`` wrapper, per-object memories, a logger, handler selection, an empty
patch to apply), which was a quarter of the operator's CPU while 1000 resources
converged, the event stream's ``json.loads`` another eighth. Here an event is one
``orjson.loads`` and one call into the sink, which updates the child index. kopf still
watches the HuleEduServices and the CRDs, and with peering it watches the children too,
because it pauses its watches while another replica leads and these streams would not.
A loop retries every error, a 404 included: the optional kinds' APIs come and go
(controller/main.py starts their loops while their CRDs are served).

One loop per (collection, scope), where scope is a namespace or None for the whole
cluster: LIST (in pages), then WATCH from the list's resourceVersion with bookmarks;
a watch the server ends resumes where it stopped; an error or a 410 Gone lists again
after :data:`RETRY_SECONDS`. A scope is *synced* while every collection in it has
listed and streams since; the reconciler waits for that before it trusts the view.

The stream is split into lines here rather than by aiohttp's ``readline``, which raises
``LineTooLong`` past its buffer limit (128 KiB), less than one event of a large ConfigMap.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import orjson
import structlog
from kubernetes.client import Configuration

from huleedu_operator.controller import http, metrics

log = structlog.get_logger("huleedu_operator.streams")

PAGE = 500
RETRY_SECONDS = 2.0
WATCH_SECONDS = 300

Scope = str | None  # a namespace, or None: the whole cluster
Body = dict[str, Any]


class _Expired(Exception):
    """The server ended a watch with an ERROR event (410 Gone: list again); routine."""


class Sink(Protocol):
    """Where one collection's objects go."""

    def listing(self, scope: Scope) -> None:
        """A LIST of ``scope`` starts (events before this are older than it)."""

    def listed(self, scope: Scope, items: list[Body]) -> None:
        """The LIST returned ``items``: everything of the collection in ``scope``."""

    def event(self, kind: str, body: Body) -> None:
        """A watch event: ``kind`` is ADDED, MODIFIED or DELETED."""

    def lost(self, scope: Scope) -> None:
        """The stream broke: until the next LIST, what it said may be stale."""

    def stopped(self, scope: Scope) -> None:
        """Nobody watches ``scope`` any more."""


@dataclass(frozen=True)
class Feed:
    """One collection to list and watch in each scope."""

    name: str  # for task names and logs
    path: Callable[[Scope], str]  # scope -> the collection's API path
    selector: str
    sink: Sink
    metadata_only: bool = False


async def _lines(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    pending = b""
    async for chunk in content.iter_any():
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            if line.strip():
                yield line
    if pending.strip():
        yield pending


class Streams:
    """The loops of some feeds, per scope, started and stopped on demand."""

    def __init__(self, config: Configuration, feeds: tuple[Feed, ...]) -> None:
        self.config = config
        self.feeds = feeds
        self._tasks: dict[Scope, list[asyncio.Task[None]]] = {}
        self._synced: set[tuple[str, Scope]] = set()
        self._stopping: set[asyncio.Task[None]] = set()
        self._failing: set[tuple[str, Scope]] = set()  # warned of until they list again
        self._session: aiohttp.ClientSession | None = None

    # --- scopes ----------------------------------------------------------------------

    def watch(self, scope: Scope) -> None:
        """Start every feed's loop for ``scope`` unless running."""
        if scope in self._tasks:
            return
        self._tasks[scope] = [
            asyncio.create_task(self._run(feed, scope), name=f"stream-{feed.name}")
            for feed in self.feeds
        ]
        self._count()

    def _count(self) -> None:
        for feed in self.feeds:
            metrics.WATCHES.labels(feed=feed.name).set(len(self._tasks))

    def watching(self, scope: Scope) -> bool:
        return scope in self._tasks

    def scopes(self) -> list[Scope]:
        """The scopes watched now."""
        return list(self._tasks)

    def unwatch(self, scope: Scope) -> None:
        """Stop ``scope``'s loops; from now on they deliver nothing."""
        for task in self._tasks.pop(scope, []):
            task.cancel()
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
        self._count()

    async def close(self) -> None:
        for scope in list(self._tasks):
            self.unwatch(scope)
        for task in list(self._stopping):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()

    def synced(self, namespace: str) -> bool:
        """Every feed has listed ``namespace`` (or the whole cluster) and streams since."""
        return not self.unsynced(namespace)

    def unsynced(self, namespace: str) -> list[str]:
        """The feeds that have not listed ``namespace`` (nor the whole cluster) yet."""
        return [
            feed.name
            for feed in self.feeds
            if (feed.name, namespace) not in self._synced and (feed.name, None) not in self._synced
        ]

    # --- HTTP ------------------------------------------------------------------------

    def _headers(self, accept: str) -> dict[str, str]:
        return {"Accept": accept, **http.auth_headers(self.config)}

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            # Unbounded: every loop holds its connection for as long as it watches, so
            # a pool of 100 stopped the eleventh namespace's ten loops from ever
            # connecting (tests/integration/test_many_namespaces.py).
            self._session = http.session(self.config, None)
        return self._session

    def _url(self, feed: Feed, scope: Scope) -> str:
        return self.config.host.rstrip("/") + feed.path(scope)

    # --- the loop --------------------------------------------------------------------

    async def _run(self, feed: Feed, scope: Scope) -> None:
        version: str | None = None
        try:
            while True:
                try:
                    if version is None:
                        version = await self._list(feed, scope)
                        self._synced.add((feed.name, scope))
                        if (feed.name, scope) in self._failing:
                            self._failing.discard((feed.name, scope))
                            log.info("stream_recovered", feed=feed.name, scope=scope)
                    # A watch the server ends (timeoutSeconds) resumes where it stopped.
                    version = await self._stream(feed, scope, version)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the API server is away, a 410, a broken stream
                    if not isinstance(exc, _Expired) and (feed.name, scope) not in self._failing:
                        # Once per failing stretch (it retries every RETRY_SECONDS): a
                        # refused LIST (RBAC) must not be silent.
                        self._failing.add((feed.name, scope))
                        log.warning("stream_retry", feed=feed.name, scope=scope, error=str(exc))
                    else:
                        log.debug("stream_retry", feed=feed.name, scope=scope, error=str(exc))
                    metrics.ERRORS.labels(reason="stream").inc()
                    self._synced.discard((feed.name, scope))
                    feed.sink.lost(scope)
                    version = None
                    await asyncio.sleep(RETRY_SECONDS)
        finally:
            if scope not in self._tasks:  # else a new loop of the scope took over
                self._synced.discard((feed.name, scope))
                self._failing.discard((feed.name, scope))
                feed.sink.stopped(scope)

    async def _list(self, feed: Feed, scope: Scope) -> str:
        items: list[Body] = []
        query: dict[str, str] = {"labelSelector": feed.selector, "limit": str(PAGE)}
        accept = http.METADATA_LIST if feed.metadata_only else http.FULL
        feed.sink.listing(scope)
        while True:
            async with self._http().get(
                self._url(feed, scope), params=query, headers=self._headers(accept)
            ) as response:
                response.raise_for_status()
                page: Body = orjson.loads(await response.read())
            items += page.get("items") or []
            meta = page.get("metadata") or {}
            if not meta.get("continue"):
                break
            query["continue"] = meta["continue"]
        feed.sink.listed(scope, items)
        return str(meta.get("resourceVersion", ""))

    async def _stream(self, feed: Feed, scope: Scope, version: str) -> str:
        query = {
            "labelSelector": feed.selector,
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": version,
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        accept = http.METADATA_ONE if feed.metadata_only else http.FULL
        timeout = aiohttp.ClientTimeout(total=None, sock_read=WATCH_SECONDS + 30)
        async with self._http().get(
            self._url(feed, scope), params=query, headers=self._headers(accept), timeout=timeout
        ) as response:
            response.raise_for_status()
            async for line in _lines(response.content):
                event = orjson.loads(line)
                kind = event.get("type")
                body = event.get("object") or {}
                if kind == "ERROR":  # 410 Gone and the like: list again
                    raise _Expired(str(body.get("message")))
                version = str((body.get("metadata") or {}).get("resourceVersion") or version)
                if kind != "BOOKMARK":
                    feed.sink.event(kind, body)
        return version
