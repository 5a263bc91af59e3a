"""The model rejects what the API server rejects, naming the field (offline twin of
``tests/integration/test_admission.py``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cases.invalid_resources import INVALID_CASES, InvalidCase
from cases.valid_resources import VALID_CASES, ValidCase
from huleedu_operator.api import v1alpha1
from huleedu_operator.api.rules import rules_of
from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.cli import format_validation_error

pytestmark = pytest.mark.unit

OFFLINE = [c for c in INVALID_CASES if c.offline]
ADMISSION_ONLY = [c for c in INVALID_CASES if not c.offline]

# Rules no invalid document can reach because a field constraint rejects the value first
# (shutdownGracePeriodSeconds has minimum 1 in the schema too). Kept as documentation.
UNREACHABLE_RULES = {"spec.shutdownGracePeriodSeconds: must be at least 1"}


def _errors(case: InvalidCase) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        HuleEduService.model_validate(case.document())
    return format_validation_error(caught.value, "case")


def test_the_table_has_at_least_thirty_distinct_invalid_resources() -> None:
    assert len({c.id for c in INVALID_CASES}) >= 30
    specs = [repr(sorted(c.document().items())) for c in INVALID_CASES]
    assert len(set(specs)) == len(specs), "two cases send the same document"


@pytest.mark.parametrize("case", OFFLINE, ids=lambda c: c.id)
def test_invalid_resource_is_rejected_offline_naming_the_field(case: InvalidCase) -> None:
    lines = _errors(case)
    matching = [line for line in lines if case.field in line and case.message in line]
    assert matching, f"no error names {case.field!r} with {case.message!r}: {lines}"


@pytest.mark.parametrize("case", OFFLINE, ids=lambda c: c.id)
def test_every_offline_error_line_starts_with_a_field_path(case: InvalidCase) -> None:
    for line in _errors(case):
        detail = line.removeprefix("case: ")
        assert detail.startswith(("spec.", "metadata.")), line


@pytest.mark.parametrize("case", ADMISSION_ONLY, ids=lambda c: c.id)
def test_schema_only_case_is_accepted_offline_and_left_to_the_api_server(
    case: InvalidCase,
) -> None:
    # If this fails, the model now checks the case too: set offline=True in the table.
    HuleEduService.model_validate(case.document())


@pytest.mark.parametrize("case", VALID_CASES, ids=lambda c: c.id)
def test_valid_resource_is_accepted(case: ValidCase) -> None:
    resource = case.resource()
    assert resource.spec.type == case.spec()["type"]


def _all_rules() -> list[str]:
    messages: list[str] = []
    for value in vars(v1alpha1).values():
        if isinstance(value, type) and issubclass(value, v1alpha1.ApiModel):
            messages.extend(r.message for r in rules_of(value) if not r.transition)
    return messages


@pytest.mark.parametrize("message", [m for m in _all_rules() if m not in UNREACHABLE_RULES])
def test_every_cross_field_rule_has_an_invalid_case(message: str) -> None:
    covering = [c.id for c in INVALID_CASES if c.kind == "rule" and c.message in message]
    assert covering, f"no case in tests/cases/invalid_resources.py exercises: {message}"


def test_unreachable_rules_are_still_rules_of_the_model() -> None:
    # A stale entry here would silently exempt a rule from the coverage test above.
    assert set(_all_rules()) >= UNREACHABLE_RULES


def test_all_rule_violations_of_one_object_are_reported_together() -> None:
    doc = INVALID_CASES[0].document()
    doc["spec"] = {
        "type": "http",
        "kafka": {
            "topics": ["a", "a"],
            "sessionTimeoutMs": 10000,
            "heartbeatIntervalMs": 20000,
        },
    }
    with pytest.raises(ValidationError) as caught:
        HuleEduService.model_validate(doc)
    lines = format_validation_error(caught.value, "x")
    assert any("spec.kafka.topics: list each topic once" in line for line in lines)
    assert any("spec.kafka.heartbeatIntervalMs" in line for line in lines)


def test_a_rule_message_keeps_its_fix_on_the_same_line() -> None:
    doc = INVALID_CASES[0].document()
    doc["spec"] = {"type": "http", "kafka": {"topics": ["t"], "security": {"protocol": "SASL_SSL"}}}
    with pytest.raises(ValidationError) as caught:
        HuleEduService.model_validate(doc)
    (line,) = format_validation_error(caught.value, "x")
    assert line.endswith("set sasl.secretRef or change the protocol")
    assert line.startswith("x: spec.kafka.security.sasl: ")


def test_a_resource_without_a_name_is_rejected_naming_metadata_name() -> None:
    doc = INVALID_CASES[0].document()
    doc["metadata"] = {"namespace": "huleedu"}
    doc["spec"] = {"type": "http"}
    with pytest.raises(ValidationError) as caught:
        HuleEduService.model_validate(doc)
    assert format_validation_error(caught.value, "x") == [
        "x: metadata.name: required; name the service"
    ]


@pytest.mark.parametrize("name", ["svc\n", "svc\nx"])
def test_a_name_with_a_newline_is_rejected_offline_as_the_api_server_does(name: str) -> None:
    doc = INVALID_CASES[0].document()
    doc["metadata"] = {"name": name, "namespace": "huleedu"}
    doc["spec"] = {"type": "http"}
    with pytest.raises(ValidationError) as caught:
        HuleEduService.model_validate(doc)
    (line,) = format_validation_error(caught.value, "x")
    assert "metadata.name" in line


def test_type_change_is_a_transition_rule_on_the_type_field() -> None:
    field = v1alpha1.HuleEduServiceSpec.model_fields["type"]
    extra = field.json_schema_extra
    assert isinstance(extra, dict)
    (rule,) = extra["x-kubernetes-validations"]  # type: ignore[misc]
    assert rule["rule"] == "self == oldSelf"  # type: ignore[index]
    assert "spec.type: is immutable" in rule["message"]  # type: ignore[index]


def test_secrets_cannot_be_inlined_in_kafka_security() -> None:
    doc = INVALID_CASES[0].document()
    doc["spec"] = {
        "type": "http",
        "kafka": {
            "topics": ["t"],
            "security": {
                "protocol": "SASL_SSL",
                "sasl": {"secretRef": {"name": "s"}, "password": "hunter2"},
            },
        },
    }
    with pytest.raises(ValidationError) as caught:
        HuleEduService.model_validate(doc)
    (line,) = format_validation_error(caught.value, "x")
    assert line.startswith("x: spec.kafka.security.sasl.password: credentials never go in")
    assert "spec.kafka.security.sasl.secretRef" in line


def _with_service_account(name: str) -> dict[str, object]:
    doc = INVALID_CASES[0].document()
    doc["spec"] = {"type": "http", "serviceAccountName": name}
    return doc


@pytest.mark.parametrize(
    "name", ["a", "0", "content-service", "a.b", "kafka.tls-v2", "1.2.3", "x" * 253]
)
def test_an_object_name_may_be_any_dns_1123_subdomain(name: str) -> None:
    resource = HuleEduService.model_validate(_with_service_account(name))
    assert resource.spec.service_account_name == name


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "-a", "a-", "a.", ".a", "a..b", "a.-b", "A", "a_b", "a b", "ü",
     "a/b", "a?b", "a#b", "a%2Fb", "a\n", "x" * 254],
)  # fmt: skip
def test_anything_else_is_not_an_object_name(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        HuleEduService.model_validate(_with_service_account(name))
    assert format_validation_error(caught.value, "x") == [
        f"x: spec.serviceAccountName: {v1alpha1.OBJECT_NAME_MESSAGE}"
    ]
