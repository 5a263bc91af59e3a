"""A name from a resource is one segment of the request path, whatever it contains.

Formatted into a path as it was, ``spec.envFrom[].configMapRef.name: ../../../configmaps``
made the operator LIST every ConfigMap in the cluster (the HTTP client resolves dot
segments), ``../../kube-system/configmaps/x`` read another namespace and
``x?watch=true`` started a watch. These tests follow a name from the spec to the
request target the client sends, through the operator's client and yarl's URL (what
aiohttp puts on the request line).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
import yarl
from kubernetes.client import Configuration

from huleedu_operator.controller.cache import Cache
from huleedu_operator.controller.client import Kube
from huleedu_operator.controller.foreign import ForeignNames
from huleedu_operator.controller.kinds import BY_KIND
from huleedu_operator.controller.paths import api_path
from huleedu_operator.controller.reconcile import Reconciler
from huleedu_operator.controller.settings import OperatorSettings

pytestmark = pytest.mark.unit

HOST = "https://kube.test"
NS = "team-a"
HOSTILE = [
    "../../../configmaps",
    "../../kube-system/configmaps/x",
    "x?watch=true",
    "a%2Fb",
    "a/b",
    "x#fragment",
]


def on_the_wire(url: str) -> str:
    """The request target aiohttp sends for ``url`` as the client passes it (encoded:
    not re-quoted, dot segments not resolved)."""
    return str(yarl.URL(url, encoded=True).raw_path_qs)


# --- api_path ------------------------------------------------------------------------


def test_plain_segments_are_joined_unchanged() -> None:
    assert api_path("api", "v1", "namespaces", NS, "configmaps", "shared.settings-v2") == (
        "/api/v1/namespaces/team-a/configmaps/shared.settings-v2"
    )


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("../../../configmaps", "..%2F..%2F..%2Fconfigmaps"),
        ("../../kube-system/configmaps/x", "..%2F..%2Fkube-system%2Fconfigmaps%2Fx"),
        ("x?watch=true", "x%3Fwatch%3Dtrue"),
        ("a%2Fb", "a%252Fb"),
        ("x#fragment", "x%23fragment"),
        ("a b", "a%20b"),
    ],
)
def test_a_hostile_segment_stays_one_segment(name: str, encoded: str) -> None:
    path = api_path("api", "v1", "namespaces", NS, "configmaps", name)
    assert path == f"/api/v1/namespaces/team-a/configmaps/{encoded}"
    assert path.count("/") == 6
    assert not {"?", "#"} & set(path)
    assert unquote(path.rsplit("/", 1)[1]) == name


@pytest.mark.parametrize("segment", ["", ".", ".."])
def test_empty_and_dot_segments_are_refused(segment: str) -> None:
    # Quoting leaves them as they are: "" would turn a GET of one object into a LIST of
    # the collection, "." and ".." are removed by the client with what precedes them.
    with pytest.raises(ValueError, match=r"never empty, '\.' or '\.\.'"):
        api_path("api", "v1", "namespaces", NS, "configmaps", segment)


def test_the_namespace_is_a_segment_too() -> None:
    path = BY_KIND["Deployment"].path("../kube-system", "x")
    assert path == "/apis/apps/v1/namespaces/..%2Fkube-system/deployments/x"


def test_a_child_kind_path_is_its_collection_or_one_object() -> None:
    assert BY_KIND["ConfigMap"].path(NS) == "/api/v1/namespaces/team-a/configmaps"
    assert BY_KIND["ScaledObject"].path(NS, "svc") == (
        "/apis/keda.sh/v1alpha1/namespaces/team-a/scaledobjects/svc"
    )
    with pytest.raises(ValueError, match="never empty"):
        BY_KIND["ConfigMap"].path(NS, "")


# --- through the real client -----------------------------------------------------------


class RecordingApi:
    """Stands in for the network: records each request target, answers GETs with 404."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    async def __call__(
        self, method: str, url: str, headers: dict[str, str], data: bytes | None
    ) -> tuple[int, str, bytes]:
        self.requests.append((method, on_the_wire(url)))
        if method == "GET":
            return 404, "Not Found", b'{"kind": "Status", "code": 404}'
        return 200, "OK", b"{}"


@pytest.fixture
def kube(monkeypatch: pytest.MonkeyPatch) -> tuple[Kube, RecordingApi]:
    client = Kube(Configuration(host=HOST))
    recorder = RecordingApi()
    monkeypatch.setattr(client, "_send", recorder)
    return client, recorder


def test_formatting_a_name_into_a_path_was_the_defect() -> None:
    # What the old f-string paths sent: an HTTP client resolves the name against the
    # path (RFC 3986 dot segments; urllib3 did, and yarl does for a URL given unencoded).
    base = f"{HOST}/api/v1/namespaces/{NS}/configmaps/"
    assert yarl.URL(base + "../../../configmaps").raw_path == "/api/v1/configmaps"
    assert yarl.URL(base + "../../kube-system/configmaps/x").raw_path == (
        "/api/v1/namespaces/kube-system/configmaps/x"
    )
    assert yarl.URL(base + "x?watch=true").query_string == "watch=true"


@pytest.mark.parametrize("name", HOSTILE)
async def test_a_get_by_a_hostile_name_requests_that_one_name_in_the_namespace(
    kube: tuple[Kube, RecordingApi], name: str
) -> None:
    client, recorder = kube
    assert await client.get(BY_KIND["ConfigMap"].path(NS, name)) is None
    ((method, target),) = recorder.requests
    assert method == "GET"
    prefix = "/api/v1/namespaces/team-a/configmaps/"
    assert target.startswith(prefix)
    segment = target.removeprefix(prefix)
    assert not {"/", "?", "#"} & set(segment)
    assert unquote(segment) == name


async def test_status_and_events_paths_quote_the_resource_name(
    kube: tuple[Kube, RecordingApi],
) -> None:
    client, recorder = kube
    await client.patch_status(NS, "a/b", {"observedGeneration": 1})
    await client.post_event({"metadata": {"namespace": "x/y", "name": "e"}})
    assert recorder.requests == [
        ("PATCH", "/apis/huleedu.io/v1alpha1/namespaces/team-a/huleeduservices/a%2Fb/status"),
        ("POST", "/apis/events.k8s.io/v1/namespaces/x%2Fy/events"),
    ]


# --- the reconciler's ConfigMap reads ----------------------------------------------------


def stored(env_from: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "huleedu.io/v1alpha1",
        "kind": "HuleEduService",
        "metadata": {"name": "svc", "namespace": NS, "generation": 1, "uid": "u"},
        "spec": {"type": "http", "envFrom": env_from},
    }


def degraded(reconciler: Reconciler) -> dict[str, Any]:
    stored = reconciler.cache.parent((NS, "svc"))
    assert stored is not None
    status = stored["status"]
    (condition,) = [c for c in status["conditions"] if c["type"] == "Degraded"]
    return dict(condition)


@pytest.mark.parametrize(
    "name", ["../../../configmaps", "../../kube-system/configmaps/x", "x?watch=true"]
)
async def test_a_hostile_name_stored_before_the_crd_checked_it_reads_nothing(
    kube: tuple[Kube, RecordingApi], name: str
) -> None:
    client, recorder = kube
    reconciler = Reconciler(client, Cache(), OperatorSettings(), lambda key, delay: None)
    reconciler.cache.put_parent((NS, "svc"), stored([{"configMapRef": {"name": name}}]))

    await reconciler.reconcile((NS, "svc"))

    assert [m for m, _ in recorder.requests if m == "GET"] == [], recorder.requests
    condition = degraded(reconciler)
    assert condition["reason"] == "InvalidSpec"
    assert condition["message"].startswith(
        "spec.envFrom.0.configMapRef.name: must be an object name in this namespace"
    )
    assert condition["message"].endswith("not a path")
    assert name not in condition["message"], "the message does not echo what was probed"


async def test_a_missing_config_map_is_read_by_its_name_in_the_resource_namespace(
    kube: tuple[Kube, RecordingApi],
) -> None:
    client, recorder = kube
    reconciler = Reconciler(client, Cache(), OperatorSettings(), lambda key, delay: None)
    reconciler.cache.put_parent(
        (NS, "svc"), stored([{"configMapRef": {"name": "shared.settings"}}])
    )

    await reconciler.reconcile((NS, "svc"))

    gets = [target for method, target in recorder.requests if method == "GET"]
    assert "/api/v1/namespaces/team-a/configmaps/shared.settings" in gets
    # The other reads are its own children's names (the ownership check before a first
    # apply), all in the resource's namespace.
    assert all("/namespaces/team-a/" in target for target in gets), gets
    condition = degraded(reconciler)
    assert condition["reason"] == "MissingReference"
    assert condition["message"].startswith(
        "spec.envFrom[0].configMapRef.name: ConfigMap 'shared.settings' does not exist"
    )


# --- creating children without reading them first (controller/foreign.py) --------------


def born(seconds_from_now: int) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def synced(*taken: tuple[str, str]) -> ForeignNames:
    names = ForeignNames()
    for kind in BY_KIND:
        names.listed(kind, NS, {NS: {name for k, name in taken if k == kind}})
    return names


async def reads_for(kube: tuple[Kube, RecordingApi], names: ForeignNames, age: int) -> list[str]:
    client, recorder = kube
    reconciler = Reconciler(client, Cache(), OperatorSettings(), lambda key, delay: None, names)
    body = stored([])
    body["metadata"]["creationTimestamp"] = born(age)
    reconciler.cache.put_parent((NS, "svc"), body)
    await reconciler.reconcile((NS, "svc"))
    return [target for method, target in recorder.requests if method == "GET"]


async def test_a_new_resource_whose_names_nobody_holds_is_created_without_reads(
    kube: tuple[Kube, RecordingApi],
) -> None:
    assert await reads_for(kube, synced(), age=5) == []
    applied = [t.split("?")[0] for m, t in kube[1].requests if m == "PATCH"]
    assert "/apis/apps/v1/namespaces/team-a/deployments/svc" in applied


async def test_a_name_someone_else_holds_is_read_before_anything_is_applied(
    kube: tuple[Kube, RecordingApi],
) -> None:
    gets = await reads_for(kube, synced(("Deployment", "svc")), age=5)
    assert gets == ["/apis/apps/v1/namespaces/team-a/deployments/svc"]


async def test_a_resource_older_than_the_operator_has_its_children_read_first(
    kube: tuple[Kube, RecordingApi],
) -> None:
    # Its children may exist and not be in the view yet (a restart): reading them is
    # what keeps a restart write-free.
    gets = await reads_for(kube, synced(), age=-60)
    assert "/apis/apps/v1/namespaces/team-a/deployments/svc" in gets


async def test_before_the_watch_of_other_objects_has_listed_every_child_is_read(
    kube: tuple[Kube, RecordingApi],
) -> None:
    gets = await reads_for(kube, ForeignNames(), age=5)
    assert "/apis/apps/v1/namespaces/team-a/deployments/svc" in gets
