"""Operator settings from the environment."""

from __future__ import annotations

import pytest

from huleedu_operator.controller.settings import OperatorSettings

pytestmark = pytest.mark.unit


def test_namespaces_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HULEEDU_OPERATOR_NAMESPACES", "team-a, team-b,")
    assert OperatorSettings().namespaces == ["team-a", "team-b"]


def test_auto_priority_differs_between_pods_and_is_stable() -> None:
    a = OperatorSettings(priority="auto", instance_name="huleedu-operator-7d9f-abcde")
    b = OperatorSettings(priority="auto", instance_name="huleedu-operator-7d9f-fghij")
    assert a.effective_priority() != b.effective_priority()
    assert (
        a.effective_priority()
        == OperatorSettings(instance_name="huleedu-operator-7d9f-abcde").effective_priority()
    )
    assert 1 <= a.effective_priority() <= 1_000_000


def test_an_explicit_priority_wins() -> None:
    assert OperatorSettings(priority=5).effective_priority() == 5
