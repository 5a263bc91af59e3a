"""HuleEduService v1alpha1: the spec and status models.

These pydantic models are the single source of truth for the resource: the CRD in
``crds/`` is generated from them (:mod:`huleedu_operator.api.crd`), the renderer
consumes them, and the ``render`` CLI validates input with them. Field descriptions
become ``kubectl explain`` text, so write them for the user.

Field names are camelCase on the wire (Kubernetes convention) and snake_case in Python.
Kubernetes-native sub-objects the operator passes through untouched (affinity, env
``valueFrom`` sources other than ConfigMap and Secret keys) are kept as free-form objects
rather than re-modelled: the API server validates them again when the Deployment is
applied. Every name of another object is modelled, as :data:`ObjectName`: the operator
reads ConfigMaps by those names, so a name must never be able to say more than a name.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError, core_schema

from huleedu_operator.api.rules import Rule, rules_of
from huleedu_runtime import contract

GROUP = "huleedu.io"
VERSION = "v1alpha1"
KIND = "HuleEduService"
PLURAL = "huleeduservices"
SINGULAR = "huleeduservice"
SHORT_NAMES = ("hes",)
CATEGORIES = ("huleedu",)

ServiceType = Literal["http", "worker"]

# The name of a ConfigMap, Secret, ServiceAccount or PVC (Kubernetes validates them as
# DNS-1123 subdomains, IsDNS1123Subdomain). One pattern for every field that names another
# object: through ObjectName below, in the model and (as CEL) in the CRD.
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_SUBDOMAIN_MAX_LENGTH = 253
OBJECT_NAME_MESSAGE = (
    f"must be an object name in this namespace: at most {DNS_SUBDOMAIN_MAX_LENGTH} "
    "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit "
    "(a DNS-1123 subdomain); give the name as kubectl get shows it, not a path"
)
DNS_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
NAME_MESSAGE = (
    "metadata.name: must be a DNS label (lowercase letters, digits and '-', starting "
    "with a letter), because it names the Service and the other children; rename it"
)
_ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
_TOPIC_PATTERN = r"^[a-zA-Z0-9._-]+$"

# CEL spellings of HuleEduServiceSpec.http_port() / metrics_port(), for rules that need
# the effective ports (defaults are applied by the renderer, not the schema).
_CEL_HTTP_PORT = f"(has(self.port) ? self.port : {contract.DEFAULT_HTTP_PORT})"
# Variables the operator derives from spec fields: setting them by hand would silently
# break the agreement between probes, Service, grace period and consumer settings.
# Every name the operator renders (render/env.py: the contract variables, the Kafka
# ConfigMap, the SASL secretKeyRefs) and the runtime's Kafka TLS files, plain and with
# spec.envPrefix: a setting or env entry of that name would override what the operator
# derived (env beats the ConfigMap's envFrom), a security-protocol downgrade included.
_SASL_SECRET = "spec.kafka.security.sasl.secretRef"  # noqa: S105 - a field path
_TLS_SECRET = "spec.kafka.security.tls.secretRef"  # noqa: S105 - a field path
RESERVED_ENV: dict[str, str] = {
    contract.Env.SERVICE_NAME: "metadata.name",
    contract.Env.SERVICE_VERSION: "the tag of spec.image",
    contract.Env.LOG_FORMAT: "its own setting (json)",
    contract.Env.PORT: "spec.port",
    contract.Env.METRICS_PORT: "spec.metrics.port",
    contract.Env.METRICS_PATH: "spec.metrics.path",
    contract.Env.SHUTDOWN_TIMEOUT_SECONDS: "spec.shutdownGracePeriodSeconds",
    contract.Env.SHUTDOWN_DRAIN_SECONDS: "spec.shutdownDrainSeconds",
    contract.Env.HEARTBEAT_FILE: "its heartbeat liveness probe",
    contract.Env.KAFKA_BOOTSTRAP_SERVERS: "spec.kafka.bootstrapServers",
    contract.Env.KAFKA_CONSUMER_GROUP: "spec.kafka.consumerGroup",
    contract.Env.KAFKA_TOPICS: "spec.kafka.topics",
    contract.Env.KAFKA_AUTO_OFFSET_RESET: "spec.kafka.autoOffsetReset",
    contract.Env.KAFKA_MAX_POLL_RECORDS: "spec.kafka.maxPollRecords",
    contract.Env.KAFKA_SESSION_TIMEOUT_MS: "spec.kafka.sessionTimeoutMs",
    contract.Env.KAFKA_HEARTBEAT_INTERVAL_MS: "spec.kafka.heartbeatIntervalMs",
    contract.Env.KAFKA_MAX_POLL_INTERVAL_MS: "spec.kafka.maxPollIntervalMs",
    contract.Env.KAFKA_HANDLER_TIMEOUT_SECONDS: "spec.kafka.handlerTimeoutSeconds",
    contract.Env.KAFKA_SECURITY_PROTOCOL: "spec.kafka.security.protocol",
    contract.Env.KAFKA_SASL_MECHANISM: "spec.kafka.security.sasl.mechanism",
    contract.Env.KAFKA_SASL_USERNAME: _SASL_SECRET,
    contract.Env.KAFKA_SASL_PASSWORD: _SASL_SECRET,
    contract.Env.KAFKA_SSL_DIR: _TLS_SECRET,
    contract.Env.KAFKA_SSL_CAFILE: _TLS_SECRET,
    contract.Env.KAFKA_SSL_CERTFILE: _TLS_SECRET,
    contract.Env.KAFKA_SSL_KEYFILE: _TLS_SECRET,
}
_CEL_RESERVED = "[" + ", ".join(f"'{n}'" for n in RESERVED_ENV) + "]"


def _reserved_by_source() -> str:
    sources: dict[str, list[str]] = {}
    for name, source in RESERVED_ENV.items():
        sources.setdefault(source, []).append(name)
    return ", ".join(f"{' and '.join(names)} from {s}" for s, names in sources.items())


_RESERVED_HINT = (
    "the operator sets it, plain and with spec.envPrefix ("
    + _reserved_by_source()
    + "); set the spec field instead"
)


def reserved_env_names(prefix: str | None) -> frozenset[str]:
    """The names a setting or env entry may not have under ``spec.envPrefix`` ``prefix``."""
    return frozenset(RESERVED_ENV) | {f"{prefix}{n}" for n in RESERVED_ENV if prefix}


def _cel_is_reserved(name: str) -> str:
    return (
        f"({name} in {_CEL_RESERVED} || (has(self.envPrefix) "
        f"&& {_CEL_RESERVED}.exists(r, {name} == self.envPrefix + r)))"
    )


# A word of the name (between underscores) says it holds a credential, unless the last
# word says it only points at one (DB_PASSWORD_FILE, TOKEN_URL, SECRET_NAME): the
# importer's looks_like_credential, which sends such variables to a Secret.
_CREDENTIAL_NAME = (
    r"(?i)(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|APIKEY|API_KEY|PRIVATE_KEY|CREDENTIALS?)(_|$)"
)
_POINTS_AT_A_CREDENTIAL = r"(?i)_(FILE|PATH|DIR|URL|NAME|ID|ALGORITHM)$"
CREDENTIAL_SETTING_MESSAGE = (
    "spec.settings: a key looks like a credential (PASSWORD, SECRET, TOKEN, API_KEY, "
    "PRIVATE_KEY, CREDENTIAL...), and settings are literal values in the pod spec that "
    "anyone who can read the Deployment can read; keep the value in a Secret and name it "
    "in env[].valueFrom.secretKeyRef (or import it with envFrom[].secretRef)"
)


def looks_like_a_credential(name: str) -> bool:
    return bool(re.search(_CREDENTIAL_NAME, name) and not re.search(_POINTS_AT_A_CREDENTIAL, name))


_CEL_METRICS_PORT = (
    "(has(self.metrics) && has(self.metrics.port) ? self.metrics.port : "
    f"(self.type == 'http' ? {_CEL_HTTP_PORT} : {contract.DEFAULT_METRICS_PORT}))"
)


# Kafka refuses topic names longer than 249 characters, and "." and "..". A consumed topic
# also names its dead-letter topic (topic + DLQ_SUFFIX), which must fit as well.
KAFKA_TOPIC_MAX_LENGTH = 249
TOPIC_MAX_LENGTH = KAFKA_TOPIC_MAX_LENGTH - len(contract.DLQ_SUFFIX)
TOPIC_MESSAGE = (
    f"a topic name is at most {TOPIC_MAX_LENGTH} characters (Kafka's "
    f"{KAFKA_TOPIC_MAX_LENGTH} less the '{contract.DLQ_SUFFIX}' of its dead-letter topic) of "
    "letters, digits, '.', '_' and '-', and not '.' or '..'; rename the topic"
)


def _topic_name(value: str) -> str:
    if (
        len(value) > TOPIC_MAX_LENGTH
        or not re.fullmatch(_TOPIC_PATTERN, value)
        or value in (".", "..")
    ):
        raise PydanticCustomError("topic_name", TOPIC_MESSAGE)
    return value


TopicName = Annotated[
    str,
    AfterValidator(_topic_name),
    WithJsonSchema(
        {
            "type": "string",
            # The bound keeps CEL's cost estimate small; the rule says what a name may be.
            "maxLength": KAFKA_TOPIC_MAX_LENGTH,
            "x-kubernetes-validations": [
                {
                    "rule": f"size(self) <= {TOPIC_MAX_LENGTH} "
                    f"&& self.matches('{_TOPIC_PATTERN}') && self != '.' && self != '..'",
                    "message": TOPIC_MESSAGE,
                }
            ],
        }
    ),
]
Arg = Annotated[str, StringConstraints(max_length=4096)]


def _cel_string(value: str) -> str:
    """``value`` as a CEL string literal (CEL rejects unknown escapes such as ``\\.``)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _object_name(value: str) -> str:
    # fullmatch, not match: "$" alone would let a trailing newline through, and RE2 (the
    # API server's CEL) does not.
    if len(value) > DNS_SUBDOMAIN_MAX_LENGTH or not re.fullmatch(DNS_SUBDOMAIN, value):
        # A custom error keeps pydantic's "Value error, " prefix off the message, so the
        # CLI and the InvalidSpec condition print "<field path>: <message>" as the API
        # server does.
        raise PydanticCustomError("object_name", OBJECT_NAME_MESSAGE)
    return value


ObjectName = Annotated[
    str,
    AfterValidator(_object_name),
    # The CRD checks the length as a bound and the pattern as CEL, whose message (unlike
    # a pattern's "should match '^[a-z0-9]...'") says what a name may be and what to do.
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": DNS_SUBDOMAIN_MAX_LENGTH,
            "x-kubernetes-validations": [
                {
                    "rule": f"self.matches({_cel_string(DNS_SUBDOMAIN)})",
                    "message": OBJECT_NAME_MESSAGE,
                }
            ],
        }
    ),
]
"""The name of another object in the resource's namespace (ConfigMap, Secret,
ServiceAccount, PVC). Such names end up as one segment of a request path or as a
reference the kubelet resolves; the pattern keeps ``/``, ``..``, ``?`` and ``%`` out."""


@dataclasses.dataclass(frozen=True)
class Matches:
    """A string field's pattern, said in words: ``Annotated[str, Matches(...)]``.

    A bare ``pattern`` makes the API server answer ``should match '^[A-Z][A-Z0-9_]*_$'``
    and pydantic ``String should match pattern ...``; this puts the pattern in a CEL rule
    with ``message`` (what the value may be, and the fix) and checks the same offline.
    The field path is not part of the message: both enforcers print it before it.
    """

    pattern: str
    message: str
    max_length: int
    min_length: int = 0

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        bounds: dict[str, Any] = {"maxLength": self.max_length}
        if self.min_length:
            bounds["minLength"] = self.min_length
        return {
            "type": "string",
            **bounds,
            "x-kubernetes-validations": [
                {"rule": f"self.matches({_cel_string(self.pattern)})", "message": self.message}
            ],
        }

    def _check(self, value: str) -> str:
        if not (self.min_length <= len(value) <= self.max_length) or not re.fullmatch(
            self.pattern, value
        ):
            raise PydanticCustomError("pattern_in_words", self.message)
        return value


EnvName = Annotated[
    str,
    Matches(
        _ENV_NAME_PATTERN,
        "must be an environment variable name: letters, digits and '_', not starting with a "
        "digit, at most 256 characters (DB_URL); rename it",
        max_length=256,
        min_length=1,
    ),
]
EnvPrefix = Annotated[
    str,
    Matches(
        r"^[A-Z][A-Z0-9_]*_$",
        "must be upper-case letters, digits and '_', starting with a letter and ending with "
        "'_', at most 64 characters (CONTENT_SERVICE_); write it as the image's variable "
        "names begin",
        max_length=64,
    ),
]
HttpPath = Annotated[
    str,
    Matches(
        r"^/.*$",
        "must be an absolute HTTP path, starting with '/' (/healthz, /metrics); add the "
        "leading '/'",
        max_length=1024,
    ),
]
Duration = Annotated[
    str,
    Matches(
        _DURATION_PATTERN,
        "must be a duration: numbers with the units ms, s, m or h (30s, 1m30s, 500ms); "
        "write it that way",
        max_length=32,
    ),
]
BootstrapServers = Annotated[
    str,
    Matches(
        r"^[^,\s]+:[0-9]+(,[^,\s]+:[0-9]+)*$",
        "must be a comma-separated list of host:port without spaces "
        "(kafka-0.kafka:9092,kafka-1.kafka:9092); give every broker its port",
        max_length=2048,
    ),
]


def _int_or_string() -> dict[str, Any]:
    return {"x-kubernetes-int-or-string": True}


def _free_form() -> dict[str, Any]:
    return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


# --- pod labels, annotations, node selector ---------------------------------------------
# Label and annotation keys are qualified names (IsQualifiedName): an optional DNS-subdomain
# prefix of at most 253 characters and "/", then a name of at most 63 characters. Two
# patterns, because RE2 cannot bound the prefix's length and check its shape in one.
QUALIFIED_NAME = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_QUALIFIED_PREFIX_LENGTH = r"^([^/]{1,253}/)?[^/]*$"
LABEL_VALUE = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"
LABEL_VALUE_MAX_LENGTH = 63
MAP_MAX_PROPERTIES = 64
ANNOTATION_VALUE_MAX_LENGTH = 4096
"""64 annotations of 4 KiB: the API server's 256 KiB for all of an object's annotations."""
SELECTOR_LABEL_KEYS = ("app.kubernetes.io/instance", contract.LABEL_SERVICE)
"""The pod selector's labels (render/labels.py selector_labels): the operator sets them."""
SECURITY_ANNOTATION_PREFIXES = (
    "container.apparmor.security.beta.kubernetes.io/",  # AppArmor: unconfined, localhost/*
    "seccomp.security.alpha.kubernetes.io/",  # the pod's seccomp profile (pre-1.27 kubelets)
    "container.seccomp.security.alpha.kubernetes.io/",  # a container's seccomp profile
    "security.alpha.kubernetes.io/",  # sysctls and unsafe-sysctls
    "io.kubernetes.cri-o.",  # CRI-O's allowed annotations: devices, userns, cgroups, shm
    "io.katacontainers.",  # Kata: hypervisor, kernel and guest options
    "dev.gvisor.",  # gVisor: sandbox options
    "run.oci.",  # crun: seccomp, groups, handler options
)
"""Annotations a kubelet or container runtime reads to change what the pod may do. The
operator sets the pod's securityContext (restricted); none of these may loosen it."""
_QUALIFIED_NAME_HINT = (
    "an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', '_' "
    "or '.', starting and ending with a letter or digit (team, example.com/owner); rename "
    "the key"
)


def _key_message(field: str, what: str) -> str:
    return f"spec.{field}: keys must be {what} keys: {_QUALIFIED_NAME_HINT}"


def _label_value_message(field: str) -> str:
    return (
        f"spec.{field}: values must be label values: at most {LABEL_VALUE_MAX_LENGTH} "
        "letters, digits, '-', '_' or '.', starting and ending with a letter or digit (or "
        "empty); shorten or rename the value"
    )


def _count_message(field: str) -> str:
    return f"spec.{field}: may have at most {MAP_MAX_PROPERTIES} entries; remove some"


SELECTOR_LABELS_MESSAGE = (
    "spec.podLabels: "
    + " and ".join(SELECTOR_LABEL_KEYS)
    + " are the pod selector's labels, which the operator sets; remove them (any other "
    "key is fine)"
)
ANNOTATION_VALUE_MESSAGE = (
    f"spec.podAnnotations: a value may be at most {ANNOTATION_VALUE_MAX_LENGTH} characters; "
    "put large data in a ConfigMap and mount it (spec.volumes)"
)
SECURITY_ANNOTATION_MESSAGE = (
    "spec.podAnnotations: an annotation under "
    + ", ".join(SECURITY_ANNOTATION_PREFIXES)
    + " would change the pod's security profile (AppArmor, seccomp, sysctls, container "
    "runtime options) past the restricted securityContext the operator sets; remove it"
)


def is_qualified_name(key: str) -> bool:
    return bool(re.fullmatch(QUALIFIED_NAME, key) and re.fullmatch(_QUALIFIED_PREFIX_LENGTH, key))


def _keys_rule(field: str, what: str) -> dict[str, str]:
    return {
        "rule": f"self.all(k, k.matches({_cel_string(QUALIFIED_NAME)}) "
        f"&& k.matches({_cel_string(_QUALIFIED_PREFIX_LENGTH)}))",
        "message": _key_message(field, what),
    }


def _label_map_schema(field: str, *rules: dict[str, str]) -> dict[str, Any]:
    """The CRD schema of a map of labels: bounded, label keys, label values."""
    return {
        "maxProperties": MAP_MAX_PROPERTIES,
        "additionalProperties": {
            "type": "string",
            "maxLength": LABEL_VALUE_MAX_LENGTH,
            "x-kubernetes-validations": [
                {
                    "rule": f"self.matches({_cel_string(LABEL_VALUE)})",
                    "message": _label_value_message(field),
                }
            ],
        },
        "x-kubernetes-validations": [_keys_rule(field, "label"), *rules],
    }


def _annotation_map_schema() -> dict[str, Any]:
    prefixes = " || ".join(f"k.startsWith('{p}')" for p in SECURITY_ANNOTATION_PREFIXES)
    return {
        "maxProperties": MAP_MAX_PROPERTIES,
        "additionalProperties": {"type": "string", "maxLength": ANNOTATION_VALUE_MAX_LENGTH},
        "x-kubernetes-validations": [
            _keys_rule("podAnnotations", "annotation"),
            {"rule": f"!self.exists(k, {prefixes})", "message": SECURITY_ANNOTATION_MESSAGE},
        ],
    }


def _string_map_problems(field: str, value: dict[str, str]) -> list[str]:
    """The model's twin of the CRD's checks on podLabels, nodeSelector and podAnnotations."""
    labels = field != "podAnnotations"
    problems: list[str] = []
    if len(value) > MAP_MAX_PROPERTIES:
        problems.append(_count_message(field))
    if not all(is_qualified_name(k) for k in value):
        problems.append(_key_message(field, "label" if labels else "annotation"))
    if labels and not all(
        len(v) <= LABEL_VALUE_MAX_LENGTH and re.fullmatch(LABEL_VALUE, v) for v in value.values()
    ):
        problems.append(_label_value_message(field))
    if field == "podLabels" and set(value) & set(SELECTOR_LABEL_KEYS):
        problems.append(SELECTOR_LABELS_MESSAGE)
    if not labels:
        if any(len(v) > ANNOTATION_VALUE_MAX_LENGTH for v in value.values()):
            problems.append(ANNOTATION_VALUE_MESSAGE)
        if any(k.startswith(SECURITY_ANNOTATION_PREFIXES) for k in value):
            problems.append(SECURITY_ANNOTATION_MESSAGE)
    return problems


class ApiModel(BaseModel):
    """Base for every wire model: camelCase aliases, unknown fields rejected.

    Rules listed in a subclass's ``__rules__`` are checked after field validation, and
    every failing rule is reported (not just the first) with its field path.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )

    @model_validator(mode="after")
    def _check_rules(self) -> ApiModel:
        failed = [r for r in rules_of(type(self)) if not r.transition and not r.check(self)]
        if failed:
            raise ValueError("; ".join(r.message for r in failed))
        return self

    def wire(self) -> dict[str, Any]:
        """The object as it appears in the cluster (camelCase, unset fields omitted)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# --- Kubernetes pass-through shapes --------------------------------------------------


class LocalObjectReference(ApiModel):
    name: ObjectName = Field(description="Name of the object.")


class KeySelector(ApiModel):
    """One key of a ConfigMap or Secret in the resource's namespace."""

    name: ObjectName = Field(description="Name of the ConfigMap or Secret.")
    key: str = Field(min_length=1, max_length=253, description="The key to read.")
    optional: bool | None = Field(
        default=None, description="Start even when the object or the key does not exist."
    )


class EnvVarSource(ApiModel):
    """Where a variable's value comes from, as in a Pod spec. The ConfigMap and Secret
    key selectors are modelled (their names are checked); other sources (fieldRef,
    resourceFieldRef, ...) pass through untouched."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}
    )

    secret_key_ref: KeySelector | None = Field(default=None, description="A key of a Secret.")
    config_map_key_ref: KeySelector | None = Field(
        default=None, description="A key of a ConfigMap."
    )


class EnvVar(ApiModel):
    """A container environment variable, as in a Pod spec."""

    __rules__ = (
        Rule(
            # The API server would refuse it only when the Deployment is applied, naming
            # the rendered container's env entry instead of the user's.
            cel="!(has(self.value) && has(self.valueFrom))",
            message="spec.env[]: set value or valueFrom, not both; a value read from a "
            "Secret or ConfigMap goes in valueFrom alone",
            field_path="",
            check=lambda m: m.value is None or m.value_from is None,
        ),
    )

    name: EnvName = Field(description="Variable name.")
    value: str | None = Field(default=None, max_length=32768, description="Literal value.")
    value_from: EnvVarSource | None = Field(
        default=None,
        description="Source for the value (secretKeyRef, configMapKeyRef, fieldRef, ...).",
    )


class KeyedReference(ApiModel):
    name: ObjectName = Field(description="Name of the object.")
    optional: bool | None = Field(
        default=None, description="Start even when the object does not exist."
    )


class EnvFromSource(ApiModel):
    """Import every key of a ConfigMap or Secret as environment variables."""

    __rules__ = (
        Rule(
            cel="has(self.configMapRef) != has(self.secretRef)",
            message="spec.envFrom[]: set exactly one of configMapRef or secretRef",
            field_path="",
            check=lambda m: (m.config_map_ref is None) != (m.secret_ref is None),
        ),
    )

    prefix: str | None = Field(default=None, max_length=128, description="Prefix for every key.")
    config_map_ref: KeyedReference | None = Field(default=None, description="ConfigMap to import.")
    secret_ref: KeyedReference | None = Field(default=None, description="Secret to import.")


class ResourceRequirements(ApiModel):
    """Compute resources of the app container (as in a Pod spec)."""

    limits: dict[str, int | str] | None = Field(
        default=None,
        description="Maximum resources, e.g. {cpu: 500m, memory: 256Mi}.",
        json_schema_extra={
            "type": "object",
            "additionalProperties": _int_or_string(),
        },
    )
    requests: dict[str, int | str] | None = Field(
        default=None,
        description="Guaranteed resources, e.g. {cpu: 100m, memory: 128Mi}. "
        "Defaults to cpu 100m, memory 128Mi. The HPA's CPU target is a percentage of this.",
        json_schema_extra={
            "type": "object",
            "additionalProperties": _int_or_string(),
        },
    )


class Toleration(ApiModel):
    key: str | None = Field(default=None, max_length=316)
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = Field(default=None, max_length=63)
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None


# --- HuleEdu-specific shapes ---------------------------------------------------------


class ProbeSpec(ApiModel):
    """One HTTP probe. Unset fields take the contract's defaults."""

    path: HttpPath | None = Field(
        default=None,
        description="HTTP path. Default: /healthz/live (liveness), /healthz (readiness).",
    )
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port to probe; must be spec.port (http) or spec.metrics.port. "
        "Default: spec.port for http, spec.metrics.port for worker.",
    )
    initial_delay_seconds: int = Field(default=0, ge=0, le=3600)
    period_seconds: int = Field(default=10, ge=1, le=3600)
    timeout_seconds: int = Field(default=2, ge=1, le=3600)
    failure_threshold: int = Field(default=3, ge=1, le=100)


class Probes(ApiModel):
    """Liveness, readiness and optional startup probes (HTTP GET), or a worker's heartbeat
    liveness."""

    enabled: bool = Field(
        default=True,
        description="Turn off for images that expose no HTTP port (pure Kafka workers "
        "without a metrics server).",
    )
    heartbeat: bool = Field(
        default=True,
        description="With enabled: false, a worker still gets an exec liveness probe: "
        f"`{' '.join(contract.HEARTBEAT_COMMAND)} --max-age "
        f"{contract.HEARTBEAT_MAX_AGE_SECONDS}`, which fails when the runtime stopped "
        f"touching {contract.DEFAULT_HEARTBEAT_FILE} (consumer task dead, handler stuck). "
        "Set false for an image not built on the HuleEdu runtime. Ignored for http.",
    )
    liveness: ProbeSpec | None = Field(default=None, description="Liveness probe overrides.")
    readiness: ProbeSpec | None = Field(default=None, description="Readiness probe overrides.")
    startup: ProbeSpec | None = Field(
        default=None,
        description="Startup probe (HTTP GET, default path /healthz/live), rendered only when "
        "set: until it succeeds the kubelet holds liveness and readiness off, so a slow start "
        "(cache warm-up, model load) gets failureThreshold x periodSeconds without loosening "
        "liveness. Not rendered for a worker with enabled: false.",
    )


class SecretKeySelector(ApiModel):
    name: ObjectName = Field(description="Secret name (same namespace).")


class SaslSpec(ApiModel):
    """SASL credentials, read from a Secret. Never inline credentials in the resource."""

    mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default=contract.DEFAULT_KAFKA_SASL_MECHANISM, description="SASL mechanism."
    )
    secret_ref: SecretKeySelector = Field(
        description="Secret holding the credentials under usernameKey and passwordKey."
    )
    username_key: str = Field(default="username", max_length=253)
    password_key: str = Field(default="password", max_length=253)


class TlsSpec(ApiModel):
    """TLS material for the broker connection, read from a Secret (mounted read-only)."""

    secret_ref: SecretKeySelector = Field(
        description="Secret with ca.crt, and tls.crt/tls.key for mutual TLS."
    )


class KafkaSecurity(ApiModel):
    """How the consumer authenticates to the broker."""

    __rules__ = (
        Rule(
            cel="self.protocol.startsWith('SASL_') == has(self.sasl)",
            message="spec.kafka.security.sasl: required exactly when protocol is SASL_PLAINTEXT "
            "or SASL_SSL; set sasl.secretRef or change the protocol",
            field_path=".sasl",
            check=lambda m: m.protocol.startswith("SASL_") == (m.sasl is not None),
        ),
        Rule(
            cel="!has(self.tls) || self.protocol.endsWith('SSL')",
            message="spec.kafka.security.tls: only used with protocol SSL or SASL_SSL; "
            "change the protocol or remove tls",
            field_path=".tls",
            check=lambda m: m.tls is None or m.protocol.endswith("SSL"),
        ),
    )

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="Kafka security.protocol."
    )
    sasl: SaslSpec | None = Field(default=None, description="SASL settings (SASL_* protocols).")
    tls: TlsSpec | None = Field(default=None, description="TLS settings (SSL protocols).")


class KafkaSpec(ApiModel):
    """Kafka consumer settings, rendered into a ConfigMap the pod reads as env."""

    __rules__ = (
        Rule(
            cel="!has(self.heartbeatIntervalMs) || !has(self.sessionTimeoutMs) "
            "|| self.heartbeatIntervalMs < self.sessionTimeoutMs",
            message="spec.kafka.heartbeatIntervalMs: must be lower than sessionTimeoutMs "
            "(a third of it is usual)",
            field_path=".heartbeatIntervalMs",
            check=lambda m: (
                m.heartbeat_interval_ms is None
                or m.session_timeout_ms is None
                or m.heartbeat_interval_ms < m.session_timeout_ms
            ),
        ),
        Rule(
            cel="!has(self.maxPollIntervalMs) || !has(self.sessionTimeoutMs) "
            "|| self.maxPollIntervalMs >= self.sessionTimeoutMs",
            message="spec.kafka.maxPollIntervalMs: must be at least sessionTimeoutMs",
            field_path=".maxPollIntervalMs",
            check=lambda m: (
                m.max_poll_interval_ms is None
                or m.session_timeout_ms is None
                or m.max_poll_interval_ms >= m.session_timeout_ms
            ),
        ),
        Rule(
            cel="!has(self.topics) || self.topics.all(t, self.topics.exists_one(u, u == t))",
            message="spec.kafka.topics: list each topic once",
            field_path=".topics",
            check=lambda m: len(set(m.topics)) == len(m.topics),
        ),
        Rule(
            cel="!has(self.topics) || self.topics.all(t, !t.endsWith('.DLQ'))",
            message="spec.kafka.topics: do not consume a dead-letter topic (*.DLQ) in the same "
            "group; declare a separate service for DLQ handling",
            field_path=".topics",
            check=lambda m: not any(t.endswith(contract.DLQ_SUFFIX) for t in m.topics),
        ),
    )

    bootstrap_servers: BootstrapServers | None = Field(
        default=None,
        description="Comma-separated host:port list. Default: the operator's "
        "HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS.",
    )
    consumer_group: str | None = Field(
        default=None,
        min_length=1,
        max_length=249,
        description="Consumer group id. Default: the resource's name.",
    )
    topics: list[TopicName] = Field(
        default_factory=list,
        max_length=64,
        description="Topics to consume. A worker needs at least one.",
    )
    auto_offset_reset: Literal["earliest", "latest"] = Field(
        default="earliest", description="Where a new consumer group starts."
    )
    max_poll_records: int = Field(
        default=contract.DEFAULT_KAFKA_MAX_POLL_RECORDS,
        ge=1,
        le=10000,
        description="Records per poll (batch size).",
    )
    session_timeout_ms: int | None = Field(
        default=None, ge=1000, le=3_600_000, description="Kafka session.timeout.ms."
    )
    heartbeat_interval_ms: int | None = Field(
        default=None, ge=100, le=3_600_000, description="Kafka heartbeat.interval.ms."
    )
    max_poll_interval_ms: int | None = Field(
        default=None, ge=1000, le=86_400_000, description="Kafka max.poll.interval.ms."
    )
    handler_timeout_seconds: int | None = Field(
        default=None,
        ge=0,
        le=86_400,
        description="Seconds one handler attempt may take (KAFKA_HANDLER_TIMEOUT_SECONDS); an "
        "attempt that overruns is cancelled and retried, then dead-lettered, and a handler "
        f"still running {contract.HANDLER_TIMEOUT_GRACE_SECONDS}s later fails liveness. 0 "
        f"turns it off. Default: the runtime's {contract.DEFAULT_KAFKA_HANDLER_TIMEOUT_SECONDS}.",
    )
    partitions: int | None = Field(
        default=None,
        ge=1,
        le=10000,
        description="Partition count of the consumed topics. Caps worker autoscaling: a "
        "consumer group cannot use more consumers than partitions.",
    )
    security: KafkaSecurity | None = Field(default=None, description="SASL/TLS settings.")


class MetricsSpec(ApiModel):
    """How Prometheus scrapes the service."""

    __rules__ = (
        Rule(
            # A value that is no duration is refused by its own field's rule; guarded here so
            # the API server does not also report a failed duration() call.
            cel=f"!self.interval.matches({_cel_string(_DURATION_PATTERN)}) "
            f"|| !self.scrapeTimeout.matches({_cel_string(_DURATION_PATTERN)}) "
            "|| duration(self.scrapeTimeout) <= duration(self.interval)",
            message="spec.metrics.scrapeTimeout: must not exceed spec.metrics.interval",
            field_path=".scrapeTimeout",
            check=lambda m: _seconds(m.scrape_timeout) <= _seconds(m.interval),
        ),
    )

    enabled: bool = Field(default=True, description="Expose and scrape /metrics.")
    path: HttpPath = Field(default=contract.METRICS_PATH, description="Metrics path.")
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description=f"Metrics port. Default: spec.port for http, "
        f"{contract.DEFAULT_METRICS_PORT} for worker.",
    )
    interval: Duration = Field(default="30s", description="Scrape interval.")
    scrape_timeout: Duration = Field(default="10s", description="Scrape timeout.")


class AutoscalingSpec(ApiModel):
    """Horizontal autoscaling: an HPA on CPU (http) or a KEDA ScaledObject on consumer lag
    (worker, when KEDA is installed). While enabled, the autoscaler owns the replica count
    and spec.replicas is ignored."""

    __rules__ = (
        Rule(
            cel="self.minReplicas <= self.maxReplicas",
            message="spec.autoscaling.minReplicas: must not exceed spec.autoscaling.maxReplicas",
            field_path=".minReplicas",
            check=lambda m: m.min_replicas <= m.max_replicas,
        ),
    )

    enabled: bool = Field(default=True, description="Create the autoscaler.")
    min_replicas: int = Field(default=1, ge=1, le=1000, description="Lower bound.")
    max_replicas: int = Field(ge=1, le=1000, description="Upper bound.")
    target_cpu_utilization_percentage: int = Field(
        default=80, ge=1, le=100, description="http: average CPU target, % of requests.cpu."
    )
    lag_threshold: int = Field(
        default=100,
        ge=1,
        le=1_000_000,
        description="worker: consumer lag per replica that triggers scaling out.",
    )


_PERCENT = r"^(100|[1-9]?[0-9])%$"


def _budget_value_message(field: str) -> str:
    return (
        f"spec.disruptionBudget.{field}: must be a pod count (0 or more) or a percentage from "
        "0% to 100%, e.g. 1 or 25%; write a number without quotes, or a whole percentage"
    )


def _budget_value_schema(field: str) -> dict[str, Any]:
    return {
        **_int_or_string(),
        "x-kubernetes-validations": [
            {
                "rule": f"type(self) == int ? int(self) >= 0 : string(self).matches('{_PERCENT}')",
                "message": _budget_value_message(field),
            }
        ],
    }


def percentage(value: int | str) -> int | None:
    """The N of an "N%" budget value, or None for a count (or a malformed string)."""
    if isinstance(value, int) or not re.fullmatch(_PERCENT, value):
        return None
    return int(value[:-1])


class DisruptionBudgetSpec(ApiModel):
    """PodDisruptionBudget for voluntary evictions (node drains)."""

    __rules__ = (
        Rule(
            cel="!(has(self.minAvailable) && has(self.maxUnavailable))",
            message="spec.disruptionBudget: set minAvailable or maxUnavailable, not both",
            field_path=".minAvailable",
            check=lambda m: m.min_available is None or m.max_unavailable is None,
        ),
        Rule(
            cel="!self.enabled || !has(self.maxUnavailable) "
            "|| (type(self.maxUnavailable) == int ? int(self.maxUnavailable) != 0 "
            ": string(self.maxUnavailable) != '0%')",
            message="spec.disruptionBudget.maxUnavailable: 0 lets no pod be evicted, so every "
            "node drain would hang; set at least 1 (or 1%), or enabled: false for no budget",
            field_path=".maxUnavailable",
            check=lambda m: not m.enabled or m.max_unavailable not in (0, "0%"),
        ),
    )

    enabled: bool = Field(default=True, description="Create the PodDisruptionBudget.")
    min_available: int | str | None = Field(
        default=None,
        description="Pods that must stay up: a count below the replica count, or a "
        "percentage (rounded up) that leaves at least one pod evictable.",
        json_schema_extra=_budget_value_schema("minAvailable"),
    )
    max_unavailable: int | str | None = Field(
        default=None,
        description="Pods that may be down: a count of at least 1, or a percentage "
        "(rounded up) above 0%. Default: 1.",
        json_schema_extra=_budget_value_schema("maxUnavailable"),
    )

    @field_validator("min_available", "max_unavailable", mode="before")
    @classmethod
    def _an_int_or_a_string(cls, value: Any, info: ValidationInfo) -> Any:
        # Otherwise 1.5 or true gets pydantic's two union errors (".int: ...", ".str: ...").
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | str)):
            raise ValueError(_budget_value_message(to_camel(info.field_name or "")))
        return value

    @field_validator("min_available", "max_unavailable")
    @classmethod
    def _count_or_percentage(
        cls, value: int | str | None, info: ValidationInfo
    ) -> int | str | None:
        if value is None:
            return value
        if (isinstance(value, int) and value < 0) or (
            isinstance(value, str) and percentage(value) is None
        ):
            raise ValueError(_budget_value_message(to_camel(info.field_name or "")))
        return value


# --- volumes -------------------------------------------------------------------------

_QUANTITY_PATTERN = (
    r"^(0\.[0-9]*[1-9][0-9]*|[1-9][0-9]*(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"
)
Quantity = Annotated[
    str,
    Matches(
        _QUANTITY_PATTERN,
        "must be a size above 0: a number and a unit Ki, Mi, Gi, Ti (or k, M, G, T) such as "
        "512Mi or 10Gi; write it that way",
        max_length=32,
    ),
]
_MOUNT_PATH_PATTERN = r"^(/[A-Za-z0-9._@+-]+)+$"
_DOT_SEGMENT = r"(^|/)[.][.]?(/|$)"
OPERATOR_VOLUMES = ("tmp", "kafka-tls")
"""Volume names the operator renders itself (the writable /tmp, the Kafka TLS Secret)."""
RESERVED_MOUNT_PATHS = (
    "/tmp",  # noqa: S108 - the operator's own emptyDir (heartbeat file, scratch)
    "/app",
    "/etc/huleedu",
    "/proc",
    "/sys",
    "/dev",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
)
"""Mount paths a volume may not be at, under or above: the app's own (the writable /tmp,
the runtime image's /app, the operator's /etc/huleedu mounts) and the system's."""
_CEL_RESERVED_MOUNTS = "[" + ", ".join(f"'{p}'" for p in RESERVED_MOUNT_PATHS) + "]"
SINGLE_NODE_ACCESS_MODES = ("ReadWriteOnce", "ReadWriteOncePod")
_MULTI_NODE_ACCESS_MODES = ("ReadWriteMany", "ReadOnlyMany")
AccessMode = Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]


def mount_path_is_reserved(path: str) -> bool:
    return any(
        path == r or path.startswith(r + "/") or r.startswith(path + "/")
        for r in RESERVED_MOUNT_PATHS
    )


class ClaimVolume(ApiModel):
    """A PersistentVolumeClaim: an existing one by claimName, or a new one (size set) that
    the operator creates as <resource>-<volume name> and owns, so deleting the resource,
    or removing the volume from the spec, deletes the claim (and, with the usual Delete
    reclaim policy, its data)."""

    __rules__ = (
        Rule(
            cel="has(self.claimName) != has(self.size)",
            message="spec.volumes[].persistentVolumeClaim: set claimName (an existing claim) "
            "or size (a new claim the operator creates), exactly one",
            field_path="",
            check=lambda m: (m.claim_name is None) != (m.size is None),
        ),
        Rule(
            cel="has(self.size) || (!has(self.accessModes) && !has(self.storageClassName))",
            message="spec.volumes[].persistentVolumeClaim: accessModes and storageClassName "
            "describe a new claim; with claimName they come from the existing claim, remove "
            "them",
            field_path="",
            check=lambda m: (
                m.size is not None or (m.access_modes is None and m.storage_class_name is None)
            ),
        ),
    )

    claim_name: ObjectName | None = Field(
        default=None,
        description="An existing claim in this namespace; the operator never "
        "changes or deletes it.",
    )
    size: Quantity | None = Field(
        default=None,
        description="A new claim of this size (a quantity, e.g. 10Gi). It may grow later if "
        "the storage class allows expansion; it cannot shrink.",
    )
    access_modes: list[AccessMode] | None = Field(
        default=None,
        min_length=1,
        max_length=4,
        description="New claim only. Default: [ReadWriteOnce]. A ReadWriteOnce or "
        "ReadWriteOncePod claim allows one pod only (replicas 1, autoscaling.maxReplicas 1).",
    )
    storage_class_name: ObjectName | None = Field(
        default=None, description="New claim only. Default: the cluster's default class."
    )
    read_only: bool = Field(default=False, description="Mount read-only.")

    def single_node(self) -> bool:
        """A new claim only one node can mount (existing claims' modes are unknown here)."""
        if self.size is None:
            return False
        return not set(self.access_modes or ["ReadWriteOnce"]) & set(_MULTI_NODE_ACCESS_MODES)


class EmptyDirVolume(ApiModel):
    """Scratch space that lives as long as the pod."""

    size_limit: Quantity = Field(
        default="1Gi",
        description="Most it may hold (the pod is evicted beyond it). Default: 1Gi.",
    )
    medium: Literal["Memory"] | None = Field(
        default=None, description="Memory: a tmpfs, counted against the memory limit."
    )


class VolumeSpec(ApiModel):
    """A volume mounted into the app (and migrations) container at mountPath. Set exactly
    one source: persistentVolumeClaim, configMap, secret or emptyDir. ConfigMap and Secret
    files are always mounted read-only (every key a file); every volume stays writable by
    the app's UID through the pod's fsGroup, with the root filesystem still read-only."""

    __rules__ = (
        Rule(
            cel="(has(self.persistentVolumeClaim) ? 1 : 0) + (has(self.configMap) ? 1 : 0) "
            "+ (has(self.secret) ? 1 : 0) + (has(self.emptyDir) ? 1 : 0) == 1",
            message="spec.volumes[]: set exactly one of persistentVolumeClaim, configMap, "
            "secret or emptyDir",
            field_path="",
            check=lambda m: (
                sum(
                    x is not None
                    for x in (m.persistent_volume_claim, m.config_map, m.secret, m.empty_dir)
                )
                == 1
            ),
        ),
        Rule(
            cel=f"!(self.name in [{', '.join(repr(n) for n in OPERATOR_VOLUMES)}])",
            message="spec.volumes[].name: "
            + " and ".join(OPERATOR_VOLUMES)
            + " are the operator's own volumes; choose another name",
            field_path=".name",
            check=lambda m: m.name not in OPERATOR_VOLUMES,
        ),
        Rule(
            cel=f"!self.mountPath.matches({_cel_string(_DOT_SEGMENT)})",
            message="spec.volumes[].mountPath: may not contain '.' or '..' segments; give "
            "the plain absolute path",
            field_path=".mountPath",
            check=lambda m: re.search(_DOT_SEGMENT, m.mount_path) is None,
        ),
        Rule(
            cel=f"!{_CEL_RESERVED_MOUNTS}.exists(r, self.mountPath == r "
            "|| self.mountPath.startsWith(r + '/') || r.startsWith(self.mountPath + '/'))",
            message="spec.volumes[].mountPath: may not be at, under or above the app's own or "
            "the system's paths (" + ", ".join(RESERVED_MOUNT_PATHS) + "); mount it "
            "elsewhere, e.g. /data or /var/lib/<service>",
            field_path=".mountPath",
            check=lambda m: not mount_path_is_reserved(m.mount_path),
        ),
    )

    name: Annotated[
        str,
        Matches(
            DNS_LABEL,
            "must be a DNS label: at most 63 lowercase letters, digits and '-', starting with "
            "a letter and ending with a letter or digit (data, cache); rename the volume",
            max_length=63,
            min_length=1,
        ),
    ] = Field(
        description="Volume name (a DNS label); a new claim is named <resource>-<name>.",
    )
    mount_path: Annotated[
        str,
        Matches(
            _MOUNT_PATH_PATTERN,
            "must be an absolute path below / of letters, digits and '.', '_', '@', '+', '-' "
            "(/data, /var/lib/app), not / itself; write the full path",
            max_length=512,
        ),
    ] = Field(
        description="Absolute path in the container, e.g. /data. Not /, /tmp, /app, "
        "/etc/huleedu or a system directory, nor under or above one of them.",
    )
    persistent_volume_claim: ClaimVolume | None = Field(
        default=None, description="A PersistentVolumeClaim, existing or new."
    )
    config_map: KeyedReference | None = Field(
        default=None, description="A ConfigMap's keys as read-only files."
    )
    secret: KeyedReference | None = Field(
        default=None, description="A Secret's keys as read-only files (mode 0440)."
    )
    empty_dir: EmptyDirVolume | None = Field(default=None, description="Scratch space.")


# --- exposure ------------------------------------------------------------------------

_HOSTNAME_PATTERN = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_ROUTE_PATH_PATTERN = r"^(/[A-Za-z0-9._~!$&'()*+,;=:@-]+)*/?$"


class ExposePath(ApiModel):
    """One path routed to the service."""

    __rules__ = (
        Rule(
            cel=f"!self.path.matches({_cel_string(_DOT_SEGMENT)})",
            message="spec.expose.paths[].path: may not contain '.' or '..' segments; give the "
            "plain path",
            field_path=".path",
            check=lambda m: re.search(_DOT_SEGMENT, m.path) is None,
        ),
    )

    path: Annotated[
        str,
        Matches(
            _ROUTE_PATH_PATTERN,
            "must be an absolute URL path (/, /v1/content): starting with '/', without '//', "
            "'%'-escapes, spaces, '?' or '#'; write the plain path",
            max_length=1024,
            min_length=1,
        ),
    ] = Field(
        default="/",
        description="Absolute URL path, e.g. /v1/content (no '//', no '%'-escapes).",
    )
    path_type: Literal["Prefix", "Exact"] = Field(
        default="Prefix",
        description="Prefix: the path and everything below it (PathPrefix in an HTTPRoute). "
        "Exact: the path only.",
    )


class ExposeSpec(ApiModel):
    """Exposure outside the cluster: an HTTPRoute on the operator's configured Gateway when
    the Gateway API is installed, otherwise an Ingress. http only."""

    __rules__ = (
        Rule(
            cel="!has(self.paths) || self.paths.all(p, "
            "self.paths.exists_one(q, q.path == p.path && q.pathType == p.pathType))",
            message="spec.expose.paths: list each path once",
            field_path=".paths",
            check=lambda m: len({(p.path, p.path_type) for p in m.paths}) == len(m.paths),
        ),
    )

    host: Annotated[
        str,
        Matches(
            _HOSTNAME_PATTERN,
            "must be a DNS name in lowercase, without a port or a path (content.huleedu.example, "
            "or *.huleedu.example for a wildcard); write the bare host name",
            max_length=253,
            min_length=1,
        ),
    ] = Field(
        description="Host name clients use, e.g. content.huleedu.example (a DNS name; "
        "'*.' in front for a wildcard).",
    )
    paths: list[ExposePath] = Field(
        default_factory=list,
        max_length=16,
        description="Paths routed to the service. Default: [{path: /, pathType: Prefix}].",
    )
    tls_secret_name: ObjectName | None = Field(
        default=None,
        description="Ingress only: the Secret (kubernetes.io/tls, in this namespace) with the "
        "certificate for host. With an HTTPRoute the Gateway's listener terminates TLS and "
        "holds the certificate; this field is then not used.",
    )

    def effective_paths(self) -> list[ExposePath]:
        return list(self.paths) or [ExposePath()]


_LABEL_KEY_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
DEFAULT_TOPOLOGY_KEYS = ("kubernetes.io/hostname", "topology.kubernetes.io/zone")


class TopologySpreadConstraint(ApiModel):
    """One way to spread the pods (a Pod spec's topologySpreadConstraints entry). The
    operator fills in labelSelector (the pod selector) and matchLabelKeys
    [pod-template-hash], so a rolling update spreads the new ReplicaSet on its own."""

    __rules__ = (
        Rule(
            cel="!has(self.minDomains) || self.whenUnsatisfiable == 'DoNotSchedule'",
            message="spec.topologySpread.constraints[].minDomains: only used with "
            "whenUnsatisfiable: DoNotSchedule; set that or remove minDomains",
            field_path=".minDomains",
            check=lambda m: m.min_domains is None or m.when_unsatisfiable == "DoNotSchedule",
        ),
    )

    topology_key: Annotated[
        str,
        Matches(
            _LABEL_KEY_PATTERN,
            "must be a node label key (kubernetes.io/hostname, topology.kubernetes.io/zone): "
            "an optional DNS-subdomain prefix and '/', then letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit; give the label's key",
            max_length=316,
            min_length=1,
        ),
    ] = Field(
        description="Node label whose values are the domains, e.g. kubernetes.io/hostname "
        "or topology.kubernetes.io/zone.",
    )
    max_skew: int = Field(
        default=1, ge=1, le=1000, description="Largest allowed difference in pod count."
    )
    when_unsatisfiable: Literal["ScheduleAnyway", "DoNotSchedule"] = Field(
        default="ScheduleAnyway",
        description="ScheduleAnyway: a preference (pods still start on one node or zone). "
        "DoNotSchedule: a hard rule (pods stay Pending).",
    )
    min_domains: int | None = Field(
        default=None, ge=1, le=1000, description="DoNotSchedule only: domains to count at least."
    )


class TopologySpreadSpec(ApiModel):
    """How the pods are spread over nodes and zones."""

    __rules__ = (
        Rule(
            cel="!has(self.constraints) "
            "|| self.constraints.all(c, "
            "self.constraints.exists_one(d, d.topologyKey == c.topologyKey))",
            message="spec.topologySpread.constraints: list each topologyKey once",
            field_path=".constraints",
            check=lambda m: (
                len({c.topology_key for c in m.constraints or []}) == len(m.constraints or [])
            ),
        ),
    )

    enabled: bool = Field(
        default=True, description="false: render no topologySpreadConstraints at all."
    )
    constraints: list[TopologySpreadConstraint] | None = Field(
        default=None,
        max_length=8,
        description="Replace the default. Default, whenever more than one pod may run "
        "(replicas > 1, or autoscaling.maxReplicas > 1): maxSkew 1 over "
        + " and ".join(DEFAULT_TOPOLOGY_KEYS)
        + ", whenUnsatisfiable ScheduleAnyway. Constraints given here are rendered for any "
        "replica count.",
    )


# --- network isolation ---------------------------------------------------------------

# A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63
# characters; a label value: at most 63 characters, empty allowed.
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_SELECTOR_KEY_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?" + _LABEL_NAME + "$"
)
_SELECTOR_VALUE_PATTERN = r"^(" + _LABEL_NAME + ")?$"
LABEL_KEY_MESSAGE = (
    "keys must be label keys: an optional DNS subdomain and '/', then at most 63 letters, "
    "digits, '-', '_' or '.', starting and ending with a letter or digit"
)
_MATCH_LABELS_MAX = 8


def is_label_key(key: str) -> bool:
    return len(key) <= 317 and re.fullmatch(_SELECTOR_KEY_PATTERN, key) is not None


def is_label_value(value: str) -> bool:
    return re.fullmatch(_SELECTOR_VALUE_PATTERN, value) is not None


def _match_labels(value: dict[str, str]) -> dict[str, str]:
    if not all(is_label_key(k) for k in value):
        raise PydanticCustomError("label_key", LABEL_KEY_MESSAGE)
    if not all(is_label_value(v) for v in value.values()):
        raise PydanticCustomError(
            "label_value",
            "values must be label values: at most 63 letters, digits, '-', "
            "'_' or '.', starting and ending with a letter or digit",
        )
    return value


MatchLabels = Annotated[
    dict[str, str],
    AfterValidator(_match_labels),
    Field(max_length=_MATCH_LABELS_MAX),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": _MATCH_LABELS_MAX,
            "additionalProperties": {
                "type": "string",
                "maxLength": 63,
                "x-kubernetes-validations": [
                    {
                        "rule": f"self.matches({_cel_string(_SELECTOR_VALUE_PATTERN)})",
                        "message": "values must be label values: at most 63 letters, digits, "
                        "'-', '_' or '.', starting and ending with a letter or digit",
                    }
                ],
            },
            "x-kubernetes-validations": [
                {
                    "rule": f"self.all(k, size(k) <= 317 "
                    f"&& k.matches({_cel_string(_SELECTOR_KEY_PATTERN)}))",
                    "message": LABEL_KEY_MESSAGE,
                }
            ],
        }
    ),
]
"""A label selector's matchLabels: at most 8 label key/value pairs."""


class LabelSelector(ApiModel):
    """Selects objects by their labels (matchLabels only). Empty: selects every one."""

    match_labels: MatchLabels | None = Field(
        default=None, description="Labels the object must all carry."
    )


class NetworkPeer(ApiModel):
    """Further pods allowed in, with NetworkPolicy peer meaning: namespaceSelector alone
    admits every pod in the matching namespaces, podSelector alone the matching pods in
    this namespace, both the matching pods in the matching namespaces. Namespaces are
    matched by their labels; kubernetes.io/metadata.name carries the name."""

    __rules__ = (
        Rule(
            cel="has(self.namespaceSelector) || has(self.podSelector)",
            message="spec.networkPolicy.ingressFrom[]: set namespaceSelector, podSelector or both",
            field_path="",
            check=lambda m: m.namespace_selector is not None or m.pod_selector is not None,
        ),
    )

    namespace_selector: LabelSelector | None = Field(
        default=None,
        description="Namespaces, by label (e.g. kubernetes.io/metadata.name: "
        "ingress-nginx); {} selects every namespace.",
    )
    pod_selector: LabelSelector | None = Field(
        default=None, description="Pods, by label; {} selects every pod."
    )


class NetworkPolicySpec(ApiModel):
    """Ingress isolation of the pods: a NetworkPolicy the operator renders by default.
    Allowed in: the service port (http) from pods in this namespace, the metrics port
    from the operator's scraper (its namespace and pod labels are operator settings),
    and every declared port from ingressFrom. Nothing else; egress is not restricted."""

    __rules__ = (
        Rule(
            cel="self.enabled || !has(self.ingressFrom)",
            message="spec.networkPolicy.ingressFrom: has no effect with enabled: false; "
            "remove it or enable the policy",
            field_path=".ingressFrom",
            check=lambda m: m.enabled or m.ingress_from is None,
        ),
    )

    enabled: bool = Field(
        default=True,
        description="false: render no NetworkPolicy; the pods accept whatever the "
        "cluster's other policies allow.",
    )
    ingress_from: list[NetworkPeer] | None = Field(
        default=None,
        max_length=8,
        description="Further sources allowed to every port the pod declares (spec.port "
        "and spec.metrics.port), e.g. an ingress controller's namespace.",
    )


class MigrationsSpec(ApiModel):
    """A command run as an init container before the app starts (e.g. alembic upgrade)."""

    command: list[Arg] = Field(
        min_length=1, max_length=32, description="Command to run, e.g. [alembic, upgrade, head]."
    )
    args: list[Arg] | None = Field(default=None, max_length=64, description="Its arguments.")
    image: str | None = Field(
        default=None, max_length=1024, description="Image to run it in. Default: spec.image."
    )


# The pod count a minAvailable must stay below: the autoscaler's floor, or spec.replicas.
_CEL_PDB_PODS = (
    "(has(self.autoscaling) && self.autoscaling.enabled "
    "? self.autoscaling.minReplicas : self.replicas)"
)


def _probe_port_declared(spec: HuleEduServiceSpec, probe: str) -> bool:
    return spec.probe_port_declared(probe)


# CEL for HuleEduServiceSpec.consumes(), shared by the rules that cap consumers.
_CONSUMES_CEL = "has(self.kafka) && has(self.kafka.topics) && size(self.kafka.topics) > 0"


class HuleEduServiceSpec(ApiModel):
    """Desired state of a HuleEdu service."""

    __rules__ = (
        Rule(
            cel="self.type != 'worker' || (has(self.kafka) && size(self.kafka.topics) > 0)",
            message="spec.kafka.topics: a worker needs at least one topic",
            field_path=".kafka.topics",
            check=lambda m: m.type != "worker" or (m.kafka is not None and bool(m.kafka.topics)),
        ),
        Rule(
            cel="self.type == 'http' || !has(self.port)",
            message="spec.port: only http services have a service port; a worker serves "
            "health and metrics on spec.metrics.port",
            field_path=".port",
            check=lambda m: m.type == "http" or m.port is None,
        ),
        # Every resource that consumes (a worker, or an http service with topics) is one
        # consumer group: more consumers than partitions sit idle.
        Rule(
            cel="!has(self.autoscaling) || !self.autoscaling.enabled "
            f"|| !({_CONSUMES_CEL}) "
            "|| (has(self.kafka.partitions) "
            "&& self.autoscaling.maxReplicas <= self.kafka.partitions)",
            message="spec.autoscaling.maxReplicas: a consumer group cannot use more consumers "
            "than partitions; set spec.kafka.partitions and keep maxReplicas at or below it",
            field_path=".autoscaling.maxReplicas",
            check=lambda m: (
                not m.autoscaled()
                or not m.consumes()
                or (
                    m.kafka is not None
                    and m.kafka.partitions is not None
                    and m.autoscaling is not None
                    and m.autoscaling.max_replicas <= m.kafka.partitions
                )
            ),
        ),
        Rule(
            # While autoscaling, spec.replicas is ignored (the maxReplicas rule applies).
            cel=f"!({_CONSUMES_CEL}) || !has(self.kafka.partitions) || !has(self.replicas) "
            "|| (has(self.autoscaling) && self.autoscaling.enabled) "
            "|| self.replicas <= self.kafka.partitions",
            message="spec.replicas: a consumer group cannot use more consumers than partitions; "
            "keep replicas at or below spec.kafka.partitions",
            field_path=".replicas",
            check=lambda m: (
                m.consumer_cap() is None or m.autoscaled() or m.replicas <= (m.consumer_cap() or 0)
            ),
        ),
        Rule(
            # Omitted probes are enabled (the model's default), so only an explicit
            # probes.enabled: false exempts a worker without a metrics server.
            cel="(has(self.probes) && !self.probes.enabled) || self.type == 'http' "
            "|| !has(self.metrics) || self.metrics.enabled",
            message="spec.probes.enabled: a worker serves its health endpoints on the metrics "
            "server; enable spec.metrics or set probes.enabled: false",
            field_path=".probes.enabled",
            check=lambda m: not m.probes.enabled or m.type == "http" or m.metrics.enabled,
        ),
        *(
            Rule(
                cel=f"!has(self.probes) || !self.probes.enabled || !has(self.probes.{probe}) "
                f"|| !has(self.probes.{probe}.port) "
                f"|| ((!has(self.metrics) || self.metrics.enabled) "
                f"&& self.probes.{probe}.port == {_CEL_METRICS_PORT}) "
                f"|| (self.type == 'http' && self.probes.{probe}.port == {_CEL_HTTP_PORT})",
                message=f"spec.probes.{probe}.port: must be a port the container declares "
                "(spec.port, or spec.metrics.port while metrics are enabled)",
                field_path=f".probes.{probe}.port",
                check=functools.partial(_probe_port_declared, probe=probe),
            )
            for probe in ("liveness", "readiness", "startup")
        ),
        Rule(
            cel="!has(self.disruptionBudget) || !self.disruptionBudget.enabled "
            "|| !has(self.disruptionBudget.minAvailable) "
            "|| (type(self.disruptionBudget.minAvailable) == string "
            f"? (!string(self.disruptionBudget.minAvailable).matches('{_PERCENT}') "
            "|| int(string(self.disruptionBudget.minAvailable).replace('%', '')) "
            f"* {_CEL_PDB_PODS} <= 100 * ({_CEL_PDB_PODS} - 1)) "
            f": int(self.disruptionBudget.minAvailable) < {_CEL_PDB_PODS})",
            message="spec.disruptionBudget.minAvailable: must be lower than the replica count "
            "(spec.autoscaling.minReplicas while autoscaling; a percentage of it is rounded "
            "up), or no pod could ever be evicted and node drains would hang; lower it, or "
            "use maxUnavailable: 1",
            field_path=".disruptionBudget.minAvailable",
            check=lambda m: m.pdb_allows_eviction(),
        ),
        Rule(
            cel=f"!has(self.settings) || !self.settings.exists(k, {_cel_is_reserved('k')})",
            message=f"spec.settings: a key is reserved: {_RESERVED_HINT}",
            field_path=".settings",
            check=lambda m: not set(m.settings or {}) & reserved_env_names(m.env_prefix),
        ),
        Rule(
            cel=f"!has(self.env) || !self.env.exists(e, {_cel_is_reserved('e.name')})",
            message=f"spec.env: a name is reserved: {_RESERVED_HINT}",
            field_path=".env",
            check=lambda m: not {e.name for e in m.env or []} & reserved_env_names(m.env_prefix),
        ),
        Rule(
            cel="self.type == 'http' || !has(self.expose)",
            message="spec.expose: only an http service can be exposed; a worker has no "
            "Service to route to, remove expose",
            field_path=".expose",
            check=lambda m: m.type == "http" or m.expose is None,
        ),
        Rule(
            cel="!has(self.volumes) "
            "|| self.volumes.all(v, self.volumes.exists_one(w, w.name == v.name))",
            message="spec.volumes: give each volume its own name",
            field_path=".volumes",
            check=lambda m: len({v.name for v in m.volumes or []}) == len(m.volumes or []),
        ),
        Rule(
            cel="!has(self.volumes) "
            "|| self.volumes.all(v, self.volumes.exists_one(w, w.mountPath == v.mountPath))",
            message="spec.volumes: give each volume its own mountPath",
            field_path=".volumes",
            check=lambda m: len({v.mount_path for v in m.volumes or []}) == len(m.volumes or []),
        ),
        Rule(
            cel="!has(self.volumes) || !self.volumes.exists(v, has(v.persistentVolumeClaim) "
            "&& has(v.persistentVolumeClaim.size) && (!has(v.persistentVolumeClaim.accessModes) "
            "|| !v.persistentVolumeClaim.accessModes.exists(a, a in "
            + "["
            + ", ".join(f"'{a}'" for a in _MULTI_NODE_ACCESS_MODES)
            + "]))) "
            "|| (has(self.autoscaling) && self.autoscaling.enabled "
            "? self.autoscaling.maxReplicas <= 1 : self.replicas <= 1)",
            message="spec.volumes: a ReadWriteOnce or ReadWriteOncePod claim can be mounted on "
            "one node only, so a second pod would never start; keep spec.replicas (and "
            "spec.autoscaling.maxReplicas) at 1, or give the claim accessModes: [ReadWriteMany]",
            field_path=".volumes",
            check=lambda m: not m.single_node_claims() or not m.may_run_several_pods(),
        ),
        Rule(
            cel="self.shutdownGracePeriodSeconds >= 1",
            message="spec.shutdownGracePeriodSeconds: must be at least 1",
            field_path=".shutdownGracePeriodSeconds",
            check=lambda m: m.shutdown_grace_period_seconds >= 1,
        ),
    )

    type: ServiceType = Field(
        description="http: a Quart app behind a Service. worker: a Kafka consumer, no "
        "Service. Immutable.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self == oldSelf",
                    "message": "spec.type: is immutable; delete and recreate the resource "
                    "to change it",
                }
            ]
        },
    )
    image: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="Container image. Default: the operator's runtime image.",
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        default=None, description="Image pull policy."
    )
    command: list[Arg] | None = Field(
        default=None, max_length=64, description="Entrypoint override. Default: the image's."
    )
    args: list[Arg] | None = Field(default=None, max_length=256, description="Arguments.")
    replicas: int = Field(
        default=1, ge=0, le=1000, description="Pod count (ignored while autoscaling is on)."
    )
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description=f"http only: port the app listens on (PORT). Default: "
        f"{contract.DEFAULT_HTTP_PORT}.",
    )
    env: list[EnvVar] | None = Field(
        default=None, max_length=256, description="Extra environment variables."
    )
    env_from: list[EnvFromSource] | None = Field(
        default=None, max_length=32, description="ConfigMaps/Secrets imported as env."
    )
    settings: dict[str, str] | None = Field(
        default=None,
        description="Service settings rendered as env vars (also with envPrefix). Not for "
        "secrets: use env[].valueFrom.secretKeyRef or envFrom.secretRef.",
        json_schema_extra={
            "maxProperties": 256,
            "additionalProperties": {"type": "string", "maxLength": 32768},
            "x-kubernetes-validations": [
                {
                    "rule": "self.all(k, k.matches('" + _ENV_NAME_PATTERN + "'))",
                    "message": "spec.settings: keys must be environment variable names "
                    "(letters, digits, underscore; not starting with a digit)",
                },
                {
                    "rule": f"!self.exists(k, k.matches({_cel_string(_CREDENTIAL_NAME)}) "
                    f"&& !k.matches({_cel_string(_POINTS_AT_A_CREDENTIAL)}))",
                    "message": CREDENTIAL_SETTING_MESSAGE,
                },
            ],
        },
    )
    env_prefix: EnvPrefix | None = Field(
        default=None,
        description="Also render every contract and settings variable with this prefix "
        "(e.g. CONTENT_SERVICE_ -> CONTENT_SERVICE_PORT), for images that read "
        "prefixed names.",
    )
    resources: ResourceRequirements | None = Field(
        default=None, description="App container resources."
    )
    service_account_name: ObjectName | None = Field(
        default=None, description="Pod service account."
    )
    image_pull_secrets: list[LocalObjectReference] | None = Field(
        default=None, max_length=16, description="Secrets for pulling the image."
    )
    node_selector: dict[str, str] | None = Field(
        default=None,
        description=f"Node labels the pod must match (at most {MAP_MAX_PROPERTIES}).",
        json_schema_extra=_label_map_schema("nodeSelector"),
    )
    tolerations: list[Toleration] | None = Field(
        default=None, max_length=64, description="Pod tolerations."
    )
    affinity: dict[str, Any] | None = Field(
        default=None, description="Pod affinity (as in a Pod spec).", json_schema_extra=_free_form()
    )
    pod_labels: dict[str, str] | None = Field(
        default=None,
        description=f"Extra pod labels (at most {MAP_MAX_PROPERTIES}). Not the selector's "
        + " or ".join(SELECTOR_LABEL_KEYS)
        + "; the operator's other app.kubernetes.io labels win over these.",
        json_schema_extra=_label_map_schema(
            "podLabels",
            {
                "rule": " && ".join(f"!('{k}' in self)" for k in SELECTOR_LABEL_KEYS),
                "message": SELECTOR_LABELS_MESSAGE,
            },
        ),
    )
    pod_annotations: dict[str, str] | None = Field(
        default=None,
        description=f"Extra pod annotations (at most {MAP_MAX_PROPERTIES}, values at most "
        f"{ANNOTATION_VALUE_MAX_LENGTH} characters). Annotations that change the pod's "
        "security profile (AppArmor, seccomp, sysctls, container runtime options) are refused.",
        json_schema_extra=_annotation_map_schema(),
    )
    probes: Probes = Field(default_factory=Probes, description="Liveness/readiness probes.")
    kafka: KafkaSpec | None = Field(
        default=None, description="Kafka consumer settings (required for worker)."
    )
    metrics: MetricsSpec = Field(default_factory=MetricsSpec, description="Metrics scraping.")
    autoscaling: AutoscalingSpec | None = Field(default=None, description="Autoscaling.")
    disruption_budget: DisruptionBudgetSpec | None = Field(
        default=None,
        description="PodDisruptionBudget. Default: one with maxUnavailable 1, which never "
        "blocks draining a single replica.",
    )
    shutdown_grace_period_seconds: int = Field(
        default=contract.DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
        ge=1,
        le=3600,
        description="Time the app has to finish in-flight work after SIGTERM "
        "(SHUTDOWN_TIMEOUT_SECONDS); terminationGracePeriodSeconds is this plus "
        f"spec.shutdownDrainSeconds (http) plus {contract.TERMINATION_GRACE_MARGIN_SECONDS}.",
    )
    shutdown_drain_seconds: int | None = Field(
        default=None,
        ge=0,
        le=300,
        description="http only (a worker ignores it): seconds a terminating pod keeps "
        "serving before it gets SIGTERM (a preStop sleep), so endpoints and kube-proxy "
        "stop sending it new connections first and a rolling update fails no requests. "
        f"0 turns the delay off. Default: {contract.DEFAULT_DRAIN_SECONDS}.",
    )
    migrations: MigrationsSpec | None = Field(
        default=None, description="Init container run before the app starts."
    )
    expose: ExposeSpec | None = Field(
        default=None,
        description="http only: route host (and paths) from outside the cluster to the "
        "Service, through an HTTPRoute (Gateway API installed and a Gateway configured) or "
        "an Ingress.",
    )
    volumes: list[VolumeSpec] | None = Field(
        default=None,
        max_length=16,
        description="Volumes mounted into the app container: claims (existing or new), "
        "ConfigMap and Secret files, emptyDir scratch space.",
    )
    topology_spread: TopologySpreadSpec | None = Field(
        default=None,
        description="Pod topology spread. Default: spread over nodes and zones (a preference, "
        "ScheduleAnyway) whenever more than one pod may run.",
    )
    network_policy: NetworkPolicySpec | None = Field(
        default=None,
        description="Ingress isolation. Default: a NetworkPolicy that admits the service "
        "port (http) from pods in this namespace and the metrics port from the operator's "
        "scraper, nothing else; egress is not restricted.",
    )

    @field_validator("settings")
    @classmethod
    def _settings_keys_are_env_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        # The CRD checks this with CEL on the map; pydantic cannot constrain dict keys
        # without emitting propertyNames, which a structural schema does not allow.
        bad = sorted(k for k in value or {} if not re.fullmatch(_ENV_NAME_PATTERN, k))
        if bad:
            raise ValueError(
                "spec.settings: keys must be environment variable names (letters, digits, "
                f"underscore; not starting with a digit); rename {', '.join(bad)}"
            )
        # A reserved name (KAFKA_SASL_PASSWORD) is left to the reserved-name rule, which
        # names the spec field to use; the API server reports both.
        credentials = sorted(
            k for k in value or {} if looks_like_a_credential(k) and k not in RESERVED_ENV
        )
        if credentials:
            raise ValueError(f"{CREDENTIAL_SETTING_MESSAGE}: {', '.join(credentials)}")
        return value

    @field_validator("node_selector", "pod_labels", "pod_annotations")
    @classmethod
    def _string_maps_are_bounded_and_well_formed(
        cls, value: dict[str, str] | None, info: ValidationInfo
    ) -> dict[str, str] | None:
        # The CRD checks the same with maxProperties, maxLength and CEL on the map.
        problems = _string_map_problems(to_camel(info.field_name or ""), value or {})
        if problems:
            raise ValueError("; ".join(problems))
        return value

    # --- derived values the renderer and the rules share ------------------------------

    def http_port(self) -> int:
        return self.port if self.port is not None else contract.DEFAULT_HTTP_PORT

    def metrics_port(self) -> int:
        if self.metrics.port is not None:
            return self.metrics.port
        return self.http_port() if self.type == "http" else contract.DEFAULT_METRICS_PORT

    def drain_seconds(self) -> int:
        """The preStop delay: http pods drain before SIGTERM, workers have no Service."""
        if self.type != "http":
            return 0
        if self.shutdown_drain_seconds is None:
            return contract.DEFAULT_DRAIN_SECONDS
        return self.shutdown_drain_seconds

    def termination_grace_period_seconds(self) -> int:
        """Drain, then the shutdown timeout, then a margin: SIGKILL never lands mid-way."""
        return (
            self.drain_seconds()
            + self.shutdown_grace_period_seconds
            + contract.TERMINATION_GRACE_MARGIN_SECONDS
        )

    def heartbeat_liveness(self) -> bool:
        """A worker without HTTP probes is kept alive by its heartbeat file instead."""
        return self.type == "worker" and not self.probes.enabled and self.probes.heartbeat

    def probe_port_declared(self, probe: str) -> bool:
        if not self.probes.enabled:
            return True
        spec: ProbeSpec | None = getattr(self.probes, probe)
        if spec is None or spec.port is None:
            return True
        # A disabled metrics server opens no port, so a probe there would always fail.
        return (self.metrics.enabled and spec.port == self.metrics_port()) or (
            self.type == "http" and spec.port == self.http_port()
        )

    def autoscaled(self) -> bool:
        return self.autoscaling is not None and self.autoscaling.enabled

    def consumes(self) -> bool:
        """A consumer group: a worker, or an http service with topics."""
        return self.kafka is not None and bool(self.kafka.topics)

    def consumer_cap(self) -> int | None:
        """The most consumers that can hold a partition (None: unknown)."""
        return self.kafka.partitions if self.consumes() and self.kafka is not None else None

    def claims(self) -> list[tuple[VolumeSpec, ClaimVolume]]:
        return [
            (v, v.persistent_volume_claim)
            for v in self.volumes or []
            if v.persistent_volume_claim is not None
        ]

    def single_node_claims(self) -> bool:
        return any(c.single_node() for _, c in self.claims())

    def may_run_several_pods(self) -> bool:
        """More than one pod at once: replicas > 1, or an autoscaler allowed to go there."""
        if self.autoscaling is not None and self.autoscaling.enabled:
            return self.autoscaling.max_replicas > 1
        return self.replicas > 1

    def pdb_allows_eviction(self) -> bool:
        budget = self.disruption_budget
        if budget is None or not budget.enabled or budget.min_available is None:
            return True
        floor = self.autoscaling.min_replicas if self.autoscaling and self.autoscaled() else None
        pods = floor if floor is not None else self.replicas
        if isinstance(budget.min_available, int):
            return budget.min_available < pods
        # The disruption controller rounds a minAvailable percentage up: ceil(p * pods / 100)
        # must stay below pods, i.e. p * pods <= 100 * (pods - 1).
        percent = percentage(budget.min_available)
        return percent is None or percent * pods <= 100 * (pods - 1)


class Condition(BaseModel):
    """A KEP-1623 condition (metav1.Condition)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", max_length=1024)
    message: str = Field(default="", max_length=32768)
    observed_generation: int | None = None
    last_transition_time: str = Field(description="RFC 3339 time of the last status change.")


class HuleEduServiceStatus(BaseModel):
    """Observed state, written by the operator."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    observed_generation: int | None = Field(
        default=None, description="The spec generation this status describes."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready, Progressing, Degraded, one per child kind "
        "(DeploymentReady, ServiceReady, ...), and TopicsReady on resources that consume "
        "spec.kafka.topics (do they exist on the broker; Unknown unless the operator "
        "checks).",
    )
    replicas: int | None = Field(default=None, description="Pods (scale subresource).")
    ready_replicas: int | None = Field(default=None, description="Ready pods.")
    selector: str | None = Field(default=None, description="Pod label selector (scale).")
    url: str | None = Field(default=None, description="http: in-cluster URL of the Service.")
    image: str | None = Field(default=None, description="Image the Deployment runs.")


def _seconds(duration: str) -> float:
    """Seconds in a Go-style duration such as ``1m30s`` (the CRD pattern guarantees shape)."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)(ms|s|m|h)", duration))


class HuleEduService(BaseModel):
    """A whole resource as read from YAML or the API (metadata kept as given)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    api_version: Literal["huleedu.io/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["HuleEduService"]
    metadata: dict[str, Any]
    spec: HuleEduServiceSpec

    @field_validator("metadata")
    @classmethod
    def _metadata_has_a_name(cls, value: dict[str, Any]) -> dict[str, Any]:
        # Every child is named after the resource; the CRD caps the name at 63 characters
        # because Service names and label values cannot be longer.
        name = value.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("metadata.name: required; name the service")
        if len(name) > 63:
            raise ValueError("metadata.name: may not be more than 63 characters; shorten it")
        if not re.fullmatch(DNS_LABEL, name):  # match() lets a trailing newline through
            raise ValueError(NAME_MESSAGE)
        return value

    @property
    def name(self) -> str:
        return str(self.metadata["name"])

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "default")
