"""Request metrics labelled by route template, and the ``/metrics`` endpoint.

Labels use the matched rule (``/v1/content/<content_id>``), never the raw path:
raw paths put every id into a label value and grow the series count without
bound. Requests that matched no route share the label ``<unmatched>``.
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from quart import Quart, Response, g, request

UNMATCHED_ROUTE = "<unmatched>"

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


def current_route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED_ROUTE


def install_metrics(app: Quart) -> None:
    async def start_timer() -> None:
        g.huleedu_request_started = time.perf_counter()

    async def record(response: Response) -> Response:
        started = g.get("huleedu_request_started")
        route = current_route()
        HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        if started is not None:
            HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    app.before_request(start_timer)
    app.after_request(record)


def metrics_response(registry: CollectorRegistry = REGISTRY) -> Response:
    return Response(generate_latest(registry), status=200, content_type=CONTENT_TYPE_LATEST)
