"""TopicsReady: the pure verdict, the cache's change detection, the condition's stability
and what a new listing queues. No broker: the cache's lister is replaced."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import pytest

from huleedu_operator.controller.cache import Cache
from huleedu_operator.controller.main import Operator
from huleedu_operator.controller.queue import WorkQueue
from huleedu_operator.controller.reconcile import Reconciler
from huleedu_operator.controller.settings import OperatorSettings
from huleedu_operator.controller.status import (
    DEGRADED,
    READY,
    Observation,
    Problem,
    compute_conditions,
    compute_status,
)
from huleedu_operator.controller.topics import (
    BROKER_UNREACHABLE,
    CHECK_DISABLED,
    CHECK_PENDING,
    DISABLED,
    OTHER_BROKER,
    STALE_AFTER_INTERVALS,
    TOPICS_EXIST,
    TOPICS_MISSING,
    TOPICS_READY,
    TopicCache,
    TopicSnapshot,
    affected,
    consumed,
    topics_verdict,
)

pytestmark = pytest.mark.unit

SERVERS = "localhost:19092"
DEFAULT = "kafka.huleedu.svc:9092"


def listed(*topics: str) -> TopicSnapshot:
    return TopicSnapshot(servers=SERVERS, topics=frozenset(topics))


# --- the pure verdict -----------------------------------------------------------


def test_consuming_nothing_gets_no_condition() -> None:
    assert topics_verdict((), None, listed("a")) is None
    assert consumed({}) == ((), None)
    assert consumed({"kafka": {}}) == ((), None)
    assert consumed({"kafka": {"topics": ["a"], "bootstrapServers": "b:1"}}) == (("a",), "b:1")


def test_all_topics_exist() -> None:
    verdict = topics_verdict(("a", "b"), None, listed("a", "b", "c"))
    assert verdict is not None
    assert (verdict.ok, verdict.reason) == (True, TOPICS_EXIST)


def test_missing_topics_are_named_with_the_field_and_the_fix() -> None:
    verdict = topics_verdict(("a", "b", "c"), None, listed("b"))
    assert verdict is not None
    assert (verdict.ok, verdict.reason, verdict.missing) == (False, TOPICS_MISSING, ("a", "c"))
    assert "spec.kafka.topics" in verdict.message
    assert "a, c" in verdict.message
    assert "KafkaTopic" in verdict.message
    assert "kafka-topics.sh" in verdict.message


def test_disabled_pending_and_unreachable_are_unknown() -> None:
    disabled = topics_verdict(("a",), None, DISABLED)
    pending = topics_verdict(("a",), None, TopicSnapshot(servers=SERVERS))
    down = topics_verdict(("a",), None, TopicSnapshot(servers=SERVERS, error="KafkaError"))
    assert disabled is not None
    assert pending is not None
    assert down is not None
    assert (disabled.ok, disabled.reason) == (None, CHECK_DISABLED)
    assert "HULEEDU_OPERATOR_TOPIC_CHECK_BOOTSTRAP_SERVERS" in disabled.message
    assert (pending.ok, pending.reason) == (None, CHECK_PENDING)
    assert (down.ok, down.reason) == (None, BROKER_UNREACHABLE)
    assert "KafkaError" in down.message


@pytest.mark.parametrize(
    ("servers", "checked"),
    [
        (None, True),  # the operator's default: the cluster the check reaches
        (DEFAULT, True),
        (SERVERS, True),
        ("LOCALHOST:19092", True),
        ("other:9092", False),
        (f"{DEFAULT},other:9092", False),
    ],
)
def test_a_resource_on_another_broker_is_not_checked(servers: str | None, checked: bool) -> None:
    verdict = topics_verdict(("a",), servers, listed("a"), DEFAULT)
    assert verdict is not None
    assert verdict.ok is (True if checked else None)
    if not checked:
        assert verdict.reason == OTHER_BROKER
        assert "spec.kafka.bootstrapServers" in verdict.message


# --- the condition in status ----------------------------------------------------


def observation(verdict: Any, problems: tuple[Problem, ...] = ()) -> Observation:
    deployment = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": 1,
            "readyReplicas": 1,
            "conditions": [{"type": "Available", "status": "True"}],
        },
    }
    return Observation(1, "worker", deployment=deployment, problems=problems, topics=verdict)


def by_type(conditions: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in conditions}


def test_no_topics_no_condition() -> None:
    assert TOPICS_READY not in by_type(compute_conditions(observation(None)))


def test_missing_topics_degrade_but_keep_ready() -> None:
    verdict = topics_verdict(("a",), None, listed())
    assert verdict is not None
    problem = Problem(verdict.reason, verdict.message, blocking=False)
    conditions = by_type(compute_conditions(observation(verdict, (problem,))))
    assert conditions[TOPICS_READY]["status"] == "False"
    assert conditions[TOPICS_READY]["reason"] == TOPICS_MISSING
    assert conditions[DEGRADED]["status"] == "True"
    assert conditions[DEGRADED]["reason"] == TOPICS_MISSING
    assert conditions[READY]["status"] == "True"


def test_the_condition_is_stable_across_listings() -> None:
    """Listing again (other topics appearing, the same ones missing) writes nothing."""
    first = topics_verdict(("a", "b"), None, listed("a", "x"))
    second = topics_verdict(("a", "b"), None, listed("a", "x", "y", "z"))
    assert first == second
    old = compute_status(observation(first), {}, "2026-01-01T00:00:00Z")
    new = compute_status(observation(second), old, "2026-01-01T00:05:00Z")
    assert new == old


# --- the cache ------------------------------------------------------------------


class Broker:
    def __init__(self, *topics: str) -> None:
        self.topics = set(topics)
        self.down = False
        self.calls = 0

    async def list(self, servers: str) -> set[str]:
        self.calls += 1
        assert servers == SERVERS
        if self.down:
            raise ConnectionRefusedError("no")
        return set(self.topics)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache(broker: Broker, clock: Clock | None = None) -> TopicCache:
    return TopicCache(SERVERS, 60, lister=broker.list, clock=clock or Clock())


def test_the_cache_reports_a_change_only_when_topics_change() -> None:
    broker = Broker("a")
    topics = cache(broker)
    before, after = asyncio.run(topics.refresh())
    assert before == TopicSnapshot(servers=SERVERS)
    assert after == listed("a")
    assert asyncio.run(topics.refresh())[0] == asyncio.run(topics.refresh())[1]
    broker.topics.add("b")
    before, after = asyncio.run(topics.refresh())
    assert (before, after) == (listed("a"), listed("a", "b"))
    broker.topics.discard("a")
    assert asyncio.run(topics.refresh())[1] == listed("b")


def test_a_lost_listing_keeps_the_last_topics_until_they_are_stale() -> None:
    broker, clock = Broker("a"), Clock()
    topics = cache(broker, clock)
    asyncio.run(topics.refresh())
    broker.down = True
    clock.now += 60
    before, after = asyncio.run(topics.refresh())
    assert before == after == listed("a")
    clock.now += 60 * STALE_AFTER_INTERVALS
    unreachable = asyncio.run(topics.refresh())[1]
    assert unreachable == TopicSnapshot(servers=SERVERS, error="ConnectionRefusedError")
    clock.now += 60
    assert asyncio.run(topics.refresh())[1] == unreachable  # no flapping while down
    broker.down = False
    assert asyncio.run(topics.refresh())[1] == listed("a")


def test_a_broker_never_reached_is_unreachable_at_once() -> None:
    broker = Broker()
    broker.down = True
    after = asyncio.run(cache(broker).refresh())[1]
    assert after.topics is None
    assert after.error == "ConnectionRefusedError"


def test_a_hanging_listing_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from huleedu_operator.controller import topics as module

    async def hang(servers: str) -> set[str]:
        await asyncio.sleep(60)
        return set()

    monkeypatch.setattr(module, "LIST_TIMEOUT_SECONDS", 0.05)
    after = asyncio.run(TopicCache(SERVERS, 60, lister=hang).refresh())[1]
    assert after.error == "TimeoutError"


# --- what a new listing queues ----------------------------------------------------


def body(name: str, **kafka: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "worker"}
    if kafka:
        spec["kafka"] = kafka
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": spec}


RESOURCES = {
    ("ns", "on-a"): body("on-a", topics=["a"]),
    ("ns", "on-b"): body("on-b", topics=["b"]),
    ("ns", "on-a-b"): body("on-a-b", topics=["a", "b"]),
    ("ns", "producer"): body("producer", bootstrapServers=DEFAULT),
    ("ns", "http"): body("http"),
    ("ns", "elsewhere"): body("elsewhere", topics=["b"], bootstrapServers="other:9092"),
}


def test_only_resources_whose_verdict_changes_are_affected() -> None:
    assert sorted(affected(RESOURCES, listed("a"), listed("a", "b"), DEFAULT)) == [
        ("ns", "on-a-b"),
        ("ns", "on-b"),
    ]
    assert affected(RESOURCES, listed("a", "x"), listed("a", "y"), DEFAULT) == []
    assert sorted(affected(RESOURCES, TopicSnapshot(servers=SERVERS), listed(), DEFAULT)) == [
        ("ns", "on-a"),
        ("ns", "on-a-b"),
        ("ns", "on-b"),
    ]


def test_the_operator_queues_what_a_listing_changes() -> None:
    settings = OperatorSettings(
        kafka_bootstrap_servers=DEFAULT, topic_check_bootstrap_servers=SERVERS
    )
    operator = Operator(settings)
    assert operator.topic_cache is not None
    operator.queue = WorkQueue()
    operator.reconciler = Reconciler(None, operator.cache, settings, operator.queue.add_after)  # type: ignore[arg-type]
    for key, body in RESOURCES.items():
        operator.cache.put_parent(key, body)
    assert operator.topics_listed(listed("a"), listed("a")) == []
    assert operator.queue.depth() == 0
    queued = operator.topics_listed(listed("a"), listed("a", "b"))
    assert sorted(queued) == [("ns", "on-a-b"), ("ns", "on-b")]
    assert operator.queue.depth() == 2
    assert operator.reconciler.topics == listed("a", "b")


def test_the_check_is_off_by_default() -> None:
    settings = OperatorSettings()
    assert settings.topic_check_bootstrap_servers is None
    assert settings.topic_check_interval_seconds == 60
    assert Operator(settings).topic_cache is None
    assert Reconciler(None, Cache(), settings, no_requeue).topics == DISABLED  # type: ignore[arg-type]


# --- through a reconcile ----------------------------------------------------------


def no_requeue(key: tuple[str, str], delay: float) -> None:
    return None


class FakeKube:
    """Nothing exists; applies echo the object; status patches are recorded."""

    def __init__(self) -> None:
        self.status_patches: list[dict[str, Any]] = []

    async def get(self, path: str) -> None:
        return None

    async def apply(self, child: dict[str, Any], force: bool = False) -> dict[str, Any]:
        return child

    async def patch_status(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self.status_patches.append(patch)

    async def post_event(self, event: dict[str, Any]) -> None:
        return None


def reconciled(snapshot: TopicSnapshot, kube: FakeKube | None = None) -> dict[str, Any]:
    settings = OperatorSettings(kafka_bootstrap_servers=DEFAULT, status_interval_seconds=0)
    reconciler = Reconciler(kube or FakeKube(), Cache(), settings, no_requeue)  # type: ignore[arg-type]
    reconciler.set_topics(snapshot)
    key = ("ns", "reader")
    reconciler.cache.put_parent(
        key,
        {
            "apiVersion": "huleedu.io/v1alpha1",
            "kind": "HuleEduService",
            "metadata": {"name": "reader", "namespace": "ns", "generation": 1, "uid": "u"},
            "spec": {"type": "worker", "image": "example/r:1.0", "kafka": {"topics": ["a", "b"]}},
        },
    )
    asyncio.run(reconciler.reconcile(key))
    stored = reconciler.cache.parent(key)
    assert stored is not None
    return by_type(stored["status"]["conditions"])


def test_a_reconcile_reports_missing_topics_as_a_non_blocking_problem() -> None:
    conditions = reconciled(listed("a"))
    assert conditions[TOPICS_READY]["status"] == "False"
    assert "spec.kafka.topics: topic(s) b do not exist" in conditions[TOPICS_READY]["message"]
    assert conditions[DEGRADED]["reason"] == TOPICS_MISSING
    # Not Ready only because the fake Deployment is not Available, not for the topics.
    assert conditions[READY]["reason"] != TOPICS_MISSING


def test_a_reconcile_without_the_check_says_unknown() -> None:
    conditions = reconciled(DISABLED)
    assert conditions[TOPICS_READY]["status"] == "Unknown"
    assert conditions[TOPICS_READY]["reason"] == CHECK_DISABLED
    assert conditions[DEGRADED]["status"] == "False"
