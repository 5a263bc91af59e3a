"""Every refusal names the field and the fix: no raw regular expression, no bare
"Extra inputs are not permitted", at admission or offline."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from cases.invalid_resources import INVALID_CASES, InvalidCase
from cases.valid_resources import document
from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.cli import format_validation_error

pytestmark = pytest.mark.unit

# What a user should never have to read: a pattern, or pydantic's bare words.
_UNHELPFUL = re.compile(r"should match pattern|'\^|\$'|Extra inputs are not permitted")


def lines_for(spec: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        HuleEduService.model_validate(document("svc", spec))
    return format_validation_error(caught.value, "x")


@pytest.mark.parametrize("case", [c for c in INVALID_CASES if c.offline], ids=lambda c: c.id)
def test_no_offline_refusal_shows_a_pattern_or_bare_extra_inputs(case: InvalidCase) -> None:
    with pytest.raises(ValidationError) as caught:
        HuleEduService.model_validate(case.document())
    for line in format_validation_error(caught.value, "x"):
        assert not _UNHELPFUL.search(line), line


@pytest.mark.parametrize("case", INVALID_CASES, ids=lambda c: c.id)
def test_no_case_expects_the_api_servers_pattern_message(case: InvalidCase) -> None:
    # The API server's words for a bare `pattern` are "should match '^...$'": each such
    # field carries a CEL rule with a message instead, and the case expects that message.
    assert "should match" not in case.message
    assert "should match" not in case.expected_at_admission


@pytest.mark.parametrize(
    "security",
    [
        {"protocol": "SASL_SSL", "password": "hunter2", "sasl": {"secretRef": {"name": "s"}}},
        {"protocol": "SASL_SSL", "sasl": {"secretRef": {"name": "s"}, "password": "hunter2"}},
        {"protocol": "SASL_SSL", "sasl": {"secretRef": {"name": "s"}, "username": "app"}},
    ],
)
def test_an_inline_kafka_credential_points_at_the_sasl_secret(security: dict[str, Any]) -> None:
    (line,) = lines_for({"type": "http", "kafka": {"topics": ["t"], "security": security}})
    assert line.startswith("x: spec.kafka.security.")
    assert "sasl.secretRef" in line
    assert "hunter2" not in line


def test_another_inline_credential_points_at_a_secret_key_ref() -> None:
    (line,) = lines_for({"type": "http", "migrations": {"command": ["x"], "dbPassword": "pw"}})
    assert line.startswith("x: spec.migrations.dbPassword: ")
    assert "env[].valueFrom.secretKeyRef" in line


@pytest.mark.parametrize(
    ("spec", "start", "suggestion"),
    [
        ({"type": "http", "replica": 2}, "x: spec.replica: ", "replicas"),
        ({"type": "http", "kafka": {"topic": ["t"]}}, "x: spec.kafka.topic: ", "topics"),
        (
            {"type": "http", "env": [{"name": "A", "valu": "1"}]},
            "x: spec.env[0].valu: ",
            "value",
        ),
    ],
)
def test_an_unknown_field_says_so_and_suggests_the_field_meant(
    spec: dict[str, Any], start: str, suggestion: str
) -> None:
    (line,) = lines_for(spec)
    assert line.startswith(start)
    assert "unknown field" in line
    assert f"did you mean {suggestion}?" in line


def test_an_unknown_field_without_a_near_name_lists_none() -> None:
    (line,) = lines_for({"type": "http", "zzzzzz": 1})
    assert line.startswith("x: spec.zzzzzz: unknown field")
    assert "did you mean" not in line
