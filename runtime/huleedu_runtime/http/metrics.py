"""Request metrics labelled by route template (the ``/metrics`` endpoint is
:func:`huleedu_runtime.serving.metrics_response`).

Labels use the matched rule (``/v1/content/<content_id>``), never the raw path:
raw paths put every id into a label value and grow the series count without
bound. Requests that matched no route share the label ``<unmatched>``, and a
method outside the standard ones is ``OTHER`` (clients choose the method, so it
is unbounded too). The label children are cached: ``labels()`` validates and
locks on every call, which showed in the request-rate benchmark.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

UNMATCHED_ROUTE = "<unmatched>"
OTHER_METHOD = "OTHER"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "huleedu_http_requests_total",
    "HTTP requests by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "huleedu_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# Bounded: methods are normalised, routes are the app's rules, statuses are HTTP's.
# One lookup per request: (method, route, status) -> its counter and histogram children.
_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else OTHER_METHOD


def record_request(method: str, route: str | None, status: int, seconds: float) -> None:
    """Count one finished request and observe its latency."""
    key = (method if method in KNOWN_METHODS else OTHER_METHOD, route or UNMATCHED_ROUTE, status)
    children = _children.get(key)
    if children is None:
        method, route, _ = key
        children = _children[key] = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_LATENCY.labels(method, route),
        )
    counter, histogram = children
    counter.inc()
    histogram.observe(seconds)
