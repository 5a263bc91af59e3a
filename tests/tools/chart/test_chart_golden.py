"""Golden files: the exact manifests ``helm template`` renders for each install mode.

A diff here is a change every user of the chart will see on ``helm upgrade``. Review
it, then regenerate with::

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/tools/chart/test_chart_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.helm import template

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# mode -> the `--set` arguments that select it (the same a user would type).
MODES: dict[str, tuple[str, ...]] = {
    # One standalone replica watching the whole cluster: the defaults.
    "default": (),
    # A Role + RoleBinding per listed namespace; the ClusterRole shrinks to CRD reads.
    "namespaced": (
        "--set",
        "watchNamespaces={team-a,team-b}",
        "--set",
        "operator.kafkaBootstrapServers=kafka.team-a.svc:9092",
    ),
    # Globs: cluster-wide RBAC plus the namespace list kopf matches them against, and
    # with peering the ClusterKopfPeering (Roles cannot be made for unknown namespaces).
    # The in-cluster operator the demo and the e2e suite use.
    "globs": (
        "--set",
        "watchNamespaces={huleedu,e2e-*}",
        "--set",
        "peering.enabled=true",
    ),
    # Three replicas: kopf peering with per-pod priorities, PDB, ServiceMonitor.
    "ha": (
        "--set",
        "replicaCount=3",
        "--set",
        "podDisruptionBudget.enabled=true",
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "metrics.serviceMonitor.labels.release=prometheus",
    ),
}


def golden_text(mode: str) -> str:
    args = " ".join(MODES[mode]) or "(defaults)"
    header = (
        f"# Golden `helm template huleedu charts/huleedu-operator -n huleedu-system {args}`.\n"
        "# Regenerate: UPDATE_GOLDEN=1 .venv/bin/pytest tests/tools/chart/test_chart_golden.py\n"
    )
    return header + template(*MODES[mode])


@pytest.mark.parametrize("mode", sorted(MODES))
def test_rendered_chart_matches_the_golden_file(mode: str) -> None:
    path = GOLDEN_DIR / f"{mode}.yaml"
    actual = golden_text(mode)
    if UPDATE:
        path.write_text(actual)
        return
    assert path.exists(), f"{path} missing: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert actual == path.read_text(), (
        f"{mode}: `helm template` output differs from {path.name}; if the change is "
        "intended, run UPDATE_GOLDEN=1 .venv/bin/pytest tests/tools/chart/test_chart_golden.py "
        "and review the diff"
    )


def test_every_golden_file_belongs_to_a_mode() -> None:
    orphans = sorted(p.name for p in GOLDEN_DIR.glob("*.yaml") if p.stem not in MODES)
    assert not orphans, f"golden files without a mode (delete them): {orphans}"
