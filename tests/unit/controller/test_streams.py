"""The operator's own list/watch streams, without a server: how a stream's bytes become
events, which kopf handlers remain, and how a listing corrects the child view."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from kubernetes.client import Configuration

from huleedu_operator.controller import main
from huleedu_operator.controller.index import ENDPOINT_SLICE, POD, SPEC, STATUS, ChildIndex
from huleedu_operator.controller.kinds import CHILD_KINDS, ENDPOINT_SLICE_KIND, POD_KIND
from huleedu_operator.controller.main import CORE_KINDS, Operator
from huleedu_operator.controller.owned import _OwnedSink, owned_watches
from huleedu_operator.controller.settings import OperatorSettings
from huleedu_operator.controller.streams import _lines
from huleedu_runtime import contract

pytestmark = pytest.mark.unit


class Chunks:
    """Stands in for aiohttp's StreamReader: the bytes in the chunks given."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    async def iter_any(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


def lines(*chunks: bytes) -> list[bytes]:
    async def collect() -> list[bytes]:
        return [line async for line in _lines(Chunks(*chunks))]  # type: ignore[arg-type]

    return asyncio.run(collect())


def test_events_split_across_chunks_come_out_whole() -> None:
    one = orjson.dumps({"type": "ADDED", "object": {"metadata": {"name": "a"}}})
    two = orjson.dumps({"type": "DELETED", "object": {"metadata": {"name": "b"}}})
    stream = one + b"\n" + two + b"\n"
    assert lines(stream[:7], stream[7:40], stream[40:]) == [one, two]


def test_an_event_larger_than_aiohttps_line_limit_is_read() -> None:
    big = orjson.dumps({"type": "MODIFIED", "object": {"data": {"k": "x" * 3_000_000}}})
    chunks = [big[i : i + 65536] for i in range(0, len(big), 65536)]
    assert lines(*chunks, b"\n") == [big]


def test_blank_lines_and_a_last_line_without_newline() -> None:
    assert lines(b"\n\n{}\n  \n", b"[]") == [b"{}", b"[]"]


def test_the_observed_kinds_name_what_the_index_stores() -> None:
    assert (POD_KIND.kind, ENDPOINT_SLICE_KIND.kind) == (POD, ENDPOINT_SLICE)


def registered(peering: str | None) -> set[str]:
    operator = Operator(OperatorSettings(peering=peering, priority=1))
    handlers = operator.registry._watching.get_all_handlers()
    return {h.fn.__name__ for h in handlers}


def test_standalone_kopf_watches_no_kind_of_children() -> None:
    # Not even the optional ones: kopf's watch of a kind whose CRD just went can answer
    # 404 before its discovery notices, and kopf raises that, stopping the operator.
    names = registered(None)
    assert not {f"on_{k.plural}" for k in (*CHILD_KINDS, POD_KIND, ENDPOINT_SLICE_KIND)} & names


def test_each_capability_has_its_own_loops_for_exactly_its_kinds() -> None:
    optional = [kind for kinds in main.OPTIONAL_KINDS.values() for kind in kinds]
    assert sorted(k.kind for k in optional) == sorted(k.kind for k in CHILD_KINDS if k.capability)
    for capability, kinds in main.OPTIONAL_KINDS.items():
        assert kinds
        assert all(kind.capability is capability for kind in kinds)


def test_with_peering_kopf_watches_every_child_kind_because_it_pauses_them() -> None:
    names = registered("p")
    assert {f"on_{k.plural}" for k in (*CHILD_KINDS, POD_KIND, ENDPOINT_SLICE_KIND)} <= names
    assert main.Operator(OperatorSettings(peering="p", priority=1)).own_streams is False


def child(name: str, namespace: str, owner: str, version: str) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "resourceVersion": version,
            "labels": {contract.LABEL_SERVICE: owner},
        },
        "spec": {"replicas": 1},
    }


Change = tuple[tuple[str, str], str]


def test_a_cluster_wide_listing_forgets_what_vanished_in_every_namespace() -> None:
    index = ChildIndex()
    seen: list[Change] = []
    sink = _OwnedSink("Deployment", index, lambda key, change: seen.append((key, change)))
    sink.listing(None)
    sink.listed(None, [child("a", "ns1", "a", "1"), child("b", "ns2", "b", "1")])
    assert sorted(seen) == [(("ns1", "a"), SPEC), (("ns2", "b"), SPEC)]
    seen.clear()
    # The stream broke; meanwhile b was deleted and a changed.
    sink.listing(None)
    sink.listed(None, [child("a", "ns1", "a", "2")])
    assert sorted(seen) == [(("ns1", "a"), SPEC), (("ns2", "b"), SPEC)]
    assert index.get(("ns2", "b"), "Deployment", "b") is None
    assert index.deleted(("ns2", "b"), "Deployment", "b")


def test_an_event_newer_than_the_listing_wins() -> None:
    index = ChildIndex()
    sink = _OwnedSink("Deployment", index, lambda key, change: None)
    sink.listing("ns1")
    sink.event("ADDED", child("late", "ns1", "late", "5"))
    sink.listed("ns1", [])  # listed before "late" was created
    assert index.get(("ns1", "late"), "Deployment", "late") is not None


def test_a_deployment_status_change_is_told_from_an_edit() -> None:
    index = ChildIndex()
    seen: list[Change] = []
    sink = _OwnedSink("Deployment", index, lambda key, change: seen.append((key, change)))
    body = child("svc", "ns", "svc", "1")
    sink.event("ADDED", body)
    body["status"] = {"replicas": 1, "readyReplicas": 1, "collisionCount": 0}
    sink.event("MODIFIED", body)
    body["status"]["collisionCount"] = 1  # not read by status: no change at all
    sink.event("MODIFIED", body)
    body["spec"] = {"replicas": 3}  # someone scaled it
    sink.event("MODIFIED", body)
    sink.event("DELETED", body)
    key = ("ns", "svc")
    assert seen == [(key, SPEC), (key, STATUS), (key, SPEC), (key, SPEC)]
    assert index.get(key, "Deployment", "svc") is None


def test_a_pod_event_reports_its_owner_only_when_what_status_reads_changed() -> None:
    index = ChildIndex()
    seen: list[Change] = []
    sink = _OwnedSink(POD, index, lambda key, change: seen.append((key, change)))
    pod = {
        "metadata": {"name": "p", "namespace": "ns", "labels": {contract.LABEL_SERVICE: "svc"}},
        "status": {"containerStatuses": [{"name": "app", "restartCount": 0}]},
    }
    status = (("ns", "svc"), STATUS)
    sink.event("ADDED", pod)
    assert seen == [status]
    pod["status"]["containerStatuses"][0]["restartCount"] = 3  # type: ignore[index]
    sink.event("MODIFIED", pod)
    assert seen == [status], "a restart count alone is not read by status"
    waiting = {"waiting": {"reason": "CreateContainerConfigError", "message": "no secret"}}
    pod["status"]["containerStatuses"][0]["state"] = waiting  # type: ignore[index]
    sink.event("MODIFIED", pod)
    assert seen == [status] * 2
    sink.event("DELETED", pod)
    assert seen == [status] * 3
    assert index.pods(("ns", "svc")) == []


def test_dropping_a_namespace_forgets_only_that_namespace() -> None:
    index = ChildIndex()
    index.put("Deployment", child("a", "ns1", "a", "1"))
    index.put("Deployment", child("b", "ns2", "b", "1"))
    index.drop_namespace("ns1")
    assert index.namespaces() == {"ns2"}


def test_the_streams_do_not_bound_their_connections() -> None:
    """Each loop holds a connection while it watches: a bound on connections is a bound
    on the scopes watched (a pool of 100 starved the eleventh namespace's ten loops)."""

    async def limit() -> int:
        config = Configuration()
        config.host = "https://127.0.0.1:1"
        streams = owned_watches(config, CORE_KINDS, ChildIndex(), lambda *_: None)
        session = streams._http()
        try:
            return session.connector.limit  # type: ignore[union-attr]
        finally:
            await streams.close()

    assert asyncio.run(limit()) == 0


def test_unsynced_names_the_feeds_not_listed_yet() -> None:
    streams = owned_watches(Configuration(), CORE_KINDS, ChildIndex(), lambda *_: None)
    streams._synced |= {("deployments", "team"), ("configmaps", None)}
    missing = streams.unsynced("team")
    assert "deployments" not in missing
    assert "configmaps" not in missing
    assert "services" in missing
    assert not streams.synced("team")
    streams._synced |= {(feed.name, None) for feed in streams.feeds}
    assert streams.unsynced("team") == []
    assert streams.synced("team")
