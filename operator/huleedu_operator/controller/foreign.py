"""Names of the objects the operator does *not* manage, so that creating a child needs
no GET to find out whether its name is taken.

The operator's own watches select ``app.kubernetes.io/managed-by=huleedu-operator``: an
object of the same name that someone else made is invisible to them, and applying over
it would take it over. Before this module, every child missing from the view was read
first (2.4 GETs per new resource). Here one metadata-only watch per core child kind and
namespace, with the complementary selector (``managed-by!=huleedu-operator``, which also
matches objects without the label), keeps the set of names taken by others. The two
selectors partition the namespace, so no event arrives twice, and a namespace without
foreign objects streams nothing.

A name is *free* only while its watch is synced: listed, and streaming since. Until
then, after an error, or for kinds whose API is optional (a CRD that may come and go),
the reconciler reads the object instead, exactly as before. The same race as a GET
remains: an object created by someone else between our view and our apply.

Requests go through aiohttp (kopf's own HTTP client) with the kubernetes client's
credentials; the blocking client would hold a pool thread per watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from typing import Any

import aiohttp
import structlog
from kubernetes.client import Configuration

from huleedu_operator.api.identity import FOREIGN_SELECTOR
from huleedu_operator.controller import metrics
from huleedu_operator.controller.kinds import ChildKind

log = structlog.get_logger("huleedu_operator.foreign")

_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
_ONE = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
PAGE = 500
RETRY_SECONDS = 2.0
WATCH_SECONDS = 300


class ForeignNames:
    """kind -> namespace -> names of objects not ours; and what is synced: (kind, a
    namespace) for a per-namespace watch, (kind, None) for a cluster-wide one."""

    def __init__(self) -> None:
        self._names: dict[str, dict[str, set[str]]] = {}
        self._synced: set[tuple[str, str | None]] = set()

    def free(self, kind: str, namespace: str, name: str) -> bool:
        """Known to be taken by nobody else (so far as a synced watch can know)."""
        synced = (kind, namespace) in self._synced or (kind, None) in self._synced
        return synced and name not in self._names.get(kind, {}).get(namespace, ())

    def listed(self, kind: str, scope: str | None, names: dict[str, set[str]]) -> None:
        """A LIST of ``kind`` in ``scope`` (a namespace, or None: all) returned ``names``
        (namespace -> names)."""
        held = self._names.setdefault(kind, {})
        if scope is None:
            held.clear()
            held.update(names)
        else:
            held[scope] = names.get(scope, set())
        self._synced.add((kind, scope))

    def seen(self, kind: str, namespace: str, name: str, deleted: bool) -> None:
        names = self._names.setdefault(kind, {}).setdefault(namespace, set())
        if deleted:
            names.discard(name)
        else:
            names.add(name)

    def lost(self, kind: str, scope: str | None) -> None:
        """The watch broke: until it has listed again, nothing is known to be free."""
        self._synced.discard((kind, scope))

    def forget(self, kind: str, scope: str | None) -> None:
        self.lost(kind, scope)
        if scope is None:
            self._names.pop(kind, None)
        else:
            self._names.get(kind, {}).pop(scope, None)


def _ssl_context(config: Configuration) -> ssl.SSLContext | bool:
    if not config.verify_ssl:
        return False
    context = ssl.create_default_context(cafile=config.ssl_ca_cert)
    if config.cert_file:
        context.load_cert_chain(config.cert_file, config.key_file)
    return context


class ForeignWatches:
    """Runs the metadata watches: cluster-wide ones, or one set per namespace on demand."""

    def __init__(
        self, config: Configuration, kinds: tuple[ChildKind, ...], names: ForeignNames
    ) -> None:
        self.config = config
        self.kinds = kinds
        self.names = names
        self._tasks: dict[str | None, list[asyncio.Task[None]]] = {}
        self._session: aiohttp.ClientSession | None = None

    def _headers(self, accept: str) -> dict[str, str]:
        if self.config.refresh_api_key_hook is not None:
            self.config.refresh_api_key_hook(self.config)  # in-cluster tokens rotate
        headers = {"Accept": accept}
        token = self.config.get_api_key_with_prefix("BearerToken") or (
            self.config.get_api_key_with_prefix("authorization")
        )
        if token:
            headers["Authorization"] = token
        return headers

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=_ssl_context(self.config))
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    def watch(self, namespace: str | None) -> None:
        """Start the watches for ``namespace`` (None: the whole cluster) if not running."""
        if namespace in self._tasks:
            return
        self._tasks[namespace] = [
            asyncio.create_task(self._run(kind, namespace), name=f"foreign-{kind.plural}")
            for kind in self.kinds
        ]

    async def unwatch(self, namespace: str | None) -> None:
        for task in self._tasks.pop(namespace, []):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        for namespace in list(self._tasks):
            await self.unwatch(namespace)
        if self._session is not None:
            await self._session.close()

    def _url(self, kind: ChildKind, namespace: str | None) -> str:
        path = kind.path(namespace) if namespace else kind.cluster_path()
        return self.config.host.rstrip("/") + path

    async def _run(self, kind: ChildKind, namespace: str | None) -> None:
        version: str | None = None
        try:
            while True:
                try:
                    if version is None:
                        version = await self._list(kind, namespace)
                    # A watch the server ends (timeoutSeconds) resumes where it stopped.
                    version = await self._stream(kind, namespace, version)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the API server is away, a 410, a broken stream
                    log.debug("foreign_watch_retry", kind=kind.kind, error=str(exc))
                    metrics.ERRORS.labels(reason="foreign_watch").inc()
                    self.names.lost(kind.kind, namespace)
                    version = None
                    await asyncio.sleep(RETRY_SECONDS)
        finally:
            self.names.forget(kind.kind, namespace)

    async def _list(self, kind: ChildKind, namespace: str | None) -> str:
        names: dict[str, set[str]] = {}
        query: dict[str, str] = {"labelSelector": FOREIGN_SELECTOR, "limit": str(PAGE)}
        while True:
            async with self.session().get(
                self._url(kind, namespace), params=query, headers=self._headers(_LIST)
            ) as response:
                response.raise_for_status()
                page: dict[str, Any] = await response.json()
            for item in page.get("items") or []:
                meta = item["metadata"]
                names.setdefault(meta.get("namespace", ""), set()).add(meta["name"])
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                break
            query["continue"] = cont
        self.names.listed(kind.kind, namespace, names)
        return str((page.get("metadata") or {}).get("resourceVersion", ""))

    async def _stream(self, kind: ChildKind, namespace: str | None, version: str) -> str:
        query = {
            "labelSelector": FOREIGN_SELECTOR,
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": version,
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        timeout = aiohttp.ClientTimeout(total=None, sock_read=WATCH_SECONDS + 30)
        async with self.session().get(
            self._url(kind, namespace), params=query, headers=self._headers(_ONE), timeout=timeout
        ) as response:
            response.raise_for_status()
            async for line in response.content:
                if not line.strip():
                    continue
                event = json.loads(line)
                meta = (event.get("object") or {}).get("metadata") or {}
                if event.get("type") == "ERROR":  # 410 Gone: list again
                    raise RuntimeError(str(event.get("object", {}).get("message")))
                version = str(meta.get("resourceVersion") or version)
                if event.get("type") == "BOOKMARK":
                    continue
                deleted = event.get("type") == "DELETED"
                self.names.seen(kind.kind, meta.get("namespace", ""), meta["name"], deleted)
        return version
