"""Worker metrics: throughput, outcomes, latency, commits and consumer lag.

Lag is ``highwater - committed position`` per partition as the consumer sees it
after each fetch; KEDA scales workers on the broker's view of the same number.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge
from prometheus_client.metrics_core import HistogramMetricFamily
from prometheus_client.registry import Collector


class LoopHistogram(Collector):
    """A histogram for values observed on one event loop thread, without locks.

    ``prometheus_client.Histogram.observe`` takes a lock and walks every bucket:
    about a microsecond, several times a no-op handler's whole cost. The worker
    observes from its event loop only, and the scrape is served on the same loop,
    so plain integers are safe; exposition is a normal Prometheus histogram.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = list(labelnames)
        self.bounds = sorted(buckets)
        self._series: dict[tuple[str, ...], LoopHistogramChild] = {}
        registry.register(self)

    def labels(self, *values: str) -> LoopHistogramChild:
        child = self._series.get(values)
        if child is None:
            child = self._series[values] = LoopHistogramChild(self.bounds)
        return child

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, child in self._series.items():
            cumulative, buckets = 0, []
            for bound, count in zip([*self.bounds, float("inf")], child.counts, strict=True):
                cumulative += count
                buckets.append((_le(bound), float(cumulative)))
            family.add_metric(list(values), buckets, child.total)
        yield family


class LoopHistogramChild:
    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: list[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


MESSAGES = Counter(
    "huleedu_worker_messages_total",
    "Messages handled by topic and outcome (processed, retried, timed_out, dead_lettered, "
    "abandoned).",
    ["topic", "outcome"],
)
PROCESSING_SECONDS = LoopHistogram(
    "huleedu_worker_processing_duration_seconds",
    "Handler latency per message attempt, by topic.",
    ["topic"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
COMMITS = Counter(
    "huleedu_worker_commits_total",
    "Offset commits by outcome (ok, failed).",
    ["outcome"],
)
CONSUMER_LAG = Gauge(
    "huleedu_worker_consumer_lag",
    "Messages behind the partition's high watermark.",
    ["topic", "partition"],
)
ASSIGNED_PARTITIONS = Gauge(
    "huleedu_worker_assigned_partitions",
    "Partitions this consumer holds after its last rebalance (0 is normal with more "
    "replicas than partitions: the consumer is Ready and stands by).",
)
IN_FLIGHT = Gauge(
    "huleedu_worker_messages_in_flight",
    "Messages fetched and not yet committed.",
)


class TopicMetrics:
    """One topic's metric children, looked up once: ``labels()`` per message is slow.

    ``processed`` is counted in a plain int and added to the counter once per
    batch (:meth:`flush`), so the counter trails the loop by at most one batch.
    """

    __slots__ = ("_processed", "pending_processed", "retried", "seconds")

    def __init__(self, topic: str) -> None:
        self._processed = MESSAGES.labels(topic, "processed")
        self.retried = MESSAGES.labels(topic, "retried")
        self.seconds = PROCESSING_SECONDS.labels(topic)
        self.pending_processed = 0

    def flush(self) -> None:
        if self.pending_processed:
            self._processed.inc(self.pending_processed)
            self.pending_processed = 0
