"""The operator's own Prometheus metrics (served on HULEEDU_OPERATOR_METRICS_PORT)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECONCILES = Counter("huleedu_operator_reconciles_total", "Reconciles by result.", ["result"])
RECONCILE_SECONDS = Histogram(
    "huleedu_operator_reconcile_duration_seconds",
    "Time spent in one reconcile.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CHILDREN_APPLIED = Counter(
    "huleedu_operator_children_applied_total", "Server-side applies by child kind.", ["kind"]
)
DRIFT_CORRECTIONS = Counter(
    "huleedu_operator_drift_corrections_total", "Children restored after drift.", ["kind"]
)
RENDERS = Counter(
    "huleedu_operator_renders_total",
    "Reconciles by whether they rendered the resource (miss) or reused the last render (hit).",
    ["result"],
)
ERRORS = Counter("huleedu_operator_errors_total", "Errors by reason.", ["reason"])
WATCHES = Gauge(
    "huleedu_operator_watches",
    "The operator's own list/watch loops running, by collection: one per watched scope "
    "(a namespace, or the whole cluster).",
    ["feed"],
)
QUEUE_DEPTH = Gauge("huleedu_operator_queue_depth", "Keys waiting to be reconciled.")
MANAGED = Gauge("huleedu_operator_managed_resources", "HuleEduService resources seen.")
API_REQUESTS = Counter(
    "huleedu_operator_api_requests_total",
    "Requests the reconciler sent to the API server, by HTTP method (watches excluded).",
    ["verb"],
)
RESYNC_REPAIRS = Counter(
    "huleedu_operator_resync_repairs_total",
    "Entries of the in-memory view found stale, by kind: by the periodic resync, or by "
    "the relist of one of the operator's own streams after it broke.",
    ["kind"],
)
NAME_CONFLICTS = Counter(
    "huleedu_operator_name_conflicts_total",
    "Children not applied because an object of that name belongs to someone else.",
    ["kind"],
)
