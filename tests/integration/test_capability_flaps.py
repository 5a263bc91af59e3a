"""Optional APIs coming and going (issue "Safe on a shared cluster", item 4).

The Prometheus Operator's CRDs appear: resources get ServiceMonitors and lose their
``prometheus.io/*`` pod annotations (the one pod-template change a capability causes).
They vanish briefly: nothing changes in any pod template, and the ServiceMonitors are
re-created when the CRDs return. They stay gone past the grace period: scraping falls
back to annotations. The operator here runs with a 20 s grace period (default 600 s).

The optional kinds are streamed by the operator's own loops, started while their CRDs
are served and stopped the moment they go: kopf's watch of a kind whose CRD had just gone
answered 404 before kopf's discovery noticed, and that error stopped the whole operator
(CI, twice, under load: "ServiceMonitor not re-created").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from support.operator import OperatorProcess, apply, exists, hes, ready

REPO = Path(__file__).resolve().parents[2]
STANDIN_CRDS = REPO / "tests" / "fixtures" / "crds"
MONITORING_CRDS = [
    str(STANDIN_CRDS / "monitoring.coreos.com_servicemonitors.yaml"),
    str(STANDIN_CRDS / "monitoring.coreos.com_podmonitors.yaml"),
]
GRACE = 20.0


def monitoring_crds(kubectl: Callable[..., Any], verb: str) -> None:
    for path in MONITORING_CRDS:
        args = ("--ignore-not-found", "--wait=true") if verb == "delete" else ()
        kubectl(verb, "-f", path, *args)


@pytest.fixture(scope="module")
def operator(
    kubeconfig: str,
    crd_installed: None,
    kubectl: Callable[..., Any],
    tmp_path_factory: Any,
    wait_until: Callable[..., Any],
) -> Iterator[OperatorProcess]:
    # Start without the Prometheus Operator: with it, its loss would count only after the
    # grace period, and the test's first step would wait for that.
    monitoring_crds(kubectl, "delete")
    log_path = tmp_path_factory.mktemp("operator") / "operator.log"
    proc = OperatorProcess(kubeconfig, log_path, capability_grace_seconds=str(GRACE))
    wait_until(proc.alive, timeout=60, message="operator liveness endpoint never answered")
    yield proc
    proc.stop()
    print(f"--- operator log tail ---\n{log_path.read_text()[-2000:]}")


def test_a_brief_crd_flap_changes_no_pod_template_and_a_long_loss_falls_back(
    operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    apps_v1: client.AppsV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
) -> None:
    def deployment() -> Any:
        return apps_v1.read_namespaced_deployment("scraped", namespace)

    def annotations() -> dict[str, str]:
        return dict(deployment().spec.template.metadata.annotations or {})

    def watches() -> float:
        return operator.metric('huleedu_operator_watches{feed="servicemonitors"}')

    def monitor_exists() -> bool:
        return exists(
            lambda: custom_objects.get_namespaced_custom_object(
                "monitoring.coreos.com", "v1", namespace, "servicemonitors", "scraped"
            )
        )

    try:
        apply(kubectl, hes("scraped", namespace, type="http", image="example/m:1.0"))
        wait_until(lambda: ready(custom_objects, namespace, "scraped"), timeout=90)
        assert annotations().get("prometheus.io/scrape") == "true"

        assert watches() == 0, "a loop for a kind whose CRD is not served"

        monitoring_crds(kubectl, "apply")
        wait_until(monitor_exists, timeout=60, message="ServiceMonitor never appeared")
        wait_until(lambda: "prometheus.io/scrape" not in annotations(), timeout=30)
        generation = deployment().metadata.generation
        assert watches() >= 1, "ServiceMonitors are not streamed by the operator's own loop"

        # A flap shorter than the grace period.
        monitoring_crds(kubectl, "delete")
        lost = time.monotonic()
        wait_until(lambda: watches() == 0, timeout=10, message="the loop outlived its CRD")
        time.sleep(5)
        monitoring_crds(kubectl, "apply")
        wait_until(monitor_exists, timeout=60, message="ServiceMonitor not re-created")
        assert time.monotonic() - lost < GRACE, "the flap took longer than the grace period"
        assert deployment().metadata.generation == generation, "the pod template changed"
        assert "prometheus.io/scrape" not in annotations()

        # A loss longer than the grace period: scraping falls back to annotations.
        monitoring_crds(kubectl, "delete")
        lost = time.monotonic()
        wait_until(
            lambda: annotations().get("prometheus.io/scrape") == "true",
            timeout=GRACE + 60,
            message="annotations did not come back after the grace period",
        )
        assert time.monotonic() - lost >= GRACE - 1, "fell back before the grace period ended"
        assert operator.running(), operator.log_tail()
    finally:
        monitoring_crds(kubectl, "delete")
