"""The committed CRD is the models' output, and it is a CRD the API server will take:
structural, described, with every cross-field rule attached."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from huleedu_operator.api import v1alpha1
from huleedu_operator.api.crd import custom_resource_definition
from huleedu_operator.api.rules import rules_of

pytestmark = pytest.mark.unit

CRD_FILE = Path(__file__).resolve().parents[3] / "crds" / "huleedu.io_huleeduservices.yaml"


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    return custom_resource_definition()


@pytest.fixture(scope="module")
def version(crd: dict[str, Any]) -> dict[str, Any]:
    (only,) = crd["spec"]["versions"]
    return dict(only)


@pytest.fixture(scope="module")
def spec_schema(version: dict[str, Any]) -> dict[str, Any]:
    return dict(version["schema"]["openAPIV3Schema"]["properties"]["spec"])


def _walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, child in node.get("properties", {}).items():
            found.extend(_walk(child, f"{path}.{key}"))
        if isinstance(node.get("items"), dict):
            found.extend(_walk(node["items"], f"{path}[]"))
        if isinstance(node.get("additionalProperties"), dict):
            found.extend(_walk(node["additionalProperties"], f"{path}{{}}"))
    return found


def test_committed_crd_equals_the_generated_one(crd: dict[str, Any]) -> None:
    committed = yaml.safe_load(CRD_FILE.read_text())
    assert committed == crd, (
        f"{CRD_FILE.name} is out of date with the API models: run `make crd` and commit it"
    )


def test_names_group_scope_and_short_name(crd: dict[str, Any]) -> None:
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "huleeduservices.huleedu.io"
    assert spec["group"] == "huleedu.io"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == "HuleEduService"
    assert spec["names"]["plural"] == "huleeduservices"
    assert spec["names"]["shortNames"] == ["hes"]
    assert spec["names"]["categories"] == ["huleedu"]


def test_version_is_served_stored_and_has_status_and_scale_subresources(
    version: dict[str, Any],
) -> None:
    assert version["name"] == "v1alpha1"
    assert version["served"]
    assert version["storage"]
    assert version["subresources"]["status"] == {}
    assert version["subresources"]["scale"] == {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.selector",
    }


def test_printer_columns_include_type_ready_replicas_image_age(version: dict[str, Any]) -> None:
    names = [c["name"] for c in version["additionalPrinterColumns"]]
    for wanted in ("Type", "Ready", "Replicas", "Image", "Age"):
        assert wanted in names


def test_a_ready_but_degraded_resource_shows_degraded_in_kubectl_get(
    version: dict[str, Any],
) -> None:
    # Ready and Degraded are both True while the old pods serve and a change cannot roll
    # out: the default columns must show both, not "Ready" alone.
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    degraded = columns["Degraded"]
    assert degraded["jsonPath"] == '.status.conditions[?(@.type=="Degraded")].status'
    assert degraded.get("priority", 0) == 0
    names = list(columns)
    assert names.index("Ready") + 1 == names.index("Degraded")


def test_schema_is_structural(version: dict[str, Any]) -> None:
    forbidden = {"$ref", "anyOf", "oneOf", "allOf", "title", "$defs", "propertyNames"}
    for path, node in _walk(version["schema"]["openAPIV3Schema"]):
        assert not forbidden & node.keys(), f"{path or '<root>'}: {forbidden & node.keys()}"
        if node.get("x-kubernetes-int-or-string") or node.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            continue
        assert "type" in node, f"{path}: a structural schema needs a type"
        assert not ("properties" in node and "additionalProperties" in node), path


def test_every_spec_field_is_described_for_kubectl_explain(spec_schema: dict[str, Any]) -> None:
    for name, prop in spec_schema["properties"].items():
        assert prop.get("description"), f"spec.{name} has no description"
    for name, prop in spec_schema["properties"]["kafka"]["properties"].items():
        assert prop.get("description"), f"spec.kafka.{name} has no description"


def test_type_is_an_enum_and_immutable(spec_schema: dict[str, Any]) -> None:
    type_schema = spec_schema["properties"]["type"]
    assert type_schema["enum"] == ["http", "worker"]
    assert {"rule": "self == oldSelf"}.items() <= type_schema["x-kubernetes-validations"][0].items()
    assert "type" in spec_schema["required"]


def test_scalar_defaults_are_in_the_schema_object_defaults_are_not(
    spec_schema: dict[str, Any],
) -> None:
    props = spec_schema["properties"]
    assert props["replicas"]["default"] == 1
    assert props["shutdownGracePeriodSeconds"]["default"] == 25
    assert props["kafka"]["properties"]["autoOffsetReset"]["default"] == "earliest"
    assert "default" not in props["probes"]
    assert "default" not in props["metrics"]


def _models_with_rules() -> list[type[v1alpha1.ApiModel]]:
    return [
        value
        for value in vars(v1alpha1).values()
        if isinstance(value, type) and issubclass(value, v1alpha1.ApiModel) and rules_of(value)
    ]


@pytest.mark.parametrize("model", _models_with_rules(), ids=lambda m: m.__name__)
def test_every_python_rule_is_in_the_crd_as_cel(
    model: type[v1alpha1.ApiModel], version: dict[str, Any]
) -> None:
    in_crd = [
        validation
        for _, node in _walk(version["schema"]["openAPIV3Schema"])
        for validation in node.get("x-kubernetes-validations", [])
    ]
    for rule in rules_of(model):
        assert rule.as_crd() in in_crd, f"{model.__name__}: {rule.message}"


def test_every_rule_message_names_a_field_path() -> None:
    for model in _models_with_rules():
        for rule in rules_of(model):
            assert rule.message.startswith("spec."), rule.message
            assert ": " in rule.message, rule.message


def test_conditions_are_a_list_map_keyed_by_type(version: dict[str, Any]) -> None:
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    conditions = status["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]


# Every field that names another object (ConfigMap, Secret, ServiceAccount, PVC,
# StorageClass). A new field of that kind must use v1alpha1.ObjectName and be listed here.
OBJECT_NAME_FIELDS = {
    ".envFrom[].configMapRef.name",
    ".envFrom[].secretRef.name",
    ".env[].valueFrom.secretKeyRef.name",
    ".env[].valueFrom.configMapKeyRef.name",
    ".kafka.security.sasl.secretRef.name",
    ".kafka.security.tls.secretRef.name",
    ".serviceAccountName",
    ".imagePullSecrets[].name",
    ".volumes[].persistentVolumeClaim.claimName",
    ".volumes[].persistentVolumeClaim.storageClassName",
    ".volumes[].configMap.name",
    ".volumes[].secret.name",
    ".expose.tlsSecretName",
}
_LOOKS_LIKE_AN_OBJECT_NAME = re.compile(
    r"(Ref\.name|Secrets\[\]\.name|AccountName|[cC]laimName|secretName|configMapName)$"
)


def _name_rule(spec_schema: dict[str, Any]) -> dict[str, str]:
    (rule,) = spec_schema["properties"]["serviceAccountName"]["x-kubernetes-validations"]
    return dict(rule)


def test_every_field_naming_another_object_carries_the_one_name_rule(
    spec_schema: dict[str, Any],
) -> None:
    rule = _name_rule(spec_schema)
    checked = {
        path
        for path, node in _walk(spec_schema)
        if rule in node.get("x-kubernetes-validations", [])
    }
    assert checked == OBJECT_NAME_FIELDS
    for path, node in _walk(spec_schema):
        if path in OBJECT_NAME_FIELDS:
            assert node["type"] == "string", path
            assert node["maxLength"] == 253, path
        elif _LOOKS_LIKE_AN_OBJECT_NAME.search(path):
            pytest.fail(f"spec{path} looks like an object name: use v1alpha1.ObjectName")


def test_the_name_rule_is_the_python_pattern_as_a_cel_literal(spec_schema: dict[str, Any]) -> None:
    # CEL refuses unknown escapes such as "\." (cel-go parser/unescape.go), so every
    # backslash of the pattern is doubled in the literal, and nothing else is escaped.
    rule = _name_rule(spec_schema)
    assert rule["message"] == v1alpha1.OBJECT_NAME_MESSAGE
    literal = re.fullmatch(r"self\.matches\('(.*)'\)", rule["rule"])
    assert literal is not None, rule
    assert re.fullmatch(r"(?:[^\\']|\\\\)*", literal.group(1)), "an escape other than \\\\"
    assert literal.group(1).replace("\\\\", "\\") == v1alpha1.DNS_SUBDOMAIN
