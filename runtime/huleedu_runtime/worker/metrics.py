"""Worker metrics: throughput, outcomes, latency, commits and consumer lag.

Lag is ``highwater - committed position`` per partition as the consumer sees it
after each fetch; KEDA scales workers on the broker's view of the same number.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "huleedu_worker_messages_total",
    "Messages handled by topic and outcome (processed, retried, dead_lettered, abandoned).",
    ["topic", "outcome"],
)
PROCESSING_SECONDS = Histogram(
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
IN_FLIGHT = Gauge(
    "huleedu_worker_messages_in_flight",
    "Messages fetched and not yet committed.",
)
