"""Operator settings from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from huleedu_operator.controller.settings import OperatorSettings

pytestmark = pytest.mark.unit


def test_namespaces_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HULEEDU_OPERATOR_NAMESPACES", "team-a, team-b,")
    assert OperatorSettings().namespaces == ["team-a", "team-b"]


def test_namespace_globs_and_exclusions_are_kept_as_entries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HULEEDU_OPERATOR_NAMESPACES", "!huleedu, !e2e-*")
    settings = OperatorSettings()
    assert settings.namespaces == ["!huleedu", "!e2e-*"]
    assert settings.namespace_selection().kopf_namespaces() == ["!huleedu, !e2e-*"]


def test_a_bad_namespace_entry_fails_at_start_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HULEEDU_OPERATOR_NAMESPACES", "team-a,Team_B")
    with pytest.raises(ValidationError, match="'Team_B'"):
        OperatorSettings()


def test_no_namespaces_is_the_whole_cluster() -> None:
    assert OperatorSettings(namespaces=[]).namespace_selection().mode == "cluster"


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
