"""``TopicsReady``: do the topics a resource consumes exist on the broker?

The operator usually runs in another network and security context than the services, so
the check is off unless ``HULEEDU_OPERATOR_TOPIC_CHECK_BOOTSTRAP_SERVERS`` says where the
operator itself reaches the Kafka cluster that ``HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS``
names for the pods (often a different listener or address). Plaintext only for now.

Reconciles never wait for Kafka: :class:`TopicCache` lists the broker's topics at most
every ``topic_check_interval_seconds`` from one background task, shared by every
resource, and a reconcile only reads its last :class:`TopicSnapshot` through the pure
:func:`topics_verdict`. When a refresh changes a snapshot, the operator re-queues the
resources whose verdict changed (:func:`affected`), nothing else.

Stability (an idle operator writes nothing): messages carry no timestamps and no
counters; a failed listing keeps the last good topics for ``STALE_AFTER_INTERVALS``
intervals, so one lost request does not flip every resource to Unknown and back; the
error is named by its class only (never the text, which may quote a configuration), and
the first class is kept while the broker stays unreachable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

TOPICS_READY = "TopicsReady"
TOPICS_EXIST, TOPICS_MISSING = "TopicsExist", "TopicsMissing"
CHECK_DISABLED, CHECK_PENDING = "TopicCheckDisabled", "TopicCheckPending"
BROKER_UNREACHABLE, OTHER_BROKER = "BrokerUnreachable", "OtherBroker"
TOPICS_FIELD = "spec.kafka.topics"

# A failed listing keeps the previous topics this many intervals before the verdict
# turns Unknown: one lost request is no reason to rewrite every resource's status.
STALE_AFTER_INTERVALS = 3
# One listing (connect + metadata) may take this long; the loop never waits longer.
LIST_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class TopicSnapshot:
    """What the operator knows of the broker's topics. ``topics`` None: not known (never
    listed, or the last success is too old); ``error`` then says why, if it failed."""

    servers: str | None  # None: the check is disabled
    topics: frozenset[str] | None = None
    error: str | None = None  # exception class of the last failed listing


DISABLED = TopicSnapshot(servers=None)


@dataclass(frozen=True)
class TopicVerdict:
    """The ``TopicsReady`` condition's content: status True/False/None (Unknown)."""

    ok: bool | None
    reason: str
    message: str
    missing: tuple[str, ...] = ()


def normalize_servers(servers: str | None) -> frozenset[str]:
    return frozenset(s.strip().lower() for s in (servers or "").split(",") if s.strip())


def consumed(spec: Mapping[str, Any] | None) -> tuple[tuple[str, ...], str | None]:
    """(topics, spec.kafka.bootstrapServers) of a resource's raw spec; no topics: ()."""
    kafka = (spec or {}).get("kafka") or {}
    if not isinstance(kafka, Mapping):
        return (), None
    topics = kafka.get("topics") or []
    servers = kafka.get("bootstrapServers")
    return (
        tuple(str(t) for t in topics) if isinstance(topics, list) else (),
        str(servers) if servers else None,
    )


def topics_verdict(
    topics: Sequence[str],
    resource_servers: str | None,
    snapshot: TopicSnapshot,
    default_servers: str | None = None,
) -> TopicVerdict | None:
    """The verdict for a resource consuming ``topics`` from ``resource_servers`` (its
    spec.kafka.bootstrapServers; None: the operator's ``default_servers``). None: it
    consumes nothing, so it gets no ``TopicsReady`` condition."""
    if not topics:
        return None
    if snapshot.servers is None:
        return TopicVerdict(
            None,
            CHECK_DISABLED,
            "the operator does not check topics; set HULEEDU_OPERATOR_TOPIC_CHECK_BOOTSTRAP_"
            "SERVERS (chart: operator.topicCheck.bootstrapServers) to where it reaches the "
            "broker",
        )
    if resource_servers is not None and normalize_servers(resource_servers) not in (
        normalize_servers(default_servers),
        normalize_servers(snapshot.servers),
    ):
        return TopicVerdict(
            None,
            OTHER_BROKER,
            f"spec.kafka.bootstrapServers ({resource_servers}) is not the broker the operator "
            f"checks ({snapshot.servers}); its topics are not checked",
        )
    if snapshot.topics is None:
        if snapshot.error is None:
            return TopicVerdict(
                None, CHECK_PENDING, "the operator has not listed the broker's topics yet"
            )
        return TopicVerdict(
            None,
            BROKER_UNREACHABLE,
            f"the operator cannot list topics at {snapshot.servers} ({snapshot.error}); "
            "whether the consumed topics exist is not known",
        )
    missing = tuple(t for t in topics if t not in snapshot.topics)
    if not missing:
        return TopicVerdict(True, TOPICS_EXIST, f"all {len(topics)} consumed topic(s) exist")
    names = ", ".join(missing)
    return TopicVerdict(
        False,
        TOPICS_MISSING,
        f"{TOPICS_FIELD}: topic(s) {names} do not exist on the broker at {snapshot.servers}; "
        "the consumer runs but receives nothing. Create them (a Strimzi KafkaTopic, or "
        "kafka-topics.sh --create --topic <name>) or fix the names",
        missing,
    )


def affected(
    resources: Mapping[Any, Mapping[str, Any]],
    before: TopicSnapshot,
    after: TopicSnapshot,
    default_servers: str | None = None,
) -> list[Any]:
    """Keys of ``resources`` (raw bodies) whose verdict differs between the snapshots."""
    keys = []
    for key, body in resources.items():
        topics, servers = consumed(body.get("spec"))
        if topics and topics_verdict(topics, servers, before, default_servers) != (
            topics_verdict(topics, servers, after, default_servers)
        ):
            keys.append(key)
    return keys


Lister = Callable[[str], Awaitable[Iterable[str]]]


async def list_topics(servers: str) -> frozenset[str]:
    """Every topic name on the broker at ``servers`` (plaintext), with a fresh client:
    one listing a minute needs no long-lived connection to keep healthy."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=servers,
        client_id="huleedu-operator-topic-check",
        request_timeout_ms=int(LIST_TIMEOUT_SECONDS * 1000),
    )
    try:
        await admin.start()
        return frozenset(await admin.list_topics())
    finally:
        await admin.close()


class TopicCache:
    """The broker's topics, listed by :meth:`refresh`; :attr:`snapshot` is what
    reconciles read."""

    def __init__(
        self,
        servers: str,
        interval: float,
        lister: Lister = list_topics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.servers = servers
        self.interval = interval
        self.snapshot = TopicSnapshot(servers=servers)
        self._lister = lister
        self._clock = clock
        self._last_success: float | None = None

    async def refresh(self) -> tuple[TopicSnapshot, TopicSnapshot]:
        """List once; (before, after). They are equal when nothing a condition shows
        changed."""
        before = self.snapshot
        try:
            topics = frozenset(
                await asyncio.wait_for(self._lister(self.servers), LIST_TIMEOUT_SECONDS)
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never let the check break the operator
            self.snapshot = self._failed(type(exc).__name__)
        else:
            self._last_success = self._clock()
            self.snapshot = TopicSnapshot(servers=self.servers, topics=topics)
        return before, self.snapshot

    def _failed(self, error: str) -> TopicSnapshot:
        previous = self.snapshot
        fresh = (
            self._last_success is not None
            and self._clock() - self._last_success < STALE_AFTER_INTERVALS * self.interval
        )
        if fresh and previous.topics is not None:
            return previous  # a single lost listing changes nothing
        if previous.error is not None:
            return previous  # still unreachable: the first error's class, not a new message
        return TopicSnapshot(servers=self.servers, error=error)
