"""Secrets and ConfigMaps a HuleEduService names, and what the kubelet's complaint about
a missing one means in terms of the spec. Pure.

The operator has no Secret permissions (by design), so it never checks that a Secret
exists. The kubelet does: a container whose env cannot be resolved waits with reason
``CreateContainerConfigError`` and the error of ``makeEnvironmentVariables``
(``pkg/kubelet/kubelet_pods.go``) as its message. This module turns that message back
into the spec fields at fault, so status can say which field to fix instead of only
what the kubelet saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from huleedu_operator.api.v1alpha1 import HuleEduService, KeyedReference, KeySelector

Kind = Literal["Secret", "ConfigMap"]

# The kubelet's wording (v1.36). A missing object is the NotFound error of its object
# manager: the default watch-based manager names the resource in the singular
# (``secret "db" not found``), the get/TTL-cache managers relay the API server's
# (``secrets "db" not found``). A missing key is the kubelet's own:
# ``couldn't find key password in Secret ns/db``.
_NOT_FOUND = re.compile(r'\b(secret|configmap)s? "([^"]+)" not found')
_NO_KEY = re.compile(r"couldn't find key (\S+) in (Secret|ConfigMap) [^/\s]+/(\S+)")
_KINDS: dict[str, Kind] = {"secret": "Secret", "configmap": "ConfigMap"}


@dataclass(frozen=True)
class Reference:
    """One place in the spec that names a Secret or ConfigMap (optional ones excluded:
    the kubelet starts the container without them)."""

    kind: Kind
    name: str
    field: str  # spec path of the object's name
    key: str | None = None  # the key read from it; None when the whole object is used
    key_field: str | None = None  # spec path of that key
    can_be_optional: bool = False  # the fix may be to mark it optional


def spec_references(resource: HuleEduService) -> list[Reference]:
    """Every required Secret/ConfigMap reference of ``resource``, in spec order."""
    spec = resource.spec
    refs: list[Reference] = []
    for i, var in enumerate(spec.env or []):
        if var.value_from is None:
            continue
        key_refs: tuple[tuple[KeySelector | None, Kind, str], ...] = (
            (var.value_from.secret_key_ref, "Secret", "secretKeyRef"),
            (var.value_from.config_map_key_ref, "ConfigMap", "configMapKeyRef"),
        )
        for selector, kind, source in key_refs:
            if selector is None or selector.optional:
                continue
            path = f"spec.env[{i}].valueFrom.{source}"
            refs.append(
                Reference(
                    kind,
                    selector.name,
                    f"{path}.name",
                    selector.key,
                    f"{path}.key",
                    can_be_optional=True,
                )
            )
    for i, env_from in enumerate(spec.env_from or []):
        sources: tuple[tuple[KeyedReference | None, Kind, str], ...] = (
            (env_from.config_map_ref, "ConfigMap", "configMapRef"),
            (env_from.secret_ref, "Secret", "secretRef"),
        )
        for ref, kind, source in sources:
            if ref is not None and not ref.optional:
                path = f"spec.envFrom[{i}].{source}.name"
                refs.append(Reference(kind, ref.name, path, can_be_optional=True))
    security = spec.kafka.security if spec.kafka is not None else None
    if security is not None and security.sasl is not None:
        # Rendered as two secretKeyRef env vars (render/env.py), never optional.
        sasl = security.sasl
        for key, key_field in (
            (sasl.username_key, "usernameKey"),
            (sasl.password_key, "passwordKey"),
        ):
            refs.append(
                Reference(
                    "Secret",
                    sasl.secret_ref.name,
                    "spec.kafka.security.sasl.secretRef.name",
                    key,
                    f"spec.kafka.security.sasl.{key_field}",
                )
            )
    if security is not None and security.tls is not None:
        # A mounted volume: the kubelet reports a missing one as a FailedMount Event while
        # the pod waits in ContainerCreating, but when the same Secret is also read as env
        # its absence is reported here and this field is at fault too.
        refs.append(
            Reference(
                "Secret", security.tls.secret_ref.name, "spec.kafka.security.tls.secretRef.name"
            )
        )
    return refs


def kubelet_complaint(message: str) -> tuple[Kind, str, str | None] | None:
    """``(kind, name, key)`` of the object (key None) or key the kubelet could not find."""
    found = _NO_KEY.search(message)
    if found:
        key, kind, name = found.groups()
        return _KINDS[kind.lower()], name, key
    found = _NOT_FOUND.search(message)
    if found:
        kind, name = found.groups()
        return _KINDS[kind], name, None
    return None


@dataclass(frozen=True)
class Explanation:
    """A kubelet complaint in the spec's terms: the fields at fault and a sentence."""

    fields: tuple[str, ...]
    kind: Kind
    name: str
    key: str | None
    all_optional: bool  # every field at fault may be marked optional instead

    def message(self, namespace: str, seen: str) -> str:
        """``<fields>: <what is wrong> (<what the kubelet saw>); <the fix>``."""
        fields = ", ".join(self.fields)
        if self.key is None:
            what = f'{self.kind} "{self.name}" does not exist in namespace {namespace}'
            fix = "create it"
            if self.all_optional:
                fix += (
                    " or mark the reference" + ("s" if len(self.fields) > 1 else "") + " optional"
                )
        else:
            what = f'{self.kind} "{self.name}" in namespace {namespace} has no key "{self.key}"'
            fix = (
                f"add the key to the {self.kind}, correct the key, or mark the reference optional"
                if self.all_optional
                else f"add the key to the {self.kind} or correct the key"
            )
        return f"{fields}: {what} ({seen}); {fix}"


def explain(message: str, refs: list[Reference]) -> Explanation | None:
    """The spec fields the kubelet's ``message`` is about, or None when it names nothing
    the spec references (e.g. an old ReplicaSet's pod failing on a dropped reference)."""
    complaint = kubelet_complaint(message)
    if complaint is None:
        return None
    kind, name, key = complaint
    if key is None:
        matching = [r for r in refs if r.kind == kind and r.name == name]
        fields = tuple(dict.fromkeys(r.field for r in matching))
    else:
        matching = [r for r in refs if r.kind == kind and r.name == name and r.key == key]
        fields = tuple(dict.fromkeys(r.key_field for r in matching if r.key_field))
    if not fields:
        return None
    return Explanation(fields, kind, name, key, all(r.can_be_optional for r in matching))
