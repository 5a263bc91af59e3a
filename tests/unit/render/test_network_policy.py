"""The NetworkPolicy: ingress only on the ports the pod declares, from the sources that
need them (the golden files pin the bytes; these say which parts matter and why)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from cases.valid_resources import BOOTSTRAP, VALID_BY_ID, VALID_CASES, ValidCase, document
from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render import RenderDefaults, Rendered, render
from huleedu_operator.render.labels import selector_labels
from huleedu_operator.render.network_policy import NAMESPACE_NAME_LABEL

pytestmark = pytest.mark.unit

SCRAPER = {
    "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "monitoring"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}
SAME_NAMESPACE = {"podSelector": {}}


def render_spec(spec: dict[str, Any], defaults: RenderDefaults | None = None) -> Rendered:
    resource = HuleEduService.model_validate(document("svc", spec))
    return render(resource, defaults or RenderDefaults(kafka_bootstrap_servers=BOOTSTRAP))


def policy(result: Rendered) -> dict[str, Any]:
    (found,) = result.by_kind("NetworkPolicy")
    return found


def declared_ports(result: Rendered) -> set[int]:
    (deployment,) = result.by_kind("Deployment")
    (app,) = deployment["spec"]["template"]["spec"]["containers"]
    return {p["containerPort"] for p in app.get("ports", [])}


def allowed_ports(result: Rendered) -> set[int]:
    return {p["port"] for rule in policy(result)["spec"].get("ingress", []) for p in rule["ports"]}


def sources(result: Rendered, port: int) -> list[dict[str, Any]]:
    return [
        peer
        for rule in policy(result)["spec"].get("ingress", [])
        if any(p["port"] == port for p in rule["ports"])
        for peer in rule["from"]
    ]


WITH_POLICY = [
    c
    for c in VALID_CASES
    if c.spec().get("networkPolicy", {}).get("enabled", True)  # the opt-out case renders none
]


@pytest.mark.parametrize("case", WITH_POLICY, ids=lambda c: c.id)
def test_ingress_is_open_on_exactly_the_ports_the_pod_declares(case: ValidCase) -> None:
    result = render(case.resource(), case.defaults())
    assert allowed_ports(result) == declared_ports(result)
    body = policy(result)["spec"]
    assert body["policyTypes"] == ["Ingress"], "egress is never restricted"
    for rule in body.get("ingress", []):
        assert rule["ports"], "a rule without ports allows every port"
        assert rule["from"], "a rule without sources allows every source"
        assert all(p["protocol"] == "TCP" for p in rule["ports"])


@pytest.mark.parametrize("case", WITH_POLICY, ids=lambda c: c.id)
def test_the_policy_selects_the_services_pods_and_comes_before_them(case: ValidCase) -> None:
    resource = case.resource()
    result = render(resource, case.defaults())
    found = policy(result)
    assert found["spec"]["podSelector"] == {"matchLabels": selector_labels(resource)}
    assert found["metadata"]["name"] == resource.name
    kinds = [c["kind"] for c in result.children]
    assert kinds.index("NetworkPolicy") < kinds.index("Deployment")


def test_http_service_port_is_open_to_its_namespace_and_metrics_to_the_scraper() -> None:
    result = render_spec({"type": "http", "port": 8001, "metrics": {"port": 9100}})
    assert sources(result, 8001) == [SAME_NAMESPACE]
    assert sources(result, 9100) == [SCRAPER]


def test_metrics_on_the_service_port_admits_the_scraper_there_too() -> None:
    result = render_spec({"type": "http"})
    assert allowed_ports(result) == {8001}
    assert sources(result, 8001) == [SAME_NAMESPACE, SCRAPER]


def test_worker_admits_only_the_scraper_on_its_metrics_port() -> None:
    result = render_spec({"type": "worker", "kafka": {"topics": ["t"]}, "metrics": {"port": 9200}})
    rules = policy(result)["spec"]["ingress"]
    assert rules == [{"from": [SCRAPER], "ports": [{"port": 9200, "protocol": "TCP"}]}]


def test_worker_without_metrics_admits_nothing() -> None:
    result = render_spec(
        {
            "type": "worker",
            "kafka": {"topics": ["t"]},
            "metrics": {"enabled": False},
            "probes": {"enabled": False},
        }
    )
    body = policy(result)["spec"]
    # Ingress isolation with no rule: nothing may connect. No empty list either: the API
    # server drops it, and the stored object would then read as drift.
    assert body["policyTypes"] == ["Ingress"]
    assert "ingress" not in body


def test_ingress_from_is_added_to_every_declared_port() -> None:
    result = render(*_case("network-policy-ingress-from"))
    extra = [
        {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "ingress-nginx"}}},
        {
            "namespaceSelector": {"matchLabels": {"team": "grading"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "grader"}},
        },
        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"probe": "x"}}},
    ]
    assert sources(result, 8001) == [SAME_NAMESPACE, *extra]
    assert sources(result, 9100) == [SCRAPER, *extra]


def test_ingress_from_on_a_shared_port_is_listed_once() -> None:
    result = render_spec({"type": "http", "networkPolicy": {"ingressFrom": [{"podSelector": {}}]}})
    assert sources(result, 8001).count({"podSelector": {}}) == 2  # same namespace + extra
    assert len(sources(result, 8001)) == 3


def test_an_empty_match_labels_renders_as_select_all() -> None:
    # matchLabels: {} is dropped by the API server; rendering {} keeps the two equal.
    result = render_spec(
        {
            "type": "http",
            "networkPolicy": {"ingressFrom": [{"namespaceSelector": {"matchLabels": {}}}]},
        }
    )
    assert {"namespaceSelector": {}} in sources(result, 8001)


def test_opt_out_renders_no_policy() -> None:
    assert not render(*_case("network-policy-disabled")).by_kind("NetworkPolicy")


def test_operator_wide_switch_renders_no_policy() -> None:
    defaults = RenderDefaults(kafka_bootstrap_servers=BOOTSTRAP, network_policies=False)
    assert not render_spec({"type": "http"}, defaults).by_kind("NetworkPolicy")


def test_scraper_namespace_and_labels_come_from_the_operator() -> None:
    defaults = RenderDefaults(
        kafka_bootstrap_servers=BOOTSTRAP,
        scraper_namespace="observability",
        scraper_pod_selector=(("app", "vmagent"), ("tier", "metrics")),
    )
    result = render_spec({"type": "worker", "kafka": {"topics": ["t"]}}, defaults)
    assert sources(result, 9090) == [
        {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "observability"}},
            "podSelector": {"matchLabels": {"app": "vmagent", "tier": "metrics"}},
        }
    ]
    every_pod = dataclasses.replace(defaults, scraper_pod_selector=())
    result = render_spec({"type": "worker", "kafka": {"topics": ["t"]}}, every_pod)
    assert sources(result, 9090) == [
        {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "observability"}}}
    ]


def _case(case_id: str) -> tuple[HuleEduService, RenderDefaults]:
    case = VALID_BY_ID[case_id]
    return case.resource(), case.defaults()
