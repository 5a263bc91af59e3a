"""What the operator hands kopf for each namespace mode (no cluster: kopf.operator is
replaced by a recorder)."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf
import pytest

from huleedu_operator.controller import main
from huleedu_operator.controller.main import Operator
from huleedu_operator.controller.settings import OperatorSettings

pytestmark = pytest.mark.unit


def kopf_arguments(monkeypatch: pytest.MonkeyPatch, **settings: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def operator(**kwargs: Any) -> None:
        seen.update(kwargs)

    monkeypatch.setattr(main.kopf, "operator", operator)
    asyncio.run(Operator(OperatorSettings(**settings)).run())
    return seen


def peering_settings(**settings: Any) -> kopf.OperatorSettings:
    configured = kopf.OperatorSettings()
    Operator(OperatorSettings(peering="p", priority=1, **settings)).configure(configured)
    return configured


@pytest.mark.parametrize(
    ("namespaces", "clusterwide", "patterns"),
    [
        ([], True, []),
        (["team-a", "team-b"], False, ["team-a", "team-b"]),
        (["!huleedu", "!e2e-*"], False, ["!huleedu, !e2e-*"]),
        (["team-*", "x", "!team-b"], False, ["team-*, !team-b", "x, !team-b"]),
    ],
)
def test_kopf_gets_the_translated_patterns(
    monkeypatch: pytest.MonkeyPatch,
    namespaces: list[str],
    clusterwide: bool,
    patterns: list[str],
) -> None:
    seen = kopf_arguments(monkeypatch, namespaces=namespaces)
    assert seen["clusterwide"] is clusterwide
    assert list(seen["namespaces"]) == patterns


@pytest.mark.parametrize(
    ("namespaces", "clusterwide"),
    [([], True), (["team-a"], False), (["!huleedu", "!e2e-*"], True), (["team-*"], True)],
)
def test_peering_is_per_namespace_only_for_a_fixed_list_of_names(
    namespaces: list[str], clusterwide: bool
) -> None:
    configured = peering_settings(namespaces=namespaces)
    assert configured.peering.name == "p"
    assert configured.peering.mandatory
    assert configured.peering.clusterwide is clusterwide


def test_without_peering_the_operator_is_standalone() -> None:
    configured = kopf.OperatorSettings()
    Operator(OperatorSettings(namespaces=["team-*"])).configure(configured)
    assert configured.peering.standalone
