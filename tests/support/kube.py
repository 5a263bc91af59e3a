"""A plain Kubernetes client for the harness: raw JSON requests, server-side apply and
list+watch trackers that timestamp the moment each object first satisfies a predicate.

Plain on purpose: the floor measurement applies the operator's children with this
client, so it must not share any of the operator's machinery.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from huleedu_operator.api.identity import MANAGED_SELECTOR as MANAGED_SELECTOR
from huleedu_operator.api.v1alpha1 import GROUP, KIND, PLURAL, VERSION
from huleedu_operator.controller.kinds import BY_KIND

from .ground import kubeconfig_path as kubeconfig_path

REPO = Path(__file__).resolve().parents[2]
CRD = REPO / "crds" / "huleedu.io_huleeduservices.yaml"
HES_PATH = f"/apis/{GROUP}/{VERSION}"
BENCH_LABEL = "huleedu.test/ephemeral"

Body = dict[str, Any]


def collection(kind: str, namespace: str) -> str:
    """The API path of ``kind``'s collection in ``namespace``: a HuleEduService or any
    child kind of the operator's registry (controller/kinds.py)."""
    if kind == KIND:
        return f"{HES_PATH}/namespaces/{namespace}/{PLURAL}"
    return BY_KIND[kind].path(namespace)


class Kube:
    """Thread-safe raw client (urllib3's pool is shared by the threads that use it)."""

    def __init__(self, pool_size: int = 32) -> None:
        self.kubeconfig = kubeconfig_path()
        self.api = config.new_client_from_config(config_file=self.kubeconfig)
        self.api.configuration.connection_pool_maxsize = pool_size
        self.api.rest_client = client.rest.RESTClientObject(self.api.configuration)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Iterable[tuple[str, str]] = (),
        content_type: str = "application/json",
        timeout: float = 60,
    ) -> Any:
        method, url, headers, payload, _ = self.api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query),
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api.call_api(
            method, url, header_params=headers, body=payload, _request_timeout=timeout
        )
        response.read()
        if not 200 <= response.status < 300:
            raise ApiException(http_resp=response)
        return json.loads(response.data) if response.data else None

    def text(self, path: str, timeout: float = 30) -> str:
        """A plain-text GET (``/metrics``), with the kubeconfig's credentials."""
        method, url, headers, _, _ = self.api.param_serialize(
            method="GET", resource_path=path, auth_settings=["BearerToken"]
        )
        response = self.api.call_api(method, url, header_params=headers, _request_timeout=timeout)
        response.read()
        if response.status != 200:
            raise ApiException(http_resp=response)
        return bytes(response.data).decode()

    def ready(self) -> bool:
        """``/readyz`` answers 200 (it is plain text, not JSON)."""
        method, url, headers, _, _ = self.api.param_serialize(
            method="GET", resource_path="/readyz", auth_settings=["BearerToken"]
        )
        response = self.api.call_api(method, url, header_params=headers, _request_timeout=5)
        response.read()
        return bool(response.status == 200)

    def get(self, path: str) -> Body | None:
        try:
            result: Body = self.request("GET", path)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return result

    def apply(self, obj: Body, manager: str = "bench", force: bool = True) -> Body:
        meta = obj["metadata"]
        path = f"{collection(obj['kind'], meta['namespace'])}/{meta['name']}"
        query = [("fieldManager", manager), ("force", "true" if force else "false")]
        result: Body = self.request("PATCH", path, obj, query, "application/apply-patch+yaml")
        return result

    def apply_all(self, objs: list[Body], concurrency: int, manager: str = "bench") -> None:
        with ThreadPoolExecutor(concurrency) as pool:
            for _ in pool.map(lambda o: self.apply(o, manager), objs):
                pass

    def delete(self, path: str) -> None:
        try:
            self.request("DELETE", path)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def names(self, kind: str, namespace: str, selector: str | None = None) -> list[str]:
        query = [("labelSelector", selector)] if selector else []
        data = self.request("GET", collection(kind, namespace), query=query)
        return sorted(item["metadata"]["name"] for item in data["items"])

    # --- namespaces --------------------------------------------------------------------

    def create_namespace(self, name: str) -> str:
        self.request(
            "POST",
            "/api/v1/namespaces",
            {"metadata": {"name": name, "labels": {BENCH_LABEL: "true"}}},
        )
        return name

    def delete_namespaces(self, names: Iterable[str], timeout: float = 900) -> None:
        """Delete and wait until gone (a measurement started before the deletion ends
        would measure the deletion too)."""
        names = list(names)
        for name in names:
            self.start_namespace_deletion(name)
        self.wait_namespaces_gone(names, timeout)

    def start_namespace_deletion(self, name: str) -> None:
        """Begin deleting a namespace without waiting for it.

        Emptied first, pods without a grace period: the namespace controller otherwise
        re-checks a namespace with terminating pods on a growing backoff, and 1000 fake
        pods (kwok has no kubelet to hurry them) keep a namespace around for minutes.
        """
        for path in (
            f"{HES_PATH}/namespaces/{name}/{PLURAL}",
            f"/apis/apps/v1/namespaces/{name}/deployments",
            f"/apis/apps/v1/namespaces/{name}/replicasets",
        ):
            self.delete(path)
        self.delete_pods_now(name)
        self.delete(f"/api/v1/namespaces/{name}")

    def delete_pods_now(self, name: str) -> None:
        try:
            self.request(
                "DELETE", f"/api/v1/namespaces/{name}/pods", query=[("gracePeriodSeconds", "0")]
            )
        except ApiException as exc:
            if exc.status != 404:
                raise

    def wait_namespaces_gone(self, names: Iterable[str], timeout: float = 1800) -> float:
        """Until every namespace of ``names`` is gone (seconds waited). Pods created
        meanwhile by ReplicaSets not yet collected are deleted without grace again."""
        names = list(names)
        started = time.monotonic()
        deadline = started + timeout
        last_pods = 0.0
        while True:
            left = [n for n in names if self.get(f"/api/v1/namespaces/{n}") is not None]
            if not left:
                return time.monotonic() - started
            if time.monotonic() > deadline:
                raise TimeoutError(f"namespaces {left} not deleted after {timeout:.0f}s")
            if time.monotonic() - last_pods > 10:
                for name in left:
                    if self._collection_size(f"/api/v1/namespaces/{name}/pods"):
                        self.delete_pods_now(name)
                last_pods = time.monotonic()
            time.sleep(1)

    def _collection_size(self, path: str) -> int:
        try:
            data = self.request("GET", path, query=[("limit", "500")])
        except ApiException as exc:
            if exc.status == 404:
                return 0
            raise
        return len(data["items"]) + int(data["metadata"].get("remainingItemCount") or 0)

    def ensure_crd(self) -> None:
        import yaml

        crd = yaml.safe_load(CRD.read_text())
        self.request(
            "PATCH",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}",
            crd,
            [("fieldManager", "bench"), ("force", "true")],
            "application/apply-patch+yaml",
        )

    def ensure_service_capacity(self, services: int) -> None:
        """The local control plane's service range is a /24 (254 ClusterIPs); 1000 mixed
        resources need 500. A second ServiceCIDR (GA since 1.33) extends it live."""
        cidrs = self.request("GET", "/apis/networking.k8s.io/v1/servicecidrs")["items"]
        size = 0
        for cidr in cidrs:
            for block in cidr["spec"].get("cidrs", []):
                if ":" not in block:
                    size += 2 ** (32 - int(block.split("/")[1])) - 2
        if size < services + 100 and not any(
            c["metadata"]["name"] == "huleedu-bench" for c in cidrs
        ):
            self.request("POST", "/apis/networking.k8s.io/v1/servicecidrs", bench_service_cidr())

    def ensure_pod_capacity(self, pods: int) -> None:
        """The local control plane has one kwok node with room for 250 pods; a run of
        1000 resources needs more. Adds fake kwok nodes (kwok manages every node)."""
        nodes = self.request("GET", "/api/v1/nodes")["items"]
        capacity = sum(int(n["status"].get("allocatable", {}).get("pods", 0)) for n in nodes)
        index = 0
        while capacity < pods + 100:
            name = f"huleedu-bench-node-{index}"
            index += 1
            if any(n["metadata"]["name"] == name for n in nodes):
                continue
            self.request("POST", "/api/v1/nodes", bench_node(name))
            capacity += 500


def bench_service_cidr() -> Body:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": "huleedu-bench", "labels": {BENCH_LABEL: "true"}},
        "spec": {"cidrs": ["10.96.0.0/16"]},
    }


def bench_node(name: str) -> Body:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "type": "kwok",
                BENCH_LABEL: "true",
            },
        },
        "status": {
            "allocatable": {"cpu": "64", "memory": "512Gi", "pods": "500"},
            "capacity": {"cpu": "64", "memory": "512Gi", "pods": "500"},
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "fake",
                "kubeProxyVersion": "fake",
            },
        },
    }


# --- predicates -------------------------------------------------------------------------


def condition(obj: Body, type_: str) -> Body:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}


def hes_ready(obj: Body) -> bool:
    return condition(obj, "Ready").get("status") == "True" and (obj.get("status") or {}).get(
        "observedGeneration"
    ) == obj["metadata"].get("generation")


def deployment_available(obj: Body) -> bool:
    status = obj.get("status") or {}
    return (
        condition(obj, "Available").get("status") == "True"
        and status.get("observedGeneration", 0) >= obj["metadata"].get("generation", 0)
        and status.get("updatedReplicas", 0) == (obj.get("spec") or {}).get("replicas", 1)
    )


def always(_: Body) -> bool:
    return True


class Tracker:
    """List+watch one collection in a thread and record, per object name, the monotonic
    time it was first seen satisfying ``predicate`` (and whether it still exists).

    A watch instead of polling: polling 1000 objects a second would load the API server
    that is being measured.
    """

    def __init__(
        self,
        kube: Kube,
        path: str,
        predicate: Callable[[Body], bool] = always,
        selector: str | None = None,
    ) -> None:
        self.kube, self.path, self.predicate, self.selector = kube, path, predicate, selector
        self.first_ok: dict[str, float] = {}
        self.first_seen: dict[str, float] = {}  # first seen at all (ADDED or listed)
        self.ok_at: dict[str, float] = {}  # when it last became ok (drift: restored at)
        self.ok_now: set[str] = set()
        self.present: dict[str, Body] = {}
        self.deleted_at: dict[str, float] = {}
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._synced = threading.Event()
        self._response: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"watch {path}")

    def __enter__(self) -> Tracker:
        self._thread.start()
        if not self._synced.wait(60):
            raise TimeoutError(f"initial list of {self.path} did not finish")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        response = self._response
        if response is not None:  # end the open watch now, not at its next event
            with contextlib.suppress(Exception):
                response.shutdown()

    def _query(self) -> list[tuple[str, str]]:
        return [("labelSelector", self.selector)] if self.selector else []

    def _see(self, type_: str, obj: Body, now: float) -> None:
        name = obj["metadata"]["name"]
        with self._lock:
            if type_ == "DELETED":
                self.present.pop(name, None)
                self.ok_now.discard(name)
                self.deleted_at[name] = now
            else:
                self.present[name] = obj
                self.first_seen.setdefault(name, now)
                if self.predicate(obj):
                    if name not in self.ok_now:
                        self.ok_at[name] = now
                    self.ok_now.add(name)
                    self.first_ok.setdefault(name, now)
                else:
                    self.ok_now.discard(name)
            self._lock.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.kube.request("GET", self.path, query=self._query())
                now = time.monotonic()
                names = {item["metadata"]["name"] for item in data["items"]}
                with self._lock:
                    for gone in set(self.present) - names:
                        self.present.pop(gone, None)
                        self.ok_now.discard(gone)
                for item in data["items"]:
                    self._see("ADDED", item, now)
                self._synced.set()
                self._watch(data["metadata"]["resourceVersion"])
            except Exception:  # the API server may be away (fault tests): relist
                time.sleep(0.5)

    def _watch(self, rv: str) -> None:
        query = [
            *self._query(),
            ("watch", "true"),
            ("resourceVersion", rv),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", "60"),
        ]
        method, url, headers, _, _ = self.kube.api.param_serialize(
            method="GET",
            resource_path=self.path,
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        response = self.kube.api.rest_client.pool_manager.request(
            method,
            url,
            headers=headers,
            preload_content=False,
            timeout=urllib3.Timeout(connect=5, read=90),
        )
        self._response = response
        try:
            if response.status != 200:
                raise RuntimeError(f"watch {self.path}: {response.status}")
            buffer = b""
            for chunk in response.stream(65536, decode_content=True):
                if self._stop.is_set():
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    now = time.monotonic()
                    if event["type"] == "ERROR":
                        return  # 410 Gone and friends: relist
                    if event["type"] == "BOOKMARK":
                        continue
                    self._see(event["type"], event["object"], now)
        finally:
            self._response = None
            response.release_conn()

    # --- waiting ---------------------------------------------------------------------

    def wait(self, test: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not test():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
                self._lock.wait(min(left, 1.0))

    def wait_ok(self, names: Iterable[str], timeout: float, since: float | None = None) -> None:
        """Until every name is ok now (and, with ``since``, became ok after it)."""
        wanted = set(names)

        def done() -> bool:
            if not wanted <= self.ok_now:
                return False
            return since is None or all(self.ok_at[n] >= since for n in wanted)

        self.wait(done, timeout, f"{len(wanted)} objects under {self.path}")

    def wait_seen(self, names: Iterable[str], timeout: float) -> None:
        """Until every name has been seen (whatever its state)."""
        wanted = set(names)
        self.wait(
            lambda: wanted <= self.first_seen.keys(),
            timeout,
            f"{len(wanted)} objects under {self.path} to appear",
        )

    def missing(self, names: Iterable[str]) -> list[str]:
        with self._lock:
            return sorted(set(names) - self.ok_now)
