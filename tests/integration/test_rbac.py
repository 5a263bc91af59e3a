"""The chart's RBAC is sufficient and minimal, proven on the real API server.

Sufficient: the chart is installed, a token for its ServiceAccount is minted through the
TokenRequest API (``kubectl create token``), and the operator runs as a local process
whose kubeconfig holds nothing but that token. It then goes through the operator's
scenarios: an http service and a worker get their children and become Ready (status),
an update reaches the Deployment, deleted children come back (drift), Events are posted,
and deleting the resources garbage-collects the children. kopf peering is switched on
(with an integer priority, as one replica may have) so the peering grants are exercised
too. The operator log must not contain a single permission error; the Events carry this
process's unique instance name, so the work cannot have been done by another operator.

Minimal: ``kubectl auth can-i --as=system:serviceaccount:<ns>:<sa>`` shows what the
ServiceAccount must not do, next to a few things it must do (so the checks are not
vacuously "no").

Three releases: cluster-wide (``watchNamespaces`` empty; checked with ``can-i`` only, as
an operator serving the whole cluster would act in the in-cluster operator's
namespaces), pattern mode (``!huleedu,!e2e-*``: cluster-wide RBAC, and the operator run
here keeps out of those namespaces and out of one more it is told to exclude) and
namespaced. The releases' own operator pods are never scheduled (a node selector no
node has): only their ServiceAccounts and RBAC are used, so on a cluster with a real
node no extra operator acts anywhere.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from support.helm import CHART, run_helm
from support.operator import IN_CLUSTER_NAMESPACES
from support.ports import free_port

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
OPERATOR_EXE = Path(sys.executable).parent / "huleedu-operator"
# An RBAC denial reads 'is forbidden: User "system:serviceaccount:..." cannot ...'.
RBAC_DENIAL = re.compile(r'forbidden: User \\?"[^"\\]+\\?" cannot')


# The chart's watchNamespaces per release; "namespaced" gets a fresh namespace.
OUTSIDE_IN_CLUSTER = [f"!{ns}" for ns in IN_CLUSTER_NAMESPACES]
MODES = ("cluster", "patterns", "namespaced")
# Keeps a release's own operator pod Pending: its ServiceAccount is what the test uses.
NEVER_SCHEDULED = "nodeSelector.huleedu\\.test/never-scheduled=true"


@dataclass
class Install:
    release: str
    namespace: str  # where the operator's ServiceAccount lives
    account: str  # its ServiceAccount (also the peering name)
    watch: list[str]  # the chart's watchNamespaces; empty: cluster-wide
    watched: list[str]  # literal workload namespaces (namespaced mode); else empty

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.account}"


def make_namespace(core_v1: client.CoreV1Api, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    core_v1.create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(name=name, labels={"huleedu.test/ephemeral": "true"})
        )
    )
    return name


def token_kubeconfig(kubectl: Kubectl, install: Install, path: Path) -> Path:
    """A kubeconfig for the API server in use whose only credential is a bound token of
    the chart's ServiceAccount (TokenRequest API)."""
    token = kubectl(
        "create", "token", install.account, "-n", install.namespace, "--duration=2h"
    ).stdout.strip()
    admin = json.loads(kubectl("config", "view", "--minify", "--flatten", "-o", "json").stdout)
    cluster = admin["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "target", "cluster": cluster}],
        "users": [{"name": install.account, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "target", "user": install.account}}],
        "current-context": "sa",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


class OperatorAsServiceAccount:
    """``huleedu-operator run`` as a local process, authenticated only by the token."""

    def __init__(
        self, kubeconfig: Path, install: Install, log_path: Path, namespaces: list[str]
    ) -> None:
        self.instance = f"rbac-proof-{uuid.uuid4().hex[:8]}"
        self.liveness_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HULEEDU_OPERATOR_")}
        env.pop("KUBERNETES_SERVICE_HOST", None)  # never fall back to in-cluster config
        env.update(
            {
                "KUBECONFIG": str(kubeconfig),
                "HULEEDU_OPERATOR_NAMESPACES": ",".join(namespaces),
                "HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS": "kafka.example.svc:9092",
                "HULEEDU_OPERATOR_METRICS_PORT": str(free_port()),
                "HULEEDU_OPERATOR_LIVENESS_PORT": str(self.liveness_port),
                "HULEEDU_OPERATOR_BIND_ADDRESS": "127.0.0.1",
                "HULEEDU_OPERATOR_INSTANCE_NAME": self.instance,
                "HULEEDU_OPERATOR_PEERING": install.account,
                "HULEEDU_OPERATOR_PRIORITY": "0",
                "HULEEDU_OPERATOR_LOG_FORMAT": "console",
            }
        )
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [str(OPERATOR_EXE), "run"], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def alive(self) -> bool:
        assert self.proc.poll() is None, f"operator exited:\n{self.log()[-3000:]}"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.liveness_port}/healthz", timeout=2)
        except OSError:
            return False
        return True

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def permission_errors(self) -> list[str]:
        # kopf reports the denials it tolerates as "Not enough permissions". Other 403s
        # (e.g. writing into a namespace that is being deleted) are not about RBAC.
        return [
            line
            for line in self.log().splitlines()
            if RBAC_DENIAL.search(line) or "Not enough permissions" in line
        ]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


@pytest.fixture(scope="module")
def installs(core_v1: client.CoreV1Api, kubeconfig: str) -> Iterator[dict[str, Install]]:
    """Three releases with peering on: cluster-wide, pattern mode, and namespaced to one
    namespace."""
    created: list[str] = []
    made: dict[str, Install] = {}
    try:
        for mode in MODES:
            home = make_namespace(core_v1, f"rbac-{mode}-op")
            created.append(home)
            watched = []
            watch = OUTSIDE_IN_CLUSTER if mode == "patterns" else []
            if mode == "namespaced":
                watched = watch = [make_namespace(core_v1, "rbac-team")]
                created += watched
            release = f"rbac-{uuid.uuid4().hex[:6]}"
            args = ["--set", "peering.enabled=true", "--set", "peering.priority=0"]
            args += ["--set-string", NEVER_SCHEDULED]
            if watch:
                args += ["--set", f"watchNamespaces={{{','.join(watch)}}}"]
            # No --wait: the release's pod stays Pending by design; helm has created the
            # ServiceAccount and RBAC when it returns.
            run_helm(
                "install",
                release,
                str(CHART),
                "--namespace",
                home,
                "--timeout",
                "120s",
                *args,
                kubeconfig=kubeconfig,
            )
            made[mode] = Install(release, home, f"{release}-huleedu-operator", watch, watched)
        yield made
    finally:
        for install in made.values():
            run_helm(
                "uninstall",
                install.release,
                "--namespace",
                install.namespace,
                "--wait",
                check=False,
                kubeconfig=kubeconfig,
            )
        for name in created:
            core_v1.delete_namespace(name, propagation_policy="Background")


@pytest.fixture
def run_as_service_account(
    kubectl: Kubectl,
    tmp_path: Path,
    wait_until: Callable[..., Any],
) -> Iterator[Callable[[Install], OperatorAsServiceAccount]]:
    started: list[OperatorAsServiceAccount] = []

    def start(install: Install, namespaces: list[str] | None = None) -> OperatorAsServiceAccount:
        config = token_kubeconfig(kubectl, install, tmp_path / f"{install.release}.kubeconfig")
        served = install.watch if namespaces is None else namespaces
        operator = OperatorAsServiceAccount(config, install, tmp_path / "operator.log", served)
        started.append(operator)
        wait_until(operator.alive, timeout=60, message="the operator never answered /healthz")
        return operator

    yield start
    for operator in started:
        operator.stop()
        print(f"--- operator log tail ---\n{operator.log()[-2000:]}")


# --- helpers ----------------------------------------------------------------------------


def hes(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "huleedu.io/v1alpha1",
        "kind": "HuleEduService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def apply(kubectl: Kubectl, obj: dict[str, Any]) -> None:
    kubectl("apply", "--server-side", "--field-manager=test", "-f", "-", input=yaml.safe_dump(obj))


def ready(custom_objects: client.CustomObjectsApi, namespace: str, name: str) -> bool:
    obj = custom_objects.get_namespaced_custom_object(
        "huleedu.io", "v1alpha1", namespace, "huleeduservices", name
    )
    status = obj.get("status") or {}
    conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
    return (
        conditions.get("Ready") == "True"
        and status.get("observedGeneration") == obj["metadata"]["generation"]
    )


def gone(fn: Callable[[], Any]) -> bool:
    try:
        fn()
    except client.ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


def events_by(
    custom_objects: client.CustomObjectsApi, namespace: str, instance: str
) -> list[dict[str, Any]]:
    # Raw dicts: the typed EventsV1Api refuses core Events that have no eventTime.
    events = custom_objects.list_namespaced_custom_object(
        "events.k8s.io", "v1", namespace, "events"
    )["items"]
    return [e for e in events if e.get("reportingInstance") == instance]


def can_i(kubectl: Kubectl, install: Install, *args: str) -> bool:
    proc = kubectl("auth", "can-i", *args, f"--as={install.user}", check=False)
    answer = proc.stdout.strip()
    assert answer in ("yes", "no"), f"kubectl auth can-i {args}: {proc.stderr}"
    return answer == "yes"


def run_scenarios(
    operator: OperatorAsServiceAccount,
    namespace: str,
    kubectl: Kubectl,
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    api_client: client.ApiClient,
    wait_until: Callable[..., Any],
) -> None:
    """Create, status, update, drift, Events and deletion, through ``operator``."""
    apply(
        kubectl, hes("web", namespace, type="http", image="example/web:1.0", replicas=2, port=8001)
    )
    apply(
        kubectl,
        hes(
            "jobs",
            namespace,
            type="worker",
            image="example/jobs:1.0",
            kafka={"topics": ["huleedu.jobs.v1"]},
        ),
    )
    for name in ("web", "jobs"):
        wait_until(
            lambda n=name: ready(custom_objects, namespace, n),
            timeout=120,
            message=f"{name} never became Ready under the chart's RBAC: "
            f"{operator.permission_errors()[:3]}",
        )
    assert core_v1.read_namespaced_service("web", namespace)
    assert (
        core_v1.read_namespaced_config_map("jobs-kafka", namespace).data["KAFKA_TOPICS"]
        == "huleedu.jobs.v1"
    )
    assert apps_v1.read_namespaced_deployment("jobs", namespace)

    # Update.
    apply(
        kubectl, hes("web", namespace, type="http", image="example/web:1.0", replicas=3, port=8001)
    )
    wait_until(
        lambda: apps_v1.read_namespaced_deployment("web", namespace).spec.replicas == 3,
        timeout=60,
        message="the update did not reach the Deployment",
    )
    wait_until(lambda: ready(custom_objects, namespace, "web"), timeout=120)

    # Drift: deleted children come back.
    old_service = core_v1.read_namespaced_service("web", namespace).metadata.uid
    old_config = core_v1.read_namespaced_config_map("jobs-kafka", namespace).metadata.uid
    core_v1.delete_namespaced_service("web", namespace)
    core_v1.delete_namespaced_config_map("jobs-kafka", namespace)

    def restored() -> bool:
        try:
            service = core_v1.read_namespaced_service("web", namespace).metadata.uid
            config = core_v1.read_namespaced_config_map("jobs-kafka", namespace).metadata.uid
        except client.ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return service != old_service and config != old_config

    wait_until(restored, timeout=60, message="deleted children were not restored")

    # Events, posted by this very process.
    events = events_by(custom_objects, namespace, operator.instance)
    regarding = {e["regarding"]["name"] for e in events}
    assert {"web", "jobs"} <= regarding, [(e["reason"], e["regarding"]["name"]) for e in events]

    # Deletion: ownerReferences (blockOwnerDeletion) let the garbage collector clean up.
    kubectl("delete", "hes", "web", "jobs", "-n", namespace, "--wait=true")
    wait_until(
        lambda: (
            gone(lambda: apps_v1.read_namespaced_deployment("web", namespace))
            and gone(lambda: apps_v1.read_namespaced_deployment("jobs", namespace))
            and gone(lambda: core_v1.read_namespaced_service("web", namespace))
            and gone(lambda: core_v1.read_namespaced_config_map("jobs-kafka", namespace))
        ),
        timeout=90,
        message="children were not garbage-collected",
    )
    time.sleep(1)  # let the last watch events and status attempts reach the log
    assert operator.permission_errors() == [], "\n".join(operator.permission_errors()[:10])


# --- sufficient ---------------------------------------------------------------------------


def test_operator_outside_the_in_cluster_namespaces_works_with_only_the_charts_permissions(
    installs: dict[str, Install],
    run_as_service_account: Callable[..., Any],
    namespace_factory: Callable[..., str],
    kubectl: Kubectl,
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    api_client: client.ApiClient,
    wait_until: Callable[..., Any],
) -> None:
    """Pattern mode: the chart's cluster-wide grants suffice, the peering is the
    ClusterKopfPeering, and an excluded namespace is left alone although the RBAC would
    allow acting there."""
    install = installs["patterns"]
    namespace = namespace_factory("rbac-served")
    excluded = namespace_factory("rbac-excluded")
    operator = run_as_service_account(install, [*install.watch, f"!{excluded}"])
    run_scenarios(
        operator, namespace, kubectl, apps_v1, core_v1, custom_objects, api_client, wait_until
    )
    # The peering grant was used: our keep-alive is in the chart's ClusterKopfPeering.
    peering = custom_objects.get_cluster_custom_object(
        "kopf.dev", "v1", "clusterkopfpeerings", install.account
    )
    assert peering.get("status"), "the operator never wrote its keep-alive"

    # Declared together: the served one becoming Ready shows the operator was live while
    # the excluded one sat there.
    apply(kubectl, hes("outside", excluded, type="http", image="example/web:1.0"))
    apply(kubectl, hes("inside", namespace, type="http", image="example/web:1.0"))
    wait_until(lambda: ready(custom_objects, namespace, "inside"), timeout=120)
    time.sleep(2)
    outside = custom_objects.get_namespaced_custom_object(
        "huleedu.io", "v1alpha1", excluded, "huleeduservices", "outside"
    )
    assert not outside.get("status"), f"an excluded namespace got status: {outside['status']}"
    assert gone(lambda: apps_v1.read_namespaced_deployment("outside", excluded))
    assert events_by(custom_objects, excluded, operator.instance) == []
    assert operator.permission_errors() == [], "\n".join(operator.permission_errors()[:10])


def test_namespaced_operator_works_in_its_namespace_with_only_the_charts_permissions(
    installs: dict[str, Install],
    run_as_service_account: Callable[..., Any],
    kubectl: Kubectl,
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    api_client: client.ApiClient,
    wait_until: Callable[..., Any],
) -> None:
    install = installs["namespaced"]
    (team,) = install.watched
    operator = run_as_service_account(install)
    run_scenarios(operator, team, kubectl, apps_v1, core_v1, custom_objects, api_client, wait_until)
    peering = custom_objects.get_namespaced_custom_object(
        "kopf.dev", "v1", team, "kopfpeerings", install.account
    )
    assert peering.get("status"), "the operator never wrote its keep-alive"


# --- minimal --------------------------------------------------------------------------------

# (verb, resource, scope) the chart's ServiceAccount must NOT be allowed, in both modes.
# scope: "all" = every namespace (-A), "cluster" = cluster-scoped, "watched" = a namespace
# the operator serves, "home" = the operator's own namespace.
FORBIDDEN_EVERYWHERE = [
    ("get", "secrets", "all"),
    ("list", "secrets", "all"),
    ("watch", "secrets", "all"),
    ("get", "secrets", "watched"),
    ("list", "secrets", "watched"),
    ("get", "secrets", "home"),
    ("list", "secrets", "home"),
    ("create", "secrets", "watched"),
    ("create", "roles", "watched"),
    ("patch", "roles", "watched"),
    ("create", "rolebindings", "watched"),
    ("delete", "rolebindings", "home"),
    ("create", "clusterroles", "cluster"),
    ("patch", "clusterroles", "cluster"),
    ("escalate", "clusterroles", "cluster"),
    ("bind", "clusterroles", "cluster"),
    ("create", "clusterrolebindings", "cluster"),
    ("impersonate", "serviceaccounts", "all"),
    ("create", "serviceaccounts/token", "watched"),
    ("create", "namespaces", "cluster"),
    ("delete", "namespaces", "cluster"),
    ("patch", "namespaces", "cluster"),
    ("get", "namespaces", "cluster"),
    ("patch", "nodes", "cluster"),
    ("delete", "nodes", "cluster"),
    ("create", "pods", "watched"),
    ("delete", "pods", "watched"),
    ("create", "pods/exec", "watched"),
    ("update", "deployments", "watched"),
    ("create", "huleeduservices.huleedu.io", "watched"),
    ("patch", "huleeduservices.huleedu.io", "watched"),
    ("delete", "huleeduservices.huleedu.io", "watched"),
    ("create", "customresourcedefinitions", "cluster"),
    ("delete", "customresourcedefinitions", "cluster"),
    ("create", "mutatingwebhookconfigurations", "cluster"),
]
# ...and a few it must be allowed, so a broken check cannot pass by answering "no".
ALLOWED_EVERYWHERE = [
    ("patch", "deployments", "watched"),
    ("create", "deployments", "watched"),
    ("delete", "configmaps", "watched"),
    ("list", "pods", "watched"),
    ("create", "events.events.k8s.io", "watched"),
    ("list", "customresourcedefinitions", "cluster"),
]


def scope_args(install: Install, scope: str, other_namespace: str) -> list[str]:
    if scope == "all":
        return ["-A"]
    if scope == "cluster":
        return []
    if scope == "home":
        return ["-n", install.namespace]
    return ["-n", install.watched[0] if install.watched else other_namespace]


@pytest.mark.parametrize("mode", MODES)
def test_service_account_cannot_read_secrets_or_touch_what_it_does_not_manage(
    mode: str,
    installs: dict[str, Install],
    kubectl: Kubectl,
    namespace: str,
) -> None:
    install = installs[mode]
    wrongly_allowed = [
        (verb, resource, scope)
        for verb, resource, scope in FORBIDDEN_EVERYWHERE
        if can_i(kubectl, install, verb, resource, *scope_args(install, scope, namespace))
    ]
    assert not wrongly_allowed, f"{install.user} may: {wrongly_allowed}"
    missing = [
        (verb, resource, scope)
        for verb, resource, scope in ALLOWED_EVERYWHERE
        if not can_i(kubectl, install, verb, resource, *scope_args(install, scope, namespace))
    ]
    assert not missing, f"{install.user} lacks: {missing}"


def test_only_modes_that_serve_a_list_of_namespaces_read_namespaces(
    installs: dict[str, Install],
    kubectl: Kubectl,
) -> None:
    assert not can_i(kubectl, installs["cluster"], "list", "namespaces")
    assert can_i(kubectl, installs["patterns"], "list", "namespaces")
    assert can_i(kubectl, installs["namespaced"], "list", "namespaces")


@pytest.mark.parametrize("mode", ["cluster", "patterns"])
def test_cluster_wide_status_and_peering_grants_are_narrow(
    mode: str,
    installs: dict[str, Install],
    kubectl: Kubectl,
    namespace: str,
) -> None:
    install = installs[mode]
    assert can_i(
        kubectl,
        install,
        "patch",
        "huleeduservices.huleedu.io",
        "--subresource=status",
        "-n",
        namespace,
    )
    assert can_i(kubectl, install, "patch", f"clusterkopfpeerings.kopf.dev/{install.account}")
    assert not can_i(kubectl, install, "patch", "clusterkopfpeerings.kopf.dev/someone-else")
    assert not can_i(kubectl, install, "delete", f"clusterkopfpeerings.kopf.dev/{install.account}")


def test_namespaced_service_account_cannot_act_outside_its_namespaces(
    installs: dict[str, Install],
    kubectl: Kubectl,
    namespace: str,
) -> None:
    install = installs["namespaced"]
    (team,) = install.watched
    outside = [namespace, install.namespace, "default", "kube-system"]
    wrongly_allowed = []
    for ns in outside:
        for verb, resource in [
            ("create", "deployments"),
            ("patch", "deployments"),
            ("list", "configmaps"),
            ("delete", "services"),
            ("list", "huleeduservices.huleedu.io"),
            ("create", "events.events.k8s.io"),
            ("list", "pods"),
        ]:
            if can_i(kubectl, install, verb, resource, "-n", ns):
                wrongly_allowed.append((verb, resource, ns))
    for verb, resource in [
        ("list", "deployments"),
        ("list", "huleeduservices.huleedu.io"),
        ("list", "pods"),
    ]:
        if can_i(kubectl, install, verb, resource, "-A"):
            wrongly_allowed.append((verb, resource, "all namespaces"))
    if can_i(kubectl, install, "list", "kopfpeerings.kopf.dev", "-n", namespace):
        wrongly_allowed.append(("list", "kopfpeerings", namespace))
    assert not wrongly_allowed, f"{install.user} may act outside {team}: {wrongly_allowed}"
    assert can_i(kubectl, install, "create", "deployments", "-n", team)
    assert can_i(kubectl, install, "patch", f"kopfpeerings.kopf.dev/{install.account}", "-n", team)
