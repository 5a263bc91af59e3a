"""The operator's requests to the API server (the watches are controller/streams.py).

aiohttp on the event loop, bodies through orjson. Until this module moved off the
official ``kubernetes`` client, every request went through a thread pool (the client is
synchronous) and ``sanitize_for_serialization`` copied each body first: a tenth of the
operator's CPU while resources converged. The client still supplies the configuration
(in-cluster or kubeconfig) and :class:`ApiException`, which callers inspect for the
status and the server's message. Paths come from :func:`api_path`, whose segments
cannot escape their place, and are sent as they are (``encoded=True``: nothing
re-quotes or normalises them).

Server-side apply uses one field manager and *no* force by default: a conflict is
information (someone else owns that field), decided upon by the reconciler.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import kubernetes
import orjson
import yarl
from kubernetes.client import Configuration
from kubernetes.client.exceptions import ApiException

from huleedu_operator.api import v1alpha1
from huleedu_operator.api.identity import FIELD_MANAGER
from huleedu_operator.controller import http, metrics
from huleedu_operator.controller.kinds import BY_KIND
from huleedu_operator.controller.paths import api_path

_CRDS_PATH = api_path("apis", "apiextensions.k8s.io", "v1", "customresourcedefinitions")
TIMEOUT = aiohttp.ClientTimeout(total=30)


@dataclass
class Kube:
    """The API server's address and credentials, and a session to it."""

    config: Configuration
    connections: int = 32
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)

    @classmethod
    def connect(cls, connections: int = 32) -> Kube:
        try:
            kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
        except kubernetes.config.ConfigException:
            kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
        return cls(Configuration.get_default_copy(), connections)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send(
        self, method: str, url: str, headers: dict[str, str], data: bytes | None
    ) -> tuple[int, str, bytes]:
        """One request on the wire: (status, reason, body)."""
        if self._session is None:
            self._session = http.session(self.config, self.connections)
        try:
            async with self._session.request(
                method, yarl.URL(url, encoded=True), headers=headers, data=data, timeout=TIMEOUT
            ) as response:
                return response.status, response.reason or "", await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            # Refused or reset while the API server is away: callers retry.
            raise ConnectionError(f"{method} {url}: {exc!r}") from exc

    async def _raw(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
        accept: str = http.FULL,
    ) -> Any:
        """One request; ``body`` is a dict (sent as JSON, which is valid YAML)."""
        metrics.API_REQUESTS.labels(verb=method).inc()
        url = self.config.host.rstrip("/") + path
        if query:
            url += "?" + urlencode(query)
        headers = {"Accept": accept, **http.auth_headers(self.config)}
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = orjson.dumps(body)
        status, reason, payload = await self._send(method, url, headers, data)
        if not 200 <= status < 300:
            raise ApiException(
                status=status, reason=reason, body=payload.decode("utf-8", "replace")
            )
        return orjson.loads(payload) if payload else None

    async def apply(self, child: dict[str, Any], force: bool = False) -> dict[str, Any]:
        """Server-side apply ``child``; returns the live object."""
        kind = BY_KIND[child["kind"]]
        meta = child["metadata"]
        query = [("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")]
        path = kind.path(meta["namespace"], meta["name"])
        result: dict[str, Any] = await self._raw(
            "PATCH", path, child, query, "application/apply-patch+yaml"
        )
        return result

    async def delete(self, kind_name: str, namespace: str, name: str) -> None:
        path = BY_KIND[kind_name].path(namespace, name)
        try:
            await self._raw("DELETE", path)
        except ApiException as exc:
            if exc.status != 404:
                raise

    async def get(self, path: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._raw("GET", path)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return result

    async def patch_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        path = api_path(
            "apis",
            v1alpha1.GROUP,
            v1alpha1.VERSION,
            "namespaces",
            namespace,
            v1alpha1.PLURAL,
            name,
            "status",
        )
        body = {"status": status}
        await self._raw("PATCH", path, body, None, "application/merge-patch+json")

    async def post_event(self, event: dict[str, Any]) -> None:
        namespace = event["metadata"]["namespace"]
        path = api_path("apis", "events.k8s.io", "v1", "namespaces", namespace, "events")
        await self._raw("POST", path, event)

    async def list(
        self, path: str, label_selector: str | None = None, metadata_only: bool = False
    ) -> list[dict[str, Any]]:
        """Every object of the collection at ``path``, in pages of 500 (``metadata_only``:
        each item's metadata alone). List items carry no ``kind``; callers that need it
        set it."""
        accept = http.METADATA_LIST if metadata_only else http.FULL
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = [("limit", "500")]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if token:
                query.append(("continue", token))
            page: dict[str, Any] = await self._raw("GET", path, None, query, accept=accept)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    async def list_crd_names(self) -> set[str]:
        data = await self._raw("GET", _CRDS_PATH)
        return {item["metadata"]["name"] for item in data.get("items", [])}


def conflict_managers(exc: ApiException) -> list[str]:
    """Managers named in a server-side apply conflict (HTTP 409) response."""
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        return []
    causes = body.get("details", {}).get("causes", [])
    managers = []
    for cause in causes:
        message = cause.get("message", "")
        # 'conflict with "kubectl-edit" using apps/v1: .spec.replicas'
        if '"' in message:
            managers.append(message.split('"')[1])
    return sorted(set(managers))


def conflict_fields(exc: ApiException) -> list[str]:
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        return []
    return sorted({c.get("field", "") for c in body.get("details", {}).get("causes", [])})
