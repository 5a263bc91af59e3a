"""Generate the HuleEduService CustomResourceDefinition from the pydantic models.

Pydantic emits JSON Schema (draft 2020-12); the API server wants a *structural*
OpenAPI v3 schema: no ``$ref``, no ``anyOf`` for optionality, no ``title``, no
``additionalProperties`` beside ``properties``. :func:`structural` translates one into
the other, and attaches each model's :class:`~huleedu_operator.api.rules.Rule` list as
``x-kubernetes-validations`` so cross-field mistakes are rejected at admission.

The committed ``crds/`` file is this module's output; a unit test fails when they
differ (regenerate with ``make crd``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from huleedu_operator.api import v1alpha1
from huleedu_operator.api.rules import rules_of

_DROP = {"title", "$defs"}


def _models_by_name() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for value in vars(v1alpha1).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            found[value.__name__] = value
    return found


def structural(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Translate one pydantic JSON Schema node (and its children) to structural form."""
    defs = schema.get("$defs", defs) or {}
    models = _models_by_name()
    return _convert(schema, defs, models, model_name=schema.get("title"))


def _convert(
    node: dict[str, Any],
    defs: dict[str, Any],
    models: dict[str, type[BaseModel]],
    model_name: str | None = None,
) -> dict[str, Any]:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, defs, models, model_name=name)

    node = dict(node)
    if "anyOf" in node:
        branches = [b for b in node.pop("anyOf") if b.get("type") != "null"]
        if node.get("x-kubernetes-int-or-string") or sorted(
            b.get("type", "") for b in branches
        ) == ["integer", "string"]:
            node["x-kubernetes-int-or-string"] = True
            branches = []
        elif len(branches) == 1:
            inner = _convert(branches[0], defs, models)
            node = {**inner, **node}
        elif branches:
            raise ValueError(f"cannot express a union in a structural schema: {branches}")

    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "default" and (value is None or isinstance(value, dict | list)):
            # Object/list defaults are applied by the renderer: a schema default there
            # would be copied into every stored object and hide what the user wrote.
            continue
        if key == "additionalProperties":
            if isinstance(value, bool):
                continue
            out[key] = _convert(value, defs, models)
        elif key == "properties":
            out[key] = {k: _convert(v, defs, models) for k, v in value.items()}
        elif key == "items":
            out[key] = _convert(value, defs, models)
        else:
            out[key] = value

    if out.get("x-kubernetes-preserve-unknown-fields"):
        out.pop("additionalProperties", None)
    if "properties" in out or "additionalProperties" in out:
        out.setdefault("type", "object")

    model = models.get(model_name or "")
    if model is not None:
        rules = [r.as_crd() for r in rules_of(model)]
        if rules:
            out["x-kubernetes-validations"] = [*out.get("x-kubernetes-validations", []), *rules]
    return out


def _status_schema() -> dict[str, Any]:
    schema = structural(v1alpha1.HuleEduServiceStatus.model_json_schema(by_alias=True))
    conditions = schema["properties"]["conditions"]
    conditions["x-kubernetes-list-type"] = "map"
    conditions["x-kubernetes-list-map-keys"] = ["type"]
    conditions["maxItems"] = 32
    return schema


def custom_resource_definition() -> dict[str, Any]:
    """The complete CRD object, ready to ``kubectl apply``."""
    spec_schema = structural(v1alpha1.HuleEduServiceSpec.model_json_schema(by_alias=True))
    root = {
        "type": "object",
        "description": "A HuleEdu service: a Quart HTTP app or a Kafka worker, deployed "
        "with its Service, Kafka consumer settings, metrics scraping, disruption budget "
        "and autoscaler.",
        "required": ["spec"],
        "x-kubernetes-validations": [
            {
                "rule": f"self.metadata.name.matches('{v1alpha1.DNS_LABEL}')",
                "message": v1alpha1.NAME_MESSAGE,
                "fieldPath": ".metadata.name",
            }
        ],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {
                "type": "object",
                "properties": {"name": {"type": "string", "maxLength": 63}},
            },
            "spec": spec_schema,
            "status": _status_schema(),
        },
    }
    ready = '.status.conditions[?(@.type=="Ready")]'
    degraded = '.status.conditions[?(@.type=="Degraded")]'
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{v1alpha1.PLURAL}.{v1alpha1.GROUP}",
            "labels": {"app.kubernetes.io/part-of": "huleedu-operator"},
        },
        "spec": {
            "group": v1alpha1.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": v1alpha1.KIND,
                "listKind": f"{v1alpha1.KIND}List",
                "plural": v1alpha1.PLURAL,
                "singular": v1alpha1.SINGULAR,
                "shortNames": list(v1alpha1.SHORT_NAMES),
                "categories": list(v1alpha1.CATEGORIES),
            },
            "versions": [
                {
                    "name": v1alpha1.VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": root},
                    "subresources": {
                        "status": {},
                        "scale": {
                            "specReplicasPath": ".spec.replicas",
                            "statusReplicasPath": ".status.replicas",
                            "labelSelectorPath": ".status.selector",
                        },
                    },
                    "additionalPrinterColumns": [
                        {"name": "Type", "type": "string", "jsonPath": ".spec.type"},
                        {"name": "Ready", "type": "string", "jsonPath": f"{ready}.status"},
                        # Ready and Degraded are both True while the old pods serve and a
                        # change cannot roll out; Ready alone would hide that.
                        {
                            "name": "Degraded",
                            "type": "string",
                            "jsonPath": f"{degraded}.status",
                        },
                        {
                            "name": "Replicas",
                            "type": "string",
                            "jsonPath": ".status.readyReplicas",
                            "description": "Ready pods",
                        },
                        {"name": "Image", "type": "string", "jsonPath": ".status.image"},
                        {
                            "name": "Reason",
                            "type": "string",
                            "jsonPath": f"{ready}.reason",
                            "priority": 1,
                        },
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                }
            ],
        },
    }
