"""The plan: the facts of one resource every child agrees on, derived once.

Each fact is checked against the children that carry it, for every case of the render
matrix, so a renderer that went back to deriving a fact itself (and got it differently)
fails here, not only in a golden diff.
"""

from __future__ import annotations

from typing import Any

import pytest

from cases.valid_resources import VALID_CASES, ValidCase
from huleedu_operator.api.identity import CONFIG_CHECKSUM_ANNOTATION
from huleedu_operator.render import (
    Rendered,
    effective_image,
    kafka_settings,
    plan,
    render,
    selector_string,
    service_url,
)

pytestmark = pytest.mark.unit

CASES = pytest.mark.parametrize("case", VALID_CASES, ids=lambda c: c.id)


def the(rendered: Rendered, kind: str) -> dict[str, Any]:
    (child,) = rendered.by_kind(kind)
    return child


def app_container(rendered: Rendered) -> dict[str, Any]:
    container: dict[str, Any] = the(rendered, "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


@CASES
def test_render_returns_the_plan_it_rendered_from(case: ValidCase) -> None:
    resource, defaults = case.resource(), case.defaults()
    assert render(resource, defaults).plan == plan(resource, defaults)


@CASES
def test_the_public_helpers_answer_as_the_plan(case: ValidCase) -> None:
    resource, defaults = case.resource(), case.defaults()
    made = plan(resource, defaults)
    assert effective_image(resource, defaults) == made.image
    assert selector_string(resource) == made.selector
    assert kafka_settings(resource, defaults) == made.kafka_settings
    if resource.spec.type == "http":
        assert service_url(resource) == made.url
    else:
        assert made.url is None


@CASES
def test_image_labels_and_selector_are_the_deployments(case: ValidCase) -> None:
    rendered = render(case.resource(), case.defaults())
    made = rendered.plan
    deployment = the(rendered, "Deployment")
    assert app_container(rendered)["image"] == made.image
    assert deployment["spec"]["selector"]["matchLabels"] == made.selector_labels
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert made.selector == ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    for child in rendered.children:
        assert made.labels.items() <= child["metadata"]["labels"].items(), child["kind"]


@CASES
def test_the_url_names_the_service_and_its_port(case: ValidCase) -> None:
    rendered = render(case.resource(), case.defaults())
    made = rendered.plan
    services = rendered.by_kind("Service")
    if made.url is None:
        assert not services
        assert made.app_port is None
        return
    (service,) = services
    meta = service["metadata"]
    (http,) = [p for p in service["spec"]["ports"] if p["name"] == "http"]
    assert http["port"] == made.app_port
    assert made.url == f"http://{meta['name']}.{meta['namespace']}.svc:{made.app_port}"


@CASES
def test_every_child_agrees_on_the_metrics_port(case: ValidCase) -> None:
    rendered = render(case.resource(), case.defaults())
    made = rendered.plan
    container = app_container(rendered)
    declared = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert declared.get("metrics") == made.separate_metrics_port
    separate = made.separate_metrics_port
    assert env.get("METRICS_PORT") == (None if separate is None else str(separate))
    for service in rendered.by_kind("Service"):
        ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
        assert ports.get("metrics") == made.separate_metrics_port
    for monitor in [*rendered.by_kind("ServiceMonitor"), *rendered.by_kind("PodMonitor")]:
        spec = monitor["spec"]
        (endpoint,) = spec.get("endpoints") or spec["podMetricsEndpoints"]
        assert endpoint["port"] == made.metrics_port_name
        assert declared[made.metrics_port_name] == made.metrics_port
    assert made.metrics_shares_app_port == (made.metrics_port_name == "http")


@CASES
def test_kafka_settings_scraping_and_replicas_are_the_childrens(case: ValidCase) -> None:
    rendered = render(case.resource(), case.defaults())
    made = rendered.plan
    configmaps = rendered.by_kind("ConfigMap")
    assert [c["data"] for c in configmaps] == ([made.kafka_settings] if made.kafka_settings else [])
    deployment = the(rendered, "Deployment")
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    assert (CONFIG_CHECKSUM_ANNOTATION in annotations) == bool(made.kafka_settings)
    assert made.scrape_annotations.items() <= annotations.items()
    for service in rendered.by_kind("Service"):
        assert service["metadata"].get("annotations", {}) == made.scrape_annotations
    assert made.monitor == bool(
        rendered.by_kind("ServiceMonitor") or rendered.by_kind("PodMonitor")
    )
    assert not (made.monitor and made.scrape_annotations), "one way of scraping, not both"
    autoscalers = rendered.by_kind("HorizontalPodAutoscaler") + rendered.by_kind("ScaledObject")
    assert made.autoscaler_owns_replicas == bool(autoscalers)
    assert ("replicas" in deployment["spec"]) != made.autoscaler_owns_replicas
