"""Blocking Kubernetes calls, always run off the event loop.

The official ``kubernetes`` client is synchronous; every call here goes through a
dedicated thread pool (:func:`call`) so a slow API server never stalls kopf's watch
streams. Server-side apply uses one field manager and *no* force by default: a conflict
is information (someone else owns that field), decided upon by the reconciler.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import kubernetes
import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from huleedu_operator.api import v1alpha1
from huleedu_operator.api.identity import FIELD_MANAGER
from huleedu_operator.controller import metrics
from huleedu_operator.controller.kinds import BY_KIND
from huleedu_operator.controller.paths import api_path

_CRDS_PATH = api_path("apis", "apiextensions.k8s.io", "v1", "customresourcedefinitions")
T = TypeVar("T")


@dataclass
class Kube:
    """An API client plus the pool its blocking calls run in."""

    api: ApiClient
    pool: ThreadPoolExecutor

    @classmethod
    def connect(cls, threads: int = 16) -> Kube:
        try:
            kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
        except kubernetes.config.ConfigException:
            kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
        configuration = kubernetes.client.Configuration.get_default_copy()
        configuration.connection_pool_maxsize = threads * 2
        return cls(ApiClient(configuration), ThreadPoolExecutor(threads, "kube"))

    def close(self) -> None:
        """Stop the pool without waiting for requests in flight (the operator is exiting)."""
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def call(self, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, fn)
        except urllib3.exceptions.HTTPError as exc:
            # Connection refused/reset while the API server is away: callers retry.
            raise ConnectionError(str(exc)) from exc

    def _raw(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """One request; ``body`` is a dict (serialised as JSON, which is valid YAML)."""
        metrics.API_REQUESTS.labels(verb=method).inc()
        method, url, headers, payload, _ = self.api.param_serialize(
            method=method,
            resource_path=path,
            query_params=query or [],
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api.call_api(
            method, url, header_params=headers, body=payload, _request_timeout=30
        )
        response.read()  # type: ignore[no-untyped-call]
        if not 200 <= response.status < 300:
            raise ApiException(http_resp=response)
        return json.loads(response.data) if response.data else None

    async def apply(self, child: dict[str, Any], force: bool = False) -> dict[str, Any]:
        """Server-side apply ``child``; returns the live object."""
        kind = BY_KIND[child["kind"]]
        meta = child["metadata"]
        query = [("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")]
        path = kind.path(meta["namespace"], meta["name"])
        result: dict[str, Any] = await self.call(
            lambda: self._raw("PATCH", path, child, query, "application/apply-patch+yaml")
        )
        return result

    async def delete(self, kind_name: str, namespace: str, name: str) -> None:
        path = BY_KIND[kind_name].path(namespace, name)
        try:
            await self.call(lambda: self._raw("DELETE", path))
        except ApiException as exc:
            if exc.status != 404:
                raise

    async def get(self, path: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self.call(lambda: self._raw("GET", path))
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
        await self.call(
            lambda: self._raw("PATCH", path, body, None, "application/merge-patch+json")
        )

    async def post_event(self, event: dict[str, Any]) -> None:
        namespace = event["metadata"]["namespace"]
        path = api_path("apis", "events.k8s.io", "v1", "namespaces", namespace, "events")
        await self.call(lambda: self._raw("POST", path, event))

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        """Every object of the collection at ``path``, in pages of 500. List items carry
        no ``kind``; callers that need it set it."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = [("limit", "500")]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if token:
                query.append(("continue", token))
            page: dict[str, Any] = await self.call(partial(self._raw, "GET", path, None, query))
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    async def list_crd_names(self) -> set[str]:
        data = await self.call(lambda: self._raw("GET", _CRDS_PATH))
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
