"""What the chart promises, checked on ``helm template`` output without a cluster.

The golden files pin the exact bytes; these tests say *why* those bytes are right: the
chart's CRD is the generated one, its env names are settings the operator reads, its
RBAC covers exactly the kinds the controller writes and nothing secret, its pod passes
the restricted Pod Security profile, HA switches peering on with distinct priorities,
and bad values fail at install time with a message naming the value.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from huleedu_operator.controller.kinds import CHILD_KINDS
from huleedu_operator.controller.namespaces import NamespaceSelection
from huleedu_operator.controller.settings import OperatorSettings
from support.helm import CHART, REPO, run_helm, template

ENV_PREFIX = "HULEEDU_OPERATOR_"
WRITE_VERBS = {"create", "patch", "delete"}
CHILD_VERBS = {"get", "list", "watch", "create", "patch", "delete"}
NAMESPACED = ("--set", "watchNamespaces={team-a,team-b}")
GLOBS = ("--set", "watchNamespaces={huleedu,e2e-*}")
EXCLUSIONS = ("--set", "watchNamespaces={!huleedu,!e2e-*}")
HA = ("--set", "replicaCount=2")


def manifests(*args: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(template(*args)) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def the(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = of_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    containers = the(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def env_of(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(docs)["env"]}


def grants(rules: list[dict[str, Any]]) -> Iterator[tuple[str, str, str, tuple[str, ...]]]:
    """(group, resource, verb, resourceNames) for every verb a rule list grants."""
    for rule in rules:
        names = tuple(rule.get("resourceNames", ()))
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                for verb in rule["verbs"]:
                    yield group, resource, verb, names


# --- packaging ----------------------------------------------------------------------


def test_helm_lint_strict_is_clean_in_every_mode() -> None:
    for extra in ((), NAMESPACED, GLOBS, EXCLUSIONS, HA, (*HA, *GLOBS)):
        out = run_helm("lint", "--strict", str(CHART), *extra).stdout
        assert "0 chart(s) failed" in out, out
        assert "[WARNING]" not in out, out
        assert "[ERROR]" not in out, out


def test_chart_crd_is_byte_identical_to_the_generated_crd() -> None:
    generated = REPO / "crds" / "huleedu.io_huleeduservices.yaml"
    shipped = CHART / "crds" / "huleedu.io_huleeduservices.yaml"
    assert shipped.read_bytes() == generated.read_bytes(), (
        "charts/huleedu-operator/crds/huleedu.io_huleeduservices.yaml differs from "
        "crds/huleedu.io_huleeduservices.yaml; run `make crd` (it writes both)"
    )


def test_chart_app_version_is_the_project_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == project, "Chart.yaml appVersion must equal pyproject version"
    image = container(manifests())["image"]
    assert image.endswith(f":{project}"), f"default image tag should be the appVersion: {image}"


@pytest.mark.parametrize(
    ("crd_file", "kind", "scope"),
    [
        ("kopf.dev_clusterkopfpeerings.yaml", "ClusterKopfPeering", "Cluster"),
        ("kopf.dev_kopfpeerings.yaml", "KopfPeering", "Namespaced"),
    ],
)
def test_peering_crds_have_the_shape_kopf_reads(crd_file: str, kind: str, scope: str) -> None:
    crd = yaml.safe_load((CHART / "crds" / crd_file).read_text())
    assert crd["spec"]["group"] == "kopf.dev"
    assert crd["spec"]["names"]["kind"] == kind
    assert crd["spec"]["scope"] == scope
    (version,) = crd["spec"]["versions"]
    assert version["name"] == "v1"
    assert version["served"]
    assert version["storage"]
    # kopf merge-patches the main object (no status subresource) with free-form keys.
    assert "subresources" not in version
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    assert status == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


# --- the operator's settings ----------------------------------------------------------


@pytest.mark.parametrize(
    "mode", [(), NAMESPACED, GLOBS, HA], ids=["default", "namespaced", "globs", "ha"]
)
def test_every_operator_env_var_is_a_setting_the_operator_reads(mode: tuple[str, ...]) -> None:
    fields = {f"{ENV_PREFIX}{name.upper()}" for name in OperatorSettings.model_fields}
    ours = {name for name in env_of(manifests(*mode)) if name.startswith(ENV_PREFIX)}
    assert ours, "the Deployment sets no operator settings"
    assert ours <= fields, f"env names the operator does not read: {sorted(ours - fields)}"


def test_values_reach_the_operator_as_env() -> None:
    env = env_of(
        manifests(
            *NAMESPACED,
            "--set",
            "operator.kafkaBootstrapServers=k1:9092\\,k2:9092",
            "--set",
            "operator.logLevel=DEBUG",
            "--set",
            "operator.workers=4",
            "--set",
            "operator.runtimeImage=registry.local/runtime:1",
        )
    )
    assert env[f"{ENV_PREFIX}NAMESPACES"] == "team-a,team-b"
    assert env[f"{ENV_PREFIX}KAFKA_BOOTSTRAP_SERVERS"] == "k1:9092,k2:9092"
    assert env[f"{ENV_PREFIX}LOG_LEVEL"] == "DEBUG"
    assert env[f"{ENV_PREFIX}WORKERS"] == "4"
    assert env[f"{ENV_PREFIX}RUNTIME_IMAGE"] == "registry.local/runtime:1"
    settings = OperatorSettings.model_validate(
        {
            k.removeprefix(ENV_PREFIX).lower(): v
            for k, v in env.items()
            if k.startswith(ENV_PREFIX) and isinstance(v, str)
        }
    )
    assert settings.namespaces == ["team-a", "team-b"]


def test_the_topic_check_is_off_unless_given_an_address() -> None:
    def settings_of(*args: str) -> OperatorSettings:
        env = env_of(manifests(*args))
        return OperatorSettings.model_validate(
            {
                k.removeprefix(ENV_PREFIX).lower(): v
                for k, v in env.items()
                if k.startswith(ENV_PREFIX) and isinstance(v, str)
            }
        )

    default = settings_of()
    assert default.topic_check_bootstrap_servers is None
    assert default.topic_check_interval_seconds == 60
    on = settings_of(
        "--set",
        "operator.topicCheck.bootstrapServers=kafka-external:9094",
        "--set",
        "operator.topicCheck.intervalSeconds=30",
    )
    assert on.topic_check_bootstrap_servers == "kafka-external:9094"
    assert on.topic_check_interval_seconds == 30


def test_network_policy_values_reach_the_operator_as_env() -> None:
    def settings_of(*args: str) -> OperatorSettings:
        env = env_of(manifests(*args))
        return OperatorSettings.model_validate(
            {
                k.removeprefix(ENV_PREFIX).lower(): v
                for k, v in env.items()
                if k.startswith(ENV_PREFIX) and isinstance(v, str)
            }
        )

    default = settings_of()
    assert default.network_policies is True
    assert default.scraper_namespace == "monitoring"
    assert default.scraper_pod_selector == {"app.kubernetes.io/name": "prometheus"}
    custom = settings_of(
        "--set",
        "operator.networkPolicies.enabled=false",
        "--set",
        "operator.networkPolicies.scraperNamespace=observability",
        "--set",
        "operator.networkPolicies.scraperPodSelector=app=vmagent\\,tier=metrics",
    )
    assert custom.network_policies is False
    assert custom.scraper_namespace == "observability"
    assert custom.scraper_pod_selector == {"app": "vmagent", "tier": "metrics"}
    every_pod = settings_of("--set", "operator.networkPolicies.scraperPodSelector=")
    assert every_pod.render_defaults(frozenset()).scraper_pod_selector == ()


def test_probe_and_ports_match_the_operator_settings() -> None:
    docs = manifests("--set", "operator.metricsPort=9100", "--set", "operator.livenessPort=9101")
    c = container(docs)
    env = env_of(docs)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"metrics": 9100, "healthz": 9101}
    assert env[f"{ENV_PREFIX}METRICS_PORT"] == "9100"
    assert env[f"{ENV_PREFIX}LIVENESS_PORT"] == "9101"
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    service = the(docs, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    pod_labels = the(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


# --- Pod Security ---------------------------------------------------------------------


def test_operator_pod_meets_the_restricted_pod_security_profile() -> None:
    pod = the(manifests(), "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's numeric user
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not pod.get("hostNetwork")
    assert not pod.get("hostPID")
    assert not pod.get("hostIPC")
    for volume in pod.get("volumes", []):
        assert "hostPath" not in volume
    (c,) = pod["containers"]
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc.get("privileged") is not True
    assert "ports" in c
    assert all("hostPort" not in p for p in c["ports"])
    assert c["resources"]["limits"]["memory"]
    assert c["resources"]["requests"]["cpu"]


# --- RBAC -----------------------------------------------------------------------------


def all_rules(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for d in docs if d["kind"] in ("Role", "ClusterRole") for r in d["rules"]]


@pytest.mark.parametrize(
    "mode",
    [(), NAMESPACED, GLOBS, HA, (*HA, *GLOBS)],
    ids=["default", "namespaced", "globs", "ha", "ha-globs"],
)
def test_no_rule_touches_secrets_or_uses_wildcards(mode: tuple[str, ...]) -> None:
    for group, resource, verb, _ in grants(all_rules(manifests(*mode))):
        assert resource != "secrets", f"{group}/{resource}: the operator never reads Secrets"
        assert "*" not in (group, resource, verb), f"wildcard grant {group}/{resource}/{verb}"
        assert verb not in {"escalate", "bind", "impersonate", "update"} or (
            resource == "huleeduservices/finalizers"
        ), f"{verb} on {group}/{resource} is not needed"


@pytest.mark.parametrize(
    "mode", [(), NAMESPACED, GLOBS], ids=["cluster-wide", "namespaced", "globs"]
)
def test_rbac_covers_every_child_kind_the_controller_writes(mode: tuple[str, ...]) -> None:
    docs = manifests(*mode)
    workload_roles = of_kind(docs, "Role") or of_kind(docs, "ClusterRole")
    for role in workload_roles:
        granted = {(g, r, v) for g, r, v, names in grants(role["rules"]) if not names}
        for kind in CHILD_KINDS:
            missing = {v for v in CHILD_VERBS if (kind.group, kind.plural, v) not in granted}
            assert not missing, f"{role['kind']} lacks {sorted(missing)} on {kind.plural}"
        # Every write verb in the role is on a child kind, the status, finalizers or Events.
        children = {(k.group, k.plural) for k in CHILD_KINDS}
        for group, resource, verb in granted:
            if verb in WRITE_VERBS | {"update"}:
                assert (group, resource) in children | {
                    ("huleedu.io", "huleeduservices/status"),
                    ("huleedu.io", "huleeduservices/finalizers"),
                    ("events.k8s.io", "events"),
                }, f"unexpected write: {verb} {group}/{resource}"


def test_namespaced_mode_grants_workloads_only_in_the_listed_namespaces() -> None:
    docs = manifests(*NAMESPACED)
    roles = of_kind(docs, "Role")
    bindings = of_kind(docs, "RoleBinding")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    sa = the(docs, "ServiceAccount")["metadata"]
    for binding in bindings:
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": sa["name"], "namespace": sa["namespace"]}
        ]
    # The cluster-wide part is only what cannot be namespaced: reading CRDs, and the
    # namespace list kopf's namespace observer reads in this mode.
    cluster = set(grants(the(docs, "ClusterRole")["rules"]))
    assert cluster == {
        ("apiextensions.k8s.io", "customresourcedefinitions", "list", ()),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch", ()),
        ("", "namespaces", "list", ()),
        ("", "namespaces", "watch", ()),
    }


def test_globs_or_exclusions_grant_cluster_wide_because_roles_need_known_namespaces() -> None:
    cluster_wide = set(grants(the(manifests(), "ClusterRole")["rules"]))
    for mode in (GLOBS, EXCLUSIONS):
        docs = manifests(*mode)
        assert not of_kind(docs, "Role")
        assert not of_kind(docs, "RoleBinding")
        assert the(docs, "ClusterRoleBinding")["roleRef"]["kind"] == "ClusterRole"
        # Everything cluster-wide mode grants, plus the namespace list kopf's namespace
        # observer reads to find the namespaces that match.
        assert set(grants(the(docs, "ClusterRole")["rules"])) == cluster_wide | {
            ("", "namespaces", "list", ()),
            ("", "namespaces", "watch", ()),
        }


def test_globs_and_exclusions_reach_the_operator_unchanged() -> None:
    env = env_of(manifests(*EXCLUSIONS))
    assert env[f"{ENV_PREFIX}NAMESPACES"] == "!huleedu,!e2e-*"
    settings = OperatorSettings.model_validate({"namespaces": env[f"{ENV_PREFIX}NAMESPACES"]})
    assert settings.namespace_selection().kopf_namespaces() == ["!huleedu, !e2e-*"]


@pytest.mark.parametrize(
    "entries",
    [[], ["team-a"], ["team-a", "team-b"], ["team-*"], ["team-?"], ["!huleedu"], ["a", "!b"]],
    ids=lambda e: ",".join(e) or "(empty)",
)
def test_the_chart_and_the_operator_agree_on_the_mode(entries: list[str]) -> None:
    """Roles only for a fixed list of names, and the peering object the operator uses."""
    args = ("--set", f"watchNamespaces={{{','.join(entries)}}}") if entries else ()
    docs = manifests(*args, "--set", "peering.enabled=true")
    selection = NamespaceSelection.parse(entries)
    assert bool(of_kind(docs, "Role")) == (selection.mode == "namespaces")
    assert bool(of_kind(docs, "ClusterKopfPeering")) == selection.clusterwide_peering
    assert bool(of_kind(docs, "KopfPeering")) == (not selection.clusterwide_peering)
    lists_namespaces = ("", "namespaces", "list", ()) in set(grants(all_rules(docs)))
    assert lists_namespaces == (selection.mode != "cluster")


def test_cluster_wide_mode_never_reads_namespaces() -> None:
    # kopf observes namespaces only when it serves a list of them.
    for mode in ((), HA):
        for _, resource, _, _ in grants(all_rules(manifests(*mode))):
            assert resource != "namespaces"


# --- HA -------------------------------------------------------------------------------


def test_one_replica_runs_standalone_with_a_recreate_rollout() -> None:
    docs = manifests()
    deployment = the(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    env = env_of(docs)
    assert f"{ENV_PREFIX}PEERING" not in env
    assert f"{ENV_PREFIX}PRIORITY" not in env
    assert not of_kind(docs, "ClusterKopfPeering")
    assert not [g for g in grants(all_rules(docs)) if g[0] == "kopf.dev"]


def test_replicas_peer_with_per_pod_priorities_in_cluster_wide_mode() -> None:
    docs = manifests(*HA)
    deployment = the(docs, "Deployment")
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    env = env_of(docs)
    peering = env[f"{ENV_PREFIX}PEERING"]
    assert env[f"{ENV_PREFIX}PRIORITY"] == "auto"
    assert env["POD_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}  # kopf identity
    assert the(docs, "ClusterKopfPeering")["metadata"]["name"] == peering
    kopf_grants = {(r, v, n) for g, r, v, n in grants(all_rules(docs)) if g == "kopf.dev"}
    assert kopf_grants == {
        ("clusterkopfpeerings", "list", ()),
        ("clusterkopfpeerings", "watch", ()),
        ("clusterkopfpeerings", "patch", (peering,)),
    }


def test_replicas_peer_cluster_wide_when_namespaces_are_globs() -> None:
    # kopf would keep one KopfPeering per served namespace, which cannot be created for
    # namespaces that appear later: the operator uses the ClusterKopfPeering instead.
    docs = manifests(*HA, *GLOBS)
    peering = env_of(docs)[f"{ENV_PREFIX}PEERING"]
    assert the(docs, "ClusterKopfPeering")["metadata"]["name"] == peering
    assert not of_kind(docs, "KopfPeering")
    kopf_grants = {(r, v, n) for g, r, v, n in grants(all_rules(docs)) if g == "kopf.dev"}
    assert kopf_grants == {
        ("clusterkopfpeerings", "list", ()),
        ("clusterkopfpeerings", "watch", ()),
        ("clusterkopfpeerings", "patch", (peering,)),
    }


def test_replicas_peer_per_namespace_in_namespaced_mode() -> None:
    docs = manifests(*HA, *NAMESPACED)
    peering = env_of(docs)[f"{ENV_PREFIX}PEERING"]
    objects = of_kind(docs, "KopfPeering")
    assert sorted(o["metadata"]["namespace"] for o in objects) == ["team-a", "team-b"]
    assert {o["metadata"]["name"] for o in objects} == {peering}
    assert not of_kind(docs, "ClusterKopfPeering")
    for role in of_kind(docs, "Role"):
        assert ("kopf.dev", "kopfpeerings", "patch", (peering,)) in set(grants(role["rules"]))


# --- bad values fail at install time, naming the value ---------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("replicaCount=0", "/replicaCount"),
        ("operator.logLevel=LOUD", "/operator/logLevel"),
        ("operator.logFormat=xml", "/operator/logFormat"),
        ("operator.workers=0", "/operator/workers"),
        ("operator.metricsPort=70000", "/operator/metricsPort"),
        ("operator.kafkaBootstrapServers=kafka", "/operator/kafkaBootstrapServers"),
        (
            "operator.topicCheck.bootstrapServers=kafka",
            "/operator/topicCheck/bootstrapServers",
        ),
        ("operator.topicCheck.intervalSeconds=0", "/operator/topicCheck/intervalSeconds"),
        ("watchNamespaces={Team_A}", "/watchNamespaces/0"),
        ("watchNamespaces={team_*}", "/watchNamespaces/0"),
        ("watchNamespaces={team-[ab]}", "/watchNamespaces/0"),
        ("watchNamespaces={a,!}", "/watchNamespaces/1"),
        ("watchNamespaces={!!a}", "/watchNamespaces/0"),
        ("peering.priority=highest", "/peering/priority"),
        (
            "operator.networkPolicies.scraperNamespace=Monitoring",
            "/operator/networkPolicies/scraperNamespace",
        ),
        (
            "operator.networkPolicies.scraperPodSelector=app",
            "/operator/networkPolicies/scraperPodSelector",
        ),
        ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
        ("replicaCuont=2", "replicaCuont"),
    ],
)
def test_schema_rejects_a_bad_value_and_names_it(value: str, expected: str) -> None:
    proc = run_helm("template", "x", str(CHART), "--set", value, check=False)
    assert proc.returncode != 0, f"--set {value} was accepted"
    assert expected in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (("replicaCount=2", "peering.priority=5"), "set peering.priority=auto"),
        (("podDisruptionBudget.enabled=true",), "would block every node drain"),
        (
            ("metrics.serviceMonitor.enabled=true", "metrics.service.enabled=false"),
            "needs metrics.service.enabled",
        ),
        (("serviceAccount.create=false",), "serviceAccount.name is required"),
    ],
)
def test_inconsistent_values_fail_with_the_fix(values: tuple[str, ...], expected: str) -> None:
    args = [a for v in values for a in ("--set", v)]
    proc = run_helm("template", "x", str(CHART), *args, check=False)
    assert proc.returncode != 0
    assert expected in proc.stderr, proc.stderr


def test_one_replica_may_pin_an_integer_priority() -> None:
    env = env_of(manifests("--set", "peering.enabled=true", "--set", "peering.priority=100"))
    assert env[f"{ENV_PREFIX}PRIORITY"] == "100"


def test_values_file_documents_every_key() -> None:
    # "Documented line by line": every value is preceded by a comment, or sits inside a
    # map whose key is (e.g. the example figures under `resources:`).
    lines = (CHART / "values.yaml").read_text().splitlines()
    ancestors: list[tuple[int, bool]] = []  # (indent, documented) of enclosing keys
    undocumented = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("- "):
            continue
        indent = len(line) - len(line.lstrip())
        while ancestors and ancestors[-1][0] >= indent:
            ancestors.pop()
        documented = i > 0 and lines[i - 1].strip().startswith("#")
        is_parent = stripped.endswith(":")
        if not is_parent and not documented and not any(d for _, d in ancestors):
            undocumented.append(stripped)
        if is_parent:
            ancestors.append((indent, documented))
    assert not undocumented, f"values.yaml keys without a comment: {undocumented}"


def test_chart_readme_lists_every_granted_permission() -> None:
    readme = (CHART / "README.md").read_text()
    docs = manifests(*HA) + manifests(*HA, *NAMESPACED) + manifests(*HA, *GLOBS)
    for group, resource, _, _ in grants(all_rules(docs)):
        assert f"`{resource}`" in readme, (
            f"README.md does not explain the grant on {group or 'core'}/{resource}"
        )
