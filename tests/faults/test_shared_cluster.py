"""A shared cluster (issue "Safe on a shared cluster"): objects the operator does not own,
optional APIs that flap, and deletions its watch never reported.

- takeover: objects of every child kind made by another team exist before the
  HuleEduServices whose children would have their names; not one is modified;
- capability flap: the Prometheus Operator's and KEDA's CRDs are deleted and restored;
  no pod template changes, and the ServiceMonitors and ScaledObjects come back;
- missed deletions: children and a parent are deleted in etcd while kube-apiserver is
  down, so the operator's watches can only re-list, never see a DELETED event; everything
  is repaired within one resync period (the children by the relist of the operator's
  own streams, at once; the parent, which kopf watches, by the resync).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fleet import SIZES, Etcd, api_ready, apply_fleet, child_problems, hes_tracker

from support import workload
from support.controlplane import ControlPlane
from support.kube import MANAGED_SELECTOR, Kube, collection

REPO = Path(__file__).resolve().parents[2]
Body = dict[str, Any]

# --- takeover ----------------------------------------------------------------------

FOREIGN_PER_KIND = {"reduced": 10, "full": 100}


def foreign(kind: str, ns: str, name: str) -> Body:
    """Another team's object of ``kind`` named ``name``, nothing like what we render."""
    theirs = {"app": f"theirs-{name}"}
    meta = {"name": name, "namespace": ns, "labels": {"team": "other"}}
    bodies: dict[str, Body] = {
        "ConfigMap": {"apiVersion": "v1", "data": {"owner": "other-team"}},
        "Service": {
            "apiVersion": "v1",
            "spec": {"selector": theirs, "ports": [{"port": 80, "targetPort": 9000}]},
        },
        "Deployment": {
            "apiVersion": "apps/v1",
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": theirs},
                "template": {
                    "metadata": {"labels": theirs},
                    "spec": {"containers": [{"name": "c", "image": "example/theirs:1"}]},
                },
            },
        },
        "PodDisruptionBudget": {
            "apiVersion": "policy/v1",
            "spec": {"selector": {"matchLabels": theirs}, "maxUnavailable": 1},
        },
        "HorizontalPodAutoscaler": {
            "apiVersion": "autoscaling/v2",
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
                "minReplicas": 1,
                "maxReplicas": 2,
            },
        },
    }
    return {**bodies[kind], "kind": kind, "metadata": meta}


def untouched(created: Body, live: Body) -> bool:
    """Nothing of ours in it: spec (or data), labels, annotations and owners as created,
    and no field manager of ours. (Its resourceVersion may move: kube-controller-manager
    writes a Deployment's and an HPA's status.)"""

    def annotations(obj: Body) -> Body:
        kept = obj["metadata"].get("annotations") or {}
        return {k: v for k, v in kept.items() if not k.startswith("deployment.kubernetes.io/")}

    managers = {e.get("manager") for e in live["metadata"].get("managedFields") or []}
    return (
        live.get("spec") == created.get("spec")
        and live.get("data") == created.get("data")
        and live["metadata"].get("labels") == created["metadata"].get("labels")
        and annotations(live) == annotations(created)
        and not live["metadata"].get("ownerReferences")
        and "huleedu-operator" not in managers
    )


def parent_for(kind: str, ns: str, name: str) -> Body:
    """A HuleEduService one of whose children is the ``kind`` named after it."""
    if kind == "ConfigMap":
        spec: Body = {"type": "worker", "image": workload.IMAGE, "kafka": {"topics": ["t"]}}
    else:
        spec = {
            "type": "http",
            "image": workload.IMAGE,
            "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 3},
        }
    return {
        "apiVersion": "huleedu.io/v1alpha1",
        "kind": "HuleEduService",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def child_name(kind: str, parent: str) -> str:
    return f"{parent}-kafka" if kind == "ConfigMap" else parent


@pytest.mark.parametrize("size", SIZES)
def test_objects_another_team_made_are_never_modified(
    size: str,
    kube: Kube,
    fault_namespace: Callable[[str], str],
    operators: Callable[..., Any],
    record: Callable[..., None],
) -> None:
    per_kind = FOREIGN_PER_KIND[size]
    ns = fault_namespace("takeover")
    kinds = ["ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"]
    planted: dict[tuple[str, str], Body] = {}  # (kind, name) -> as created
    parents = []
    for kind in kinds:
        for i in range(per_kind):
            parent = f"{kind.lower()[:10]}-{i:03d}"
            obj = kind, child_name(kind, parent)
            created = kube.request("POST", collection(kind, ns), foreign(kind, ns, obj[1]))
            planted[obj] = created
            parents.append(parent_for(kind, ns, parent))
    operators([ns])
    started = time.monotonic()
    apply_fleet(kube, parents)

    def conflicts() -> set[str]:
        items = kube.request("GET", collection("HuleEduService", ns))["items"]
        return {
            i["metadata"]["name"]
            for i in items
            for c in (i.get("status") or {}).get("conditions", [])
            if c["type"] == "Degraded" and c.get("reason") == "NameConflict"
        }

    names = {p["metadata"]["name"] for p in parents}
    deadline = time.monotonic() + 120 + len(parents)
    while conflicts() != names and time.monotonic() < deadline:
        time.sleep(1)
    reported = conflicts()
    reported_s = time.monotonic() - started
    time.sleep(5)  # give a would-be takeover every chance to land

    modified = []
    for (kind, name), created in planted.items():
        live = kube.request("GET", f"{collection(kind, ns)}/{name}")
        if not untouched(created, live):
            modified.append(f"{kind}/{name}")
    record(
        foreign_objects=len(planted),
        modified=len(modified),
        reported_name_conflict=len(reported),
        of=len(names),
        all_reported_after_s=round(reported_s, 1),
    )
    assert modified == []
    assert reported == names, sorted(names - reported)[:10]

    for parent in parents:  # deleting the HuleEduServices leaves the foreign objects
        kube.delete(f"{collection('HuleEduService', ns)}/{parent['metadata']['name']}")
    time.sleep(5)
    for kind, name in planted:
        assert kube.get(f"{collection(kind, ns)}/{name}") is not None, f"{kind}/{name} deleted"


# --- capability flap -----------------------------------------------------------------

STANDIN_CRDS = REPO / "tests" / "fixtures" / "crds"
CAPABILITY_CRDS = {
    "servicemonitors.monitoring.coreos.com": "monitoring.coreos.com_servicemonitors.yaml",
    "podmonitors.monitoring.coreos.com": "monitoring.coreos.com_podmonitors.yaml",
    "scaledobjects.keda.sh": "keda.sh_scaledobjects.yaml",
    "triggerauthentications.keda.sh": "keda.sh_triggerauthentications.yaml",
}
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
FLAP = {"reduced": (20, 5.0), "full": (200, 30.0)}  # resources, seconds the CRDs are gone


def install_crds(kube: Kube) -> None:
    for name, file in CAPABILITY_CRDS.items():
        kube.request(
            "PATCH",
            f"{CRD_PATH}/{name}",
            yaml.safe_load((STANDIN_CRDS / file).read_text()),
            [("fieldManager", "fault-test"), ("force", "true")],
            "application/apply-patch+yaml",
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        established = [
            any(
                c["type"] == "Established" and c["status"] == "True"
                # A CRD just created reports ``status.conditions: null`` for a moment.
                for c in ((kube.get(f"{CRD_PATH}/{n}") or {}).get("status") or {}).get("conditions")
                or []
            )
            for n in CAPABILITY_CRDS
        ]
        if all(established):
            return
        time.sleep(0.5)
    raise TimeoutError("stand-in CRDs not Established")


def remove_crds(kube: Kube) -> None:
    for name in CAPABILITY_CRDS:
        kube.delete(f"{CRD_PATH}/{name}")
    deadline = time.monotonic() + 60
    while any(kube.get(f"{CRD_PATH}/{n}") for n in CAPABILITY_CRDS):
        if time.monotonic() > deadline:
            raise TimeoutError("CRDs not deleted")
        time.sleep(0.5)


def flap_fleet(ns: str, n: int) -> list[Body]:
    docs = []
    for i in range(n):
        doc = workload.resource(ns, i)
        if doc["spec"]["type"] == "worker":
            doc["spec"]["autoscaling"] = {"enabled": True, "minReplicas": 1, "maxReplicas": 1}
            doc["spec"]["kafka"]["partitions"] = 1
        docs.append(doc)
    return docs


def templates(kube: Kube, ns: str) -> dict[str, tuple[int, Any, Any]]:
    items = kube.request(
        "GET", collection("Deployment", ns), query=[("labelSelector", MANAGED_SELECTOR)]
    )["items"]
    return {
        i["metadata"]["name"]: (
            i["metadata"]["generation"],
            i["spec"]["template"],
            i["spec"].get("replicas"),
        )
        for i in items
    }


def custom(kube: Kube, group: str, plural: str, ns: str) -> set[str]:
    path = f"/apis/{group}/v1{'alpha1' if group == 'keda.sh' else ''}/namespaces/{ns}/{plural}"
    return {i["metadata"]["name"] for i in kube.request("GET", path)["items"]}


@pytest.mark.parametrize("size", SIZES)
def test_a_capability_flap_changes_no_pod_template(
    size: str,
    kube: Kube,
    fault_namespace: Callable[[str], str],
    operators: Callable[..., Any],
    record: Callable[..., None],
) -> None:
    n, gone = FLAP[size]
    had_crds = all(kube.get(f"{CRD_PATH}/{name}") for name in CAPABILITY_CRDS)
    install_crds(kube)
    try:
        ns = fault_namespace("flap")
        operators([ns])
        docs = flap_fleet(ns, n)
        with hes_tracker(kube, ns) as tracker:
            apply_fleet(kube, docs)
            tracker.wait_ok([d["metadata"]["name"] for d in docs], 120 + n)
        http = {d["metadata"]["name"] for d in docs if d["spec"]["type"] == "http"}
        workers = {d["metadata"]["name"] for d in docs if d["spec"]["type"] == "worker"}
        deadline = time.monotonic() + 60
        while (
            custom(kube, "monitoring.coreos.com", "servicemonitors", ns) != http
            or custom(kube, "keda.sh", "scaledobjects", ns) != workers
        ) and time.monotonic() < deadline:
            time.sleep(1)
        before = templates(kube, ns)

        remove_crds(kube)
        time.sleep(gone)
        install_crds(kube)
        restored_at = time.monotonic()
        deadline = restored_at + 120
        while time.monotonic() < deadline:
            monitors = custom(kube, "monitoring.coreos.com", "servicemonitors", ns)
            scaled = custom(kube, "keda.sh", "scaledobjects", ns)
            if monitors == http and scaled == workers:
                break
            time.sleep(1)
        recreated_s = time.monotonic() - restored_at
        time.sleep(3)
        after = templates(kube, ns)
        changed = sorted(name for name in before if after.get(name) != before[name])
        record(
            resources=n,
            crds_gone_s=gone,
            pod_template_changes=len(changed),
            children_recreated_after_s=round(recreated_s, 1),
        )
        assert changed == [], changed[:10]
        assert custom(kube, "monitoring.coreos.com", "servicemonitors", ns) == http
        assert custom(kube, "keda.sh", "scaledobjects", ns) == workers
    finally:
        if not had_crds:
            remove_crds(kube)


# --- missed deletions --------------------------------------------------------------

RESYNC = 15.0
MISSED = {"reduced": (12, 4), "full": (120, 40)}  # resources, of which children deleted


@pytest.mark.parametrize("size", SIZES)
def test_deletions_the_watch_missed_are_repaired_within_one_resync(
    size: str,
    kube: Kube,
    control_plane: ControlPlane,
    fault_namespace: Callable[[str], str],
    operators: Callable[..., Any],
    record: Callable[..., None],
) -> None:
    n, k = MISSED[size]
    ns = fault_namespace("missed")
    operator = operators([ns], env={"HULEEDU_OPERATOR_RESYNC_SECONDS": str(RESYNC)})
    docs = workload.resources(ns, n)
    with hes_tracker(kube, ns) as tracker:
        apply_fleet(kube, docs)
        tracker.wait_ok([d["metadata"]["name"] for d in docs], 120 + n)
    etcd = Etcd(control_plane)
    victims = [d["metadata"]["name"] for d in docs[:k]]
    http = {d["metadata"]["name"] for d in docs if d["spec"]["type"] == "http"}
    gone_parent = docs[-1]["metadata"]["name"]
    with control_plane.outage("kube-apiserver", api_ready(kube)):
        deleted = 0
        for name in victims:
            deleted += etcd.delete(f"{etcd.prefix}/deployments/{ns}/{name}")
            if name in http:
                deleted += etcd.delete(f"{etcd.prefix}/services/specs/{ns}/{name}")
        deleted += etcd.delete(etcd.key(ns, gone_parent))
    back = time.monotonic()
    assert deleted >= k + 1, f"only {deleted} keys deleted in etcd"

    deadline = back + RESYNC * 2 + 60
    while time.monotonic() < deadline:
        present = set(kube.names("Deployment", ns, MANAGED_SELECTOR))
        services = set(kube.names("Service", ns, MANAGED_SELECTOR))
        wanted_services = set(victims) & http
        if set(victims) <= present and wanted_services <= services:
            break
        time.sleep(1)
    restored_s = time.monotonic() - back
    # The children may be back before the resync has forgotten the deleted parent.
    while True:
        metrics = operator.metrics()
        managed = metrics.get("huleedu_operator_managed_resources", -1)
        if managed == n - 1 or time.monotonic() > deadline:
            break
        time.sleep(1)
    forgotten_s = time.monotonic() - back
    repairs = sum(
        v for key, v in metrics.items() if key.startswith("huleedu_operator_resync_repairs_total")
    )
    record(
        resources=n,
        deleted_in_etcd=deleted,
        resync_seconds=RESYNC,
        restored_after_s=round(restored_s, 1),
        parent_forgotten_after_s=round(forgotten_s, 1),
        resync_repairs=repairs,
        managed_after=managed,
    )
    assert restored_s <= RESYNC * 2 + 30, f"restored only after {restored_s:.0f}s"
    assert set(victims) <= set(kube.names("Deployment", ns, MANAGED_SELECTOR))
    assert repairs > 0, "restored without a relist: the watch saw the deletions after all"
    assert managed == n - 1, f"the deleted parent is still managed ({managed} of {n - 1})"
    remaining = [d for d in docs if d["metadata"]["name"] != gone_parent]
    deadline = time.monotonic() + 60
    while child_problems(kube, ns, remaining) and time.monotonic() < deadline:
        time.sleep(1)  # the garbage collector removes the deleted parent's children
    assert child_problems(kube, ns, remaining) == []
