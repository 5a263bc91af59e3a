"""Startup probe, topology spread, volumes and exposure, stated as behaviour (the golden
files pin the exact bytes)."""

from __future__ import annotations

from typing import Any

import pytest

from cases.valid_resources import VALID_BY_ID, document
from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render import Capability, RenderDefaults, Rendered, render

pytestmark = pytest.mark.unit

IMAGE = "ghcr.io/huleedu/content-service:1.4.2"


def http(**spec: Any) -> HuleEduService:
    return HuleEduService.model_validate(
        document("content-service", {"type": "http", "image": IMAGE, **spec})
    )


def pod_spec(result: Rendered) -> dict[str, Any]:
    (deployment,) = result.by_kind("Deployment")
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def app(result: Rendered) -> dict[str, Any]:
    (container,) = pod_spec(result)["containers"]
    return dict(container)


# --- startup probe -----------------------------------------------------------------


def test_no_startup_probe_unless_asked_for() -> None:
    assert "startupProbe" not in app(render(http()))


def test_startup_probe_defaults_to_the_liveness_endpoint() -> None:
    probe = app(render(http(probes={"startup": {"failureThreshold": 30}})))["startupProbe"]
    assert probe["httpGet"] == {"path": "/healthz/live", "port": 8001, "scheme": "HTTP"}
    assert probe["failureThreshold"] == 30


# --- topology spread ---------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [{}, {"replicas": 1}, {"replicas": 5, "autoscaling": {"maxReplicas": 1}}],
    ids=["default-replicas", "one-replica", "autoscaled-to-one"],
)
def test_one_pod_gets_no_topology_spread(spec: dict[str, Any]) -> None:
    assert "topologySpreadConstraints" not in pod_spec(render(http(**spec)))


@pytest.mark.parametrize(
    "spec",
    [{"replicas": 2}, {"autoscaling": {"minReplicas": 1, "maxReplicas": 3}}],
    ids=["two-replicas", "autoscaled-to-three"],
)
def test_several_pods_spread_over_nodes_and_zones_as_a_preference(spec: dict[str, Any]) -> None:
    result = render(http(**spec))
    (deployment,) = result.by_kind("Deployment")
    constraints = pod_spec(result)["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in constraints] == [
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    ]
    for c in constraints:
        assert c["whenUnsatisfiable"] == "ScheduleAnyway"
        assert c["maxSkew"] == 1
        assert c["labelSelector"] == deployment["spec"]["selector"]
        assert c["matchLabelKeys"] == ["pod-template-hash"]


def test_topology_spread_can_be_turned_off() -> None:
    case = VALID_BY_ID["topology-spread-disabled"]
    assert "topologySpreadConstraints" not in pod_spec(render(case.resource(), case.defaults()))


def test_given_constraints_replace_the_default_for_any_replica_count() -> None:
    result = render(
        http(topologySpread={"constraints": [{"topologyKey": "example.com/rack", "maxSkew": 2}]})
    )
    (constraint,) = pod_spec(result)["topologySpreadConstraints"]
    assert constraint["topologyKey"] == "example.com/rack"
    assert constraint["maxSkew"] == 2
    assert "minDomains" not in constraint


def test_defaults_do_not_depend_on_the_render_defaults() -> None:
    # Spread is a property of the spec alone: a capability appearing changes nothing.
    resource = http(replicas=2)
    assert pod_spec(render(resource)) == pod_spec(render(resource, RenderDefaults()))


# --- volumes -----------------------------------------------------------------------


def test_a_new_claim_is_a_child_owned_by_the_resource_and_rendered_before_the_deployment() -> None:
    case = VALID_BY_ID["volumes-every-source"]
    result = render(case.resource(uid="u-1"), case.defaults())
    kinds = [c["kind"] for c in result.children]
    assert kinds.index("PersistentVolumeClaim") < kinds.index("Deployment")
    (claim,) = result.by_kind("PersistentVolumeClaim")
    assert claim["metadata"]["name"] == "content-service-data"
    assert claim["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"] == {"requests": {"storage": "5Gi"}}


def test_an_existing_claim_is_only_referenced() -> None:
    case = VALID_BY_ID["worker-volume-existing-claim"]
    result = render(case.resource(), case.defaults())
    assert not result.by_kind("PersistentVolumeClaim")
    volumes = {v["name"]: v for v in pod_spec(result)["volumes"]}
    assert volumes["state"]["persistentVolumeClaim"] == {"claimName": "essay-state"}


def test_files_are_read_only_and_every_mount_reaches_the_migrations_too() -> None:
    case = VALID_BY_ID["volumes-every-source"]
    result = render(case.resource(), case.defaults())
    mounts = {m["name"]: m for m in app(result)["volumeMounts"]}
    assert mounts["templates"]["readOnly"]
    assert mounts["signing-key"]["readOnly"]
    assert mounts["uploads"]["readOnly"]
    assert "readOnly" not in mounts["data"]
    assert "readOnly" not in mounts["cache"]
    (migrations,) = pod_spec(result)["initContainers"]
    assert migrations["volumeMounts"] == app(result)["volumeMounts"]
    # The root filesystem stays read-only; the volumes are where the app may write.
    assert app(result)["securityContext"]["readOnlyRootFilesystem"] is True


def test_claims_get_fs_group_change_policy_and_a_single_pod_is_recreated() -> None:
    case = VALID_BY_ID["volumes-every-source"]
    result = render(case.resource(), case.defaults())
    security = pod_spec(result)["securityContext"]
    assert security["fsGroup"] == 10001
    assert security["fsGroupChangePolicy"] == "OnRootMismatch"
    (deployment,) = result.by_kind("Deployment")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_a_shared_claim_on_several_replicas_keeps_the_rolling_update() -> None:
    case = VALID_BY_ID["volumes-shared-claim-several-replicas"]
    (deployment,) = render(case.resource(), case.defaults()).by_kind("Deployment")
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"


def test_no_volumes_no_change_to_the_pod() -> None:
    security = pod_spec(render(http()))["securityContext"]
    assert "fsGroupChangePolicy" not in security
    assert [v["name"] for v in pod_spec(render(http()))["volumes"]] == ["tmp"]


# --- exposure ----------------------------------------------------------------------


def _exposed(case_id: str) -> dict[str, Any]:
    case = VALID_BY_ID[case_id]
    result = render(case.resource(), case.defaults())
    (child,) = result.by_kind("Ingress") + result.by_kind("HTTPRoute")
    return child


def test_without_the_gateway_api_an_ingress_routes_to_the_service_http_port() -> None:
    ingress = _exposed("http-exposed-ingress")
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    assert "ingressClassName" not in ingress["spec"]
    assert ingress["spec"]["tls"] == [
        {"hosts": ["content.huleedu.example"], "secretName": "content.tls"}
    ]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "content.huleedu.example"
    (path,) = rule["http"]["paths"]
    assert path == {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": "content-service", "port": {"name": "http"}}},
    }


def test_the_gateway_api_without_a_configured_gateway_still_gets_an_ingress() -> None:
    ingress = _exposed("http-exposed-ingress-class-and-paths")
    assert ingress["kind"] == "Ingress"
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert [p["pathType"] for p in ingress["spec"]["rules"][0]["http"]["paths"]] == [
        "Prefix",
        "Exact",
    ]


def test_with_the_gateway_api_and_a_gateway_an_http_route_attaches_to_it() -> None:
    route = _exposed("http-exposed-httproute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "huleedu",
            "namespace": "gateway-system",
        }
    ]
    assert route["spec"]["hostnames"] == ["*.content.huleedu.example"]
    (rule,) = route["spec"]["rules"]
    assert rule["matches"] == [
        {"path": {"type": "PathPrefix", "value": "/v1/content/"}},
        {"path": {"type": "Exact", "value": "/healthz"}},
    ]
    assert rule["backendRefs"] == [{"name": "content-service", "port": 8001}]


def test_no_expose_no_route_and_no_ingress() -> None:
    result = render(http(), RenderDefaults(capabilities=frozenset(Capability)))
    assert not result.by_kind("Ingress")
    assert not result.by_kind("HTTPRoute")


def test_the_operator_settings_choose_the_gateway_and_the_ingress_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huleedu_operator.controller.settings import OperatorSettings

    monkeypatch.setenv("HULEEDU_OPERATOR_GATEWAY_NAME", "edge")
    monkeypatch.setenv("HULEEDU_OPERATOR_GATEWAY_NAMESPACE", "gateway-system")
    monkeypatch.setenv("HULEEDU_OPERATOR_INGRESS_CLASS_NAME", "nginx")
    settings = OperatorSettings()
    resource = http(expose={"host": "a.example"})
    (route,) = render(
        resource, settings.render_defaults(frozenset({Capability.GATEWAY_API}))
    ).by_kind("HTTPRoute")
    assert route["spec"]["parentRefs"][0]["name"] == "edge"
    assert route["spec"]["parentRefs"][0]["namespace"] == "gateway-system"
    (ingress,) = render(resource, settings.render_defaults(frozenset())).by_kind("Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"


def test_the_render_cli_renders_an_http_route_for_a_named_gateway(tmp_path: Any) -> None:
    import yaml
    from click.testing import CliRunner

    from huleedu_operator.cli import main

    path = tmp_path / "svc.yaml"
    path.write_text(
        yaml.safe_dump(
            document("content-service", {"type": "http", "expose": {"host": "a.example"}})
        )
    )
    args = ["render", "-f", str(path), "--capability", "gateway-api"]
    routed = CliRunner().invoke(main, [*args, "--gateway-name", "edge"])
    assert routed.exit_code == 0, routed.output
    assert "kind: HTTPRoute" in routed.output
    plain = CliRunner().invoke(main, args, env={"HULEEDU_OPERATOR_GATEWAY_NAME": ""})
    assert "kind: Ingress" in plain.output
