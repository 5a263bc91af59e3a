"""docker compose -> HuleEduService, as pure functions (no I/O, no compose library).

Each rule of the README's "Moving from docker compose" table is one function here, so
the unit tests can hold each to its word. :func:`convert` applies them to a whole
:class:`~huleedu_operator.importer.project.ComposeProject` and returns the manifests and
the report; what it cannot convert it says, with the reason and what to do instead.

Nothing a compose file says about a credential's *value* is ever put in the output:
values are only read where no credential-looking variable fed them.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from huleedu_operator.api.v1alpha1 import (
    RESERVED_ENV,
    HuleEduService,
    HuleEduServiceSpec,
    Probes,
    VolumeSpec,
)
from huleedu_operator.importer.project import ComposeProject, Finding, ImportResult
from huleedu_operator.render.defaults import RenderDefaults
from huleedu_runtime import contract

PLACEHOLDER = "<set me>"
IMPORTED_FROM = "huleedu.io/imported-from"
SECRET_SUFFIX = "-credentials"  # noqa: S105 - a name suffix, not a value

# --- names ---------------------------------------------------------------------------


def dns_label(name: str) -> str:
    """A compose service name as a DNS label: lowercase, ``_`` (and anything else that a
    label may not hold) becomes ``-``, starting with a letter, at most 63 characters."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    label = re.sub(r"-{2,}", "-", label).strip("-")
    if not label or not label[0].isalpha():
        label = f"svc-{label}".rstrip("-")
    return label[:63].rstrip("-")


# --- infrastructure ------------------------------------------------------------------

# Image words -> what to run on Kubernetes instead. Matched against the image's
# repository path (registry and tag removed), in this order.
INFRASTRUCTURE: tuple[tuple[str, str, str], ...] = (
    ("postgres", "PostgreSQL", "CloudNativePG (one Cluster per database) or a managed database"),
    ("zookeeper", "ZooKeeper", "nothing: Strimzi runs Kafka in KRaft mode, without ZooKeeper"),
    ("kafka", "Kafka", "Strimzi (a Kafka cluster, and a KafkaTopic per topic)"),
    ("redis", "Redis", "the OT redis-operator, or the Bitnami redis chart"),
    ("jaeger", "Jaeger", "the Jaeger or OpenTelemetry operator"),
    (
        "prometheus",
        "Prometheus",
        "kube-prometheus-stack (the operator then creates ServiceMonitors/PodMonitors)",
    ),
    ("grafana", "Grafana", "kube-prometheus-stack (it ships Grafana)"),
)


def image_repository(image: str) -> str:
    """``registry:5000/org/name:tag@sha256:...`` -> ``org/name`` (lowercase)."""
    path = image.split("@", 1)[0].lower()
    parts = path.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    last = parts[-1].split(":", 1)[0]
    return "/".join([*parts[:-1], last])


def infrastructure_of(image: str | None) -> tuple[str, str] | None:
    """(what it is, what to use instead) for an infrastructure image, else None."""
    if not image:
        return None
    repository = image_repository(image)
    for word, what, instead in INFRASTRUCTURE:
        if word in repository:
            return what, instead
    return None


# --- commands ------------------------------------------------------------------------


def as_argv(value: Any) -> list[str] | None:
    """A compose ``command``/``entrypoint`` (string or list) as an argv list."""
    if value is None:
        return None
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


_WORKER_WORDS = re.compile(r"worker|consumer|consume", re.IGNORECASE)


def is_worker_command(argv: Sequence[str] | None) -> bool:
    """``pdm run start_worker``, ``python -m x.worker``, ``celery worker``..."""
    return any(_WORKER_WORDS.search(a) for a in argv or ())


_ONE_SHOT_WORDS = re.compile(
    r"kafka-topics(\.sh)?\b.*--create|\balembic\b.*\bupgrade\b|\bmigrate\b", re.DOTALL
)


def is_one_shot(service: Mapping[str, Any]) -> bool:
    """A container meant to exit: ``restart: "no"``/``on-failure`` set explicitly, or a
    command that creates topics or runs migrations."""
    restart = str(service.get("restart", "")).strip().lower()
    if restart in {"no", "on-failure", "false"} or restart.startswith("on-failure:"):
        return True
    argv = as_argv(service.get("command")) or []
    return bool(_ONE_SHOT_WORDS.search(" ".join(argv)))


def bootstrap_topics(argv: Sequence[str] | None) -> list[str]:
    """Topics a bootstrap command creates (``kafka-topics --create --topic X``, also
    ``--topic=X``, also inside ``sh -c "..."``), sorted, each once."""
    words: list[str] = []
    for arg in argv or ():
        try:
            words.extend(shlex.split(arg) if " " in arg else [arg])
        except ValueError:
            words.append(arg)
    topics: set[str] = set()
    for i, word in enumerate(words):
        if word == "--topic" and i + 1 < len(words):
            topics.add(words[i + 1])
        elif word.startswith("--topic="):
            topics.add(word.split("=", 1)[1])
    return sorted(t for t in topics if re.fullmatch(r"[a-zA-Z0-9._-]+", t))


# --- ports ---------------------------------------------------------------------------


def container_ports(ports: Iterable[Any] | None) -> list[int]:
    """The container side of each ``ports`` entry (``"8001:8000"`` -> 8000, ``"8000"``,
    ``"127.0.0.1:8001:8000/tcp"``, long syntax ``{target: 8000}``), in order. Ranges are
    skipped (the report says so)."""
    found: list[int] = []
    for entry in ports or ():
        if isinstance(entry, Mapping):
            target = entry.get("target")
            if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
                found.append(int(target))
            continue
        text = str(entry).split("/", 1)[0]
        container = text.rsplit(":", 1)[-1]
        if container.isdigit():
            found.append(int(container))
    return found


def port_env_names(prefix: str | None) -> tuple[str, ...]:
    """The env names that can set the listening port, in the order they are tried."""
    names = ["PORT", "HTTP_PORT"]
    if prefix:
        names += [f"{prefix}PORT", f"{prefix}HTTP_PORT"]
    return tuple(names)


def port_from_env(env: Mapping[str, str | None], prefix: str | None) -> tuple[str, int] | None:
    for name in port_env_names(prefix):
        value = env.get(name)
        if value is not None and value.strip().isdigit():
            return name, int(value.strip())
    return None


# --- durations and healthchecks ------------------------------------------------------

_DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(value: Any) -> float | None:
    """A compose duration (``1m30s``, ``500ms``, ``10s``, or a bare number of seconds)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return float(text)
    parts = re.findall(r"([0-9]+(?:\.[0-9]+)?)(us|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


_LOCAL_URL = re.compile(
    r"https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(?P<port>[0-9]+))?"
    r"(?P<path>/[^\s'\"|;&)]*)?"
)


@dataclass(frozen=True)
class HealthCheck:
    path: str
    port: int
    period: int | None
    timeout: int | None
    retries: int | None
    start_period: int | None
    start_interval: int | None = None


def _whole_seconds(value: Any, low: int, high: int) -> int | None:
    seconds = duration_seconds(value)
    if seconds is None:
        return None
    return max(low, min(high, math.ceil(seconds)))


def parse_healthcheck(healthcheck: Mapping[str, Any] | None) -> HealthCheck | None:
    """The HTTP GET a compose healthcheck performs against the container itself, or
    None (no healthcheck, disabled, or not an HTTP request: ``pg_isready``...)."""
    if not healthcheck or healthcheck.get("disable"):
        return None
    test = healthcheck.get("test")
    if isinstance(test, str):
        text = test
    elif isinstance(test, Sequence) and test:
        if test[0] == "NONE":
            return None
        words = [str(t) for t in test]
        text = " ".join(words[1:] if words[0] in {"CMD", "CMD-SHELL"} else words)
    else:
        return None
    match = _LOCAL_URL.search(text)
    if match is None:
        return None
    port = int(match["port"]) if match["port"] else 80
    retries = healthcheck.get("retries")
    return HealthCheck(
        path=match["path"] or "/",
        port=port,
        period=_whole_seconds(healthcheck.get("interval"), 1, 3600),
        timeout=_whole_seconds(healthcheck.get("timeout"), 1, 3600),
        retries=max(1, min(100, int(retries))) if isinstance(retries, int) else None,
        start_period=_whole_seconds(healthcheck.get("start_period"), 0, 3600),
        start_interval=_whole_seconds(healthcheck.get("start_interval"), 1, 3600),
    )


def api_has_startup_probe() -> bool:
    """spec.probes.startup exists in this version of the API."""
    return "startup" in Probes.model_fields


def api_has_volumes() -> bool:
    """spec.volumes exists in this version of the API."""
    return "volumes" in HuleEduServiceSpec.model_fields


DEFAULT_START_SECONDS = 60
"""The start allowance of a healthcheck without ``start_period`` (compose's default is 0,
but compose never restarts an unhealthy container, so it waits forever)."""


def probes_from(check: HealthCheck, port: int | None) -> tuple[dict[str, Any], list[str]]:
    """spec.probes from a healthcheck: its path and port for liveness and readiness, its
    interval/timeout/retries as periodSeconds/timeoutSeconds/failureThreshold, and a
    startupProbe (periodSeconds = start_interval, else interval; failureThreshold =
    ceil(start_period / periodSeconds) + retries, with :data:`DEFAULT_START_SECONDS`
    when compose sets no start_period), or, while the API has no startup probe, the
    start_period as liveness initialDelaySeconds. Returns the probes and notes for the
    report."""
    notes: list[str] = []
    probe: dict[str, Any] = {"path": check.path}
    if port is not None:
        probe["port"] = port
    if check.period is not None:
        probe["periodSeconds"] = check.period
    if check.timeout is not None:
        probe["timeoutSeconds"] = check.timeout
    if check.retries is not None:
        probe["failureThreshold"] = check.retries
    probes: dict[str, Any] = {"liveness": dict(probe), "readiness": dict(probe)}
    if api_has_startup_probe():
        # Always a startup probe: compose never restarts a container that fails its
        # healthcheck (it is only "unhealthy"), Kubernetes restarts one that fails
        # liveness, so without a start allowance a slow start (a busy node) is killed
        # where compose would have waited.
        period = check.start_interval or check.period or 10
        start = check.start_period or DEFAULT_START_SECONDS
        budget = math.ceil(start / period) + (check.retries or 3)
        probes["startup"] = {**probe, "periodSeconds": period, "failureThreshold": min(100, budget)}
        if not check.start_period:
            notes.append(
                f"no start_period: a startup probe gives it {start}s to start (compose never "
                "restarts an unhealthy container; Kubernetes restarts one that fails "
                "liveness): set start_period to yours"
            )
    elif check.start_period:
        probes["liveness"]["initialDelaySeconds"] = check.start_period
        notes.append(
            f"start_period {check.start_period}s: this API has no startup probe yet, so "
            "it became liveness initialDelaySeconds; move it to spec.probes.startup "
            "when the API has one"
        )
    return probes, notes


# --- env: prefix, secrets, kafka, URLs ----------------------------------------------

_GENERIC_FIRST_WORDS = frozenset(
    {"KAFKA", "DB", "DATABASE", "REDIS", "LOG", "OTEL", "POSTGRES", "HTTP", "JWT", "AWS"}
)


def common_prefix(names: Iterable[str]) -> str | None:
    """The env prefix most names share (``CONTENT_SERVICE_``): shared by at least two
    names and at least half of them, not a generic word (``KAFKA_``, ``DB_``...); the
    longest among those shared by the most names."""
    pool = sorted(set(names))
    counts: dict[str, int] = {}
    for name in pool:
        words = name.split("_")
        for k in range(1, len(words)):
            candidate = "_".join(words[:k]) + "_"
            counts[candidate] = counts.get(candidate, 0) + 1
    need = max(2, math.ceil(len(pool) / 2))
    good = [
        (count, len(p), p)
        for p, count in counts.items()
        if count >= need
        and p.split("_", 1)[0] not in _GENERIC_FIRST_WORDS
        and re.fullmatch(r"[A-Z][A-Z0-9_]*_", p)
        and len(p) <= 64
    ]
    return max(good)[2] if good else None


_CREDENTIAL_WORDS = frozenset(
    {
        "PASSWORD",
        "PASSWD",
        "PWD",
        "PASS",
        "SECRET",
        "TOKEN",
        "KEY",
        "APIKEY",
        "CREDENTIAL",
        "CREDENTIALS",
        "PRIVATE",
    }
)
_NOT_A_CREDENTIAL_END = frozenset({"FILE", "PATH", "DIR", "URL", "NAME", "ID", "ALGORITHM"})
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def looks_like_credential(name: str) -> bool:
    """DB_PASSWORD, JWT_SECRET_KEY, OPENAI_API_KEY, RESULT_API_TOKEN (a word of the name
    is a credential word); not KEY_FILE, SECRET_NAME or TOKEN_URL."""
    words = name.upper().split("_")
    return bool(_CREDENTIAL_WORDS & set(words)) and words[-1] not in _NOT_A_CREDENTIAL_END


def variables_in(traced_value: str | None) -> list[str]:
    return sorted(set(_VARIABLE.findall(traced_value or "")))


def has_embedded_password(value: str | None) -> bool:
    """A URL/DSN with a password in it (``postgresql+asyncpg://u:pw@db:5432/x``)."""
    if not value or "://" not in value:
        return False
    try:
        return bool(urlsplit(value.strip()).password)
    except ValueError:
        return False


def secret_reason(name: str, value: str | None, traced: str | None) -> str | None:
    """Why the variable ``name`` is a credential (so goes to a Secret), or None."""
    credential_vars = [v for v in variables_in(traced) if looks_like_credential(v)]
    if credential_vars:
        return "from " + ", ".join("${" + v + "}" for v in credential_vars)
    if has_embedded_password(value) or has_embedded_password(traced):
        return "a URL with an embedded password"
    if looks_like_credential(name) and value is not None:
        # Even an empty one: the API refuses settings named like a credential, and an
        # empty value in compose is still a slot for one.
        return "its name says it is a credential"
    return None


_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?:(?P<userinfo>[^@/\s]*)@)?"
    r"(?P<host>[A-Za-z0-9_.-]+)(?::(?P<port>[0-9]+))?"
)


def hosts_in(value: str) -> list[tuple[str, int | None]]:
    return [(m["host"], int(m["port"]) if m["port"] else None) for m in _URL.finditer(value)]


def rewrite_urls(value: str, targets: Mapping[str, str]) -> str:
    """Replace the host of every ``scheme://host`` whose host is a key of ``targets``
    (compose service names) with its Service DNS name."""

    def swap(match: re.Match[str]) -> str:
        host = match["host"]
        if host not in targets:
            return match[0]
        start, end = match.span("host")
        base = match.start()
        text = match[0]
        return text[: start - base] + targets[host] + text[end - base :]

    return _URL.sub(swap, value)


def split_topics(value: str | None) -> list[str]:
    parts = re.split(r"[,\s]+", value or "")
    return [p for p in parts if re.fullmatch(r"[a-zA-Z0-9._-]+", p)]


_PRODUCED_WORDS = frozenset({"OUTPUT", "OUT", "PRODUCE", "PRODUCER", "PUBLISH", "DLQ", "REPLY"})


def consumed_topic_vars(names: Iterable[str], worker: bool) -> list[str]:
    """Env names whose values are topics this service consumes: ``KAFKA_TOPICS`` (any
    prefix) always; for a worker also ``*_TOPIC``/``*_TOPICS`` whose name does not say
    it is produced to (OUTPUT, PRODUCE, PUBLISH, DLQ, REPLY)."""
    chosen = []
    for name in sorted(names):
        if (
            name == "KAFKA_TOPICS"
            or name.endswith("_KAFKA_TOPICS")
            or (
                worker
                and name.endswith(("_TOPIC", "_TOPICS"))
                and not _PRODUCED_WORDS & set(name.split("_"))
            )
        ):
            chosen.append(name)
    return chosen


def bootstrap_servers(value: str) -> str | None:
    """``kafka:9092``, ``PLAINTEXT://kafka:9092,k2:9092`` -> ``kafka:9092,k2:9092``."""
    servers = [re.sub(r"^[A-Za-z_]+://", "", s.strip()) for s in value.split(",")]
    joined = ",".join(s for s in servers if s)
    return joined if re.fullmatch(r"[^,\s]+:[0-9]+(,[^,\s]+:[0-9]+)*", joined) else None


# --- volumes ---------------------------------------------------------------------------

_CONFIG_SUFFIXES = (
    ".toml",
    ".yaml",
    ".yml",
    ".json",
    ".ini",
    ".conf",
    ".cfg",
    ".properties",
    ".env",
    ".xml",
)


def volume_note(mount: Mapping[str, Any], named: Mapping[str, Any], resource: str) -> str:
    """What a compose volume becomes (a sentence for the report)."""
    kind = mount.get("type", "volume")
    source = mount.get("source")
    target = str(mount.get("target", "?"))
    read_only = bool(mount.get("read_only"))
    if kind == "volume" and source:
        claim = dns_label(str(source))
        where = "spec.volumes" if api_has_volumes() else "the pod (this API has no spec.volumes)"
        extra = "" if source in named else " (not declared under top-level volumes)"
        return (
            f"named volume {source}{extra} at {target}: create a PersistentVolumeClaim "
            f"{claim} and mount it in {where}; with more than one replica it needs "
            "ReadWriteMany or one claim per pod (a StatefulSet)"
        )
    if kind == "volume" or kind == "tmpfs":
        return f"anonymous volume at {target}: scratch space, an emptyDir"
    if kind == "bind" and read_only:
        if str(source).lower().endswith(_CONFIG_SUFFIXES):
            name = dns_label(f"{resource}-{str(source).rsplit('/', 1)[-1]}")
            return (
                f"read-only bind {source} at {target}: a ConfigMap "
                f"(kubectl create configmap {name} --from-file={source}), mounted with a "
                "spec.volumes configMap entry; that mounts a directory (every key a file), "
                f"so mount it at a directory of its own, e.g. /config/{resource}, and point "
                "the app at the file there (/app, /tmp and system paths cannot be mount paths)"
            )
        return (
            f"read-only bind {source} at {target}: an image concern (COPY it into the "
            "image at build time); a ConfigMap only if it is small configuration (< 1 MiB)"
        )
    if kind == "bind":
        return (
            f"writable bind {source} at {target}: a host directory has no Kubernetes "
            "equivalent; use a PersistentVolumeClaim"
        )
    return f"{kind} mount at {target}: not converted"


GUESSED_CLAIM_SIZE = "1Gi"


def volume_entry(
    mount: Mapping[str, Any], several_pods: bool, shared: bool
) -> tuple[dict[str, Any] | None, str]:
    """A spec.volumes entry for a compose volume where one says the same thing, and a
    note for the report.

    - a named volume -> a claim: a new one the operator creates (size
      :data:`GUESSED_CLAIM_SIZE`, a guess to check; ``ReadWriteMany`` when several pods
      mount it) when only this service uses it, else an existing claim named after the
      volume (``claimName``), which every service that shares it mounts;
    - an anonymous volume -> an emptyDir; a tmpfs -> an emptyDir in memory;
    - a bind mount -> no entry (a host path has no equivalent; a single file cannot be
      mounted from a ConfigMap without subPath): only the note of :func:`volume_note`.
    """
    kind = mount.get("type", "volume")
    source = mount.get("source")
    target = str(mount.get("target", ""))
    if kind == "volume" and source:
        name = dns_label(str(source))
        claim: dict[str, Any]
        if shared:
            claim = {"claimName": name}
            note = (
                f"named volume {source} at {target}: spec.volumes {name} mounts the existing "
                f"claim {name}, shared with other services: create it (ReadWriteMany when "
                "they run on several nodes)"
            )
        else:
            claim = {"size": GUESSED_CLAIM_SIZE}
            if several_pods:
                claim["accessModes"] = ["ReadWriteMany"]
            modes = " ReadWriteMany (several pods mount it)" if several_pods else ""
            note = (
                f"named volume {source} at {target}: spec.volumes {name}, a new{modes} claim "
                f"of {GUESSED_CLAIM_SIZE} (compose says no size: set yours); the operator "
                "owns it, so deleting the resource deletes the claim"
            )
        if mount.get("read_only"):
            claim["readOnly"] = True
        return {"name": name, "mountPath": target, "persistentVolumeClaim": claim}, note
    if kind in ("volume", "tmpfs"):
        base = target.rstrip("/").rsplit("/", 1)[-1] or "scratch"
        name = dns_label(f"scratch-{base}")
        empty: dict[str, Any] = {"medium": "Memory"} if kind == "tmpfs" else {}
        what = "a tmpfs" if kind == "tmpfs" else "an anonymous volume"
        return (
            {"name": name, "mountPath": target, "emptyDir": empty},
            f"{what} at {target}: spec.volumes {name}, an emptyDir",
        )
    return None, ""


# --- one service -------------------------------------------------------------------------

# Compose keys a HuleEduService has no place for, and why (for the report).
_DROPPED = {
    "networks": "pods share one network; Services replace compose networks",
    "logging": "the cluster's log pipeline collects stdout",
    "restart": "a Deployment always restarts its pods",
    "container_name": "pods are named by their Deployment",
    "hostname": "pods are named by their Deployment",
    "labels": "container labels are not copied (spec.podLabels sets pod labels)",
    "build": "build and push the image, then set spec.image",
    "env_file": "not read: create a ConfigMap or Secret from it and list it in spec.envFrom",
    "extra_hosts": "use DNS (a Service, or an ExternalName Service)",
    "user": "pods run as the image's user under the restricted Pod Security profile",
}
_HANDLED = frozenset(
    {
        "image",
        "command",
        "entrypoint",
        "environment",
        "ports",
        "healthcheck",
        "depends_on",
        "volumes",
        "deploy",
        "scale",
        "expose",
        "extends",  # the library resolved it
        "stop_grace_period",
    }
)
_SPEC_OF_RESERVED = {
    contract.Env.PORT: "port",
    contract.Env.KAFKA_BOOTSTRAP_SERVERS: "kafka.bootstrapServers",
    contract.Env.KAFKA_TOPICS: "kafka.topics",
    contract.Env.KAFKA_CONSUMER_GROUP: "kafka.consumerGroup",
}


@dataclass
class _Service:
    """Working state for one compose service."""

    compose_name: str
    name: str
    data: Mapping[str, Any]
    traced: Mapping[str, Any]
    findings: list[Finding] = field(default_factory=list)

    def note(self, rule: str, message: str) -> None:
        self.findings.append(Finding(self.compose_name, rule, message))

    def env(self) -> dict[str, str | None]:
        raw = self.data.get("environment") or {}
        return {str(k): (None if v is None else str(v)) for k, v in raw.items()}

    def traced_env(self) -> dict[str, str | None]:
        raw = self.traced.get("environment") or {}
        return {str(k): (None if v is None else str(v)) for k, v in raw.items()}


def _replicas(data: Mapping[str, Any]) -> int | None:
    deploy = data.get("deploy") or {}
    value = deploy.get("replicas", data.get("scale"))
    return value if isinstance(value, int) and 0 <= value <= 1000 else None


def _unprefixed(name: str, prefix: str | None) -> str:
    return (
        name[len(prefix) :]
        if prefix and name.startswith(prefix) and len(name) > len(prefix)
        else name
    )


@dataclass(frozen=True)
class _Plan:
    """Which compose services become what, decided before any is converted (URLs need to
    know the Service names of the others)."""

    http: dict[str, str]  # compose name -> DNS name of its Service
    names: dict[str, str]  # compose name -> resource name (every converted service)


def _classify(
    project: ComposeProject, findings: list[Finding]
) -> tuple[list[str], dict[str, str], dict[str, tuple[str, str]]]:
    """(application services, their resource names, infrastructure hosts -> (what, instead))."""
    apps: list[str] = []
    names: dict[str, str] = {}
    infra: dict[str, tuple[str, str]] = {}
    taken: dict[str, str] = {}
    for compose_name, data in sorted(project.services.items()):
        argv = as_argv(data.get("command"))
        kind = infrastructure_of(data.get("image"))
        if is_one_shot(data):
            topics = bootstrap_topics(argv)
            listed = f" It creates the topics {', '.join(topics)}." if topics else ""
            owners = _migration_owners(project, compose_name, argv)
            if owners:
                command = ", ".join(argv or ())
                listed += (
                    f" It runs migrations: give {', '.join(dns_label(o) for o in owners)} "
                    f"spec.migrations: {{command: [{command}]}} (an init container before each "
                    "pod starts; compose's command replaces CMD only, so put the image's "
                    "ENTRYPOINT first if it has one)."
                )
            findings.append(
                Finding(
                    compose_name,
                    "ordering",
                    "one-shot container (it exits): not converted. Kubernetes has no start "
                    "ordering and a Deployment restarts what exits; create its effect "
                    "declaratively (topics as Strimzi KafkaTopic resources, migrations as "
                    "spec.migrations of the service that owns the schema) and let the "
                    f"services retry until it exists.{listed}",
                )
            )
            continue
        if kind is not None:
            what, instead = kind
            infra[compose_name] = kind
            findings.append(
                Finding(
                    compose_name,
                    "infrastructure",
                    f"{what} ({data.get('image')}): not converted; run it with {instead}",
                )
            )
            continue
        name = dns_label(compose_name)
        if name in taken:
            findings.append(
                Finding(
                    compose_name,
                    "names",
                    f"its name becomes {name}, as {taken[name]}'s does: not converted; "
                    "rename one of them",
                )
            )
            continue
        taken[name] = compose_name
        names[compose_name] = name
        apps.append(compose_name)
    return apps, names, infra


_MIGRATION = re.compile(r"\balembic\b.*\bupgrade\b|\bmigrate\b")


def _migration_owners(
    project: ComposeProject, compose_name: str, argv: Sequence[str] | None
) -> list[str]:
    """The application services a migration one-shot belongs to: those that depend on
    it, else those running the same image."""
    if not argv or not _MIGRATION.search(" ".join(argv)):
        return []
    image = project.services[compose_name].get("image")
    apps = {
        n: d
        for n, d in project.services.items()
        if n != compose_name and not is_one_shot(d) and infrastructure_of(d.get("image")) is None
    }
    dependents = sorted(n for n, d in apps.items() if compose_name in (d.get("depends_on") or {}))
    return dependents or sorted(n for n, d in apps.items() if image and d.get("image") == image)


def _decide_type(
    svc: _Service, port: int | None, check: HealthCheck | None, argv: list[str] | None
) -> str | None:
    # A worker's HTTP healthcheck asks its health server (the runtime's METRICS_PORT),
    # so without a port of its own a service with a worker command stays a worker.
    if port is not None or (check is not None and not is_worker_command(argv)):
        return "http"
    if is_worker_command(argv):
        return "worker"
    return None


def _convert_service(
    svc: _Service,
    plan: _Plan,
    infra: Mapping[str, tuple[str, str]],
    project: ComposeProject,
    namespace: str | None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    data = svc.data
    env = svc.env()
    traced_env = svc.traced_env()
    prefix = common_prefix(env)
    argv = as_argv(data.get("command"))
    entrypoint = as_argv(data.get("entrypoint"))
    check = parse_healthcheck(data.get("healthcheck"))
    if data.get("healthcheck") and check is None:
        svc.note(
            "probes",
            "healthcheck is not an HTTP GET on the container: not converted; the "
            "operator's default probes apply (GET /healthz/live and /healthz)",
        )

    # port: the container side of ports, else the env that sets it, else the healthcheck
    published = container_ports(data.get("ports")) or container_ports(data.get("expose"))
    port: int | None = None
    port_env: str | None = None
    if published:
        port = published[0]
        if not data.get("ports"):
            svc.note("port", f"no ports: spec.port {port} from expose")
        if len(published) > 1:
            svc.note(
                "port",
                f"several ports {published}: spec.port is {port}, the others are not exposed",
            )
    elif (found := port_from_env(env, prefix)) is not None:
        port_env, port = found
        svc.note("port", f"no ports: spec.port {port} from {port_env}")
    elif check is not None and not is_worker_command(argv):
        port = check.port
        svc.note("port", f"no ports and no port env: spec.port {port} from the healthcheck URL")
    if published and (found := port_from_env(env, prefix)) is not None:
        port_env = found[0]

    kind = _decide_type(svc, port, check, argv)
    if kind is None:
        svc.note(
            "type",
            "no port, no HTTP healthcheck and no worker command: cannot tell an http "
            "service from a worker; not converted (add ports, or a worker command)",
        )
        return None, None

    spec: dict[str, Any] = {"type": kind}
    image = data.get("image")
    if image:
        spec["image"] = str(image)
    else:
        spec["image"] = f"{svc.name}:latest"
        svc.note("image", f"no image (only build): spec.image is {svc.name}:latest; push one")
    if entrypoint:
        spec["command"] = entrypoint
    if argv:
        # compose's command replaces the image's CMD, which is Kubernetes' args; its
        # entrypoint replaces ENTRYPOINT, Kubernetes' command.
        spec["args"] = argv
    replicas = _replicas(data)
    if replicas is not None:
        spec["replicas"] = replicas
    grace = _whole_seconds(data.get("stop_grace_period"), 1, 3600)
    if grace is not None:
        spec["shutdownGracePeriodSeconds"] = grace
    if kind == "http" and port is not None:
        spec["port"] = port

    # probes
    if check is not None:
        if kind == "http" and port is not None and check.port != port:
            svc.note(
                "probes",
                f"the healthcheck uses port {check.port}, the service {port}: probes use "
                f"{port} (a probe must target a declared port)",
            )
            probe_port: int | None = port
        else:
            probe_port = check.port
        if kind == "worker":
            spec["metrics"] = {"port": check.port}
        probes, notes = probes_from(check, probe_port)
        spec["probes"] = probes
        for n in notes:
            svc.note("probes", n)
    elif kind == "http":
        svc.note(
            "probes",
            "no healthcheck: the operator's default probes apply (GET /healthz/live and "
            f"/healthz on port {port}); the image must serve them",
        )
    elif kind == "worker":
        svc.note(
            "probes",
            f"no healthcheck: the operator probes /healthz/live on the metrics port "
            f"{contract.DEFAULT_METRICS_PORT} (the HuleEdu runtime serves it); set "
            "spec.probes.enabled: false for an image without that server",
        )

    if prefix:
        spec["envPrefix"] = prefix

    # env: secrets, kafka, reserved names, URLs, the rest as settings
    targets = {c: (f"{n}.{namespace}.svc" if namespace else n) for c, n in plan.http.items()}
    settings: dict[str, str] = {}
    secret_env: list[dict[str, Any]] = []
    secret_keys: dict[str, str] = {}
    kafka: dict[str, Any] = {}
    topics: list[str] = []
    topic_vars = consumed_topic_vars(env, worker=kind == "worker")
    secret_name = f"{svc.name}{SECRET_SUFFIX}"
    for env_name in sorted(env):
        value = env[env_name]
        traced = traced_env.get(env_name)
        key = _unprefixed(env_name, prefix)
        reason = secret_reason(env_name, value, traced)
        if reason is not None:
            secret_keys[env_name] = reason
            secret_env.append(
                {
                    "name": env_name,
                    "valueFrom": {"secretKeyRef": {"name": secret_name, "key": env_name}},
                }
            )
            hosts = sorted({h for h, _ in hosts_in(traced or "") if h in project.services})
            hint = (
                f"; its value names {', '.join(hosts)}: use the Kubernetes names there"
                if hosts
                else ""
            )
            svc.note(
                "secrets",
                f"{env_name} ({reason}) -> Secret {secret_name} key {env_name}{hint}",
            )
            continue
        if value is None:
            svc.note(
                "env",
                f"{env_name} has no value in compose (taken from the shell): not converted; "
                "set it in spec.settings",
            )
            continue
        if env_name in topic_vars:
            topics.extend(t for t in split_topics(value) if t not in topics)
        if env_name.endswith(contract.Env.KAFKA_BOOTSTRAP_SERVERS):
            servers = bootstrap_servers(value)
            if servers is None:
                svc.note("kafka", f"{env_name}={value!r} is not a host:port list: not converted")
            elif "bootstrapServers" not in kafka or key == contract.Env.KAFKA_BOOTSTRAP_SERVERS:
                kafka["bootstrapServers"] = servers
                hosts = sorted({s.rsplit(":", 1)[0] for s in servers.split(",")} & set(infra))
                if hosts:
                    svc.note(
                        "kafka",
                        f"spec.kafka.bootstrapServers {servers} from {env_name} names the "
                        f"compose host {', '.join(hosts)}: point it at your cluster's Kafka "
                        "(e.g. Strimzi's <cluster>-kafka-bootstrap:9092)",
                    )
            if key != contract.Env.KAFKA_BOOTSTRAP_SERVERS:
                svc.note(
                    "kafka",
                    f"{env_name} is not the operator's name for the brokers: kept as a "
                    "setting too, since the image reads it",
                )
        if key in RESERVED_ENV or env_name in RESERVED_ENV:
            reserved = key if key in RESERVED_ENV else env_name
            if reserved == contract.Env.PORT or env_name == port_env:
                continue  # became spec.port
            if reserved in (contract.Env.KAFKA_TOPICS, contract.Env.KAFKA_BOOTSTRAP_SERVERS):
                continue  # became spec.kafka
            if reserved == contract.Env.KAFKA_CONSUMER_GROUP:
                kafka["consumerGroup"] = value
                continue
            svc.note(
                "env",
                f"{env_name}: the operator sets {reserved} from {RESERVED_ENV[reserved]}; "
                "not converted",
            )
            continue
        rewritten = rewrite_urls(value, targets)
        if rewritten != value:
            svc.note("urls", f"{env_name}: {value} -> {rewritten}")
        for host, url_port in hosts_in(value):
            if host in infra:
                svc.note(
                    "urls",
                    f"{env_name} names the compose host {host} ({infra[host][0]}): use the "
                    f"Service of its replacement ({infra[host][1]})",
                )
            elif host in plan.names and host not in plan.http:
                svc.note("urls", f"{env_name} names {host}, a worker: workers have no Service")
            elif host in plan.http and url_port is not None:
                target_port = _target_port(project.services[host], host)
                if target_port is not None and url_port != target_port:
                    svc.note(
                        "urls",
                        f"{env_name} uses port {url_port} of {host}, whose spec.port is "
                        f"{target_port}: check it",
                    )
        settings[key] = rewritten

    if kafka or topics:
        # topics always, even empty: the CRD's CEL rules on spec.kafka read self.topics,
        # which has no schema default, so the API server refuses a kafka block without
        # it ("no such key: topics") although the model accepts it.
        kafka["topics"] = topics
        spec["kafka"] = kafka
        if topics:
            svc.note("kafka", f"spec.kafka.topics {topics} from {', '.join(topic_vars)}")
    if kind == "worker" and not topics:
        svc.note(
            "kafka",
            "a worker needs the topics it consumes and none were found in KAFKA_TOPICS or "
            "*_TOPIC env: not converted; add spec.kafka.topics",
        )
        return None, None
    if settings:
        spec["settings"] = dict(sorted(settings.items()))
    if secret_env:
        spec["env"] = secret_env

    # what stays behind: volumes, ordering, other keys
    volumes: list[dict[str, Any]] = []
    several = (replicas or 1) > 1
    for mount in data.get("volumes") or ():
        entry, note = volume_entry(
            mount, several, _shared_volume(project, mount.get("source"), svc.compose_name)
        )
        if entry is not None and api_has_volumes():
            problem = _volume_problem(entry, volumes)
            if problem is None:
                volumes.append(entry)
                svc.note("volumes", note)
                continue
            svc.note("volumes", f"{volume_note(mount, project.volumes, svc.name)} ({problem})")
            continue
        svc.note("volumes", volume_note(mount, project.volumes, svc.name))
    if volumes:
        spec["volumes"] = volumes
    depends = data.get("depends_on") or {}
    for other in sorted(depends):
        condition = (depends[other] or {}).get("condition", "service_started")
        needed = project.services.get(other, {})
        what = (
            f"what {other} creates exists (it is a one-shot container)"
            if is_one_shot(needed)
            else f"{other} answers"
        )
        meanwhile = (
            "its readiness probe keeps it out of its Service meanwhile"
            if kind == "http"
            else "it is not Ready meanwhile (a worker has no Service)"
        )
        svc.note(
            "ordering",
            f"depends_on {other} ({condition}): Kubernetes has no start ordering; "
            f"{svc.name} must retry until {what}, and {meanwhile}",
        )
    deploy = data.get("deploy") or {}
    if set(deploy) - {"replicas"}:
        keys = ", ".join(sorted(set(deploy) - {"replicas"}))
        svc.note("unconverted", f"deploy.{{{keys}}}: not converted (spec.resources, ...)")
    for key in sorted(set(data) - _HANDLED):
        if key.startswith("x-"):
            continue
        svc.note("unconverted", f"{key}: {_DROPPED.get(key, 'not converted')}")

    metadata: dict[str, Any] = {"name": svc.name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["annotations"] = {IMPORTED_FROM: f"compose service {svc.compose_name}"}
    resource = {
        "apiVersion": "huleedu.io/v1alpha1",
        "kind": "HuleEduService",
        "metadata": metadata,
        "spec": spec,
    }
    try:
        HuleEduService.model_validate(resource)
    except ValidationError as exc:
        problems = "; ".join(_message(e["msg"]) for e in exc.errors())
        svc.note("validation", f"the converted resource is invalid ({problems}): not converted")
        return None, None
    secret = _secret(secret_name, namespace, svc.compose_name, secret_keys) if secret_keys else None
    return resource, secret


def _shared_volume(project: ComposeProject, source: Any, compose_name: str) -> bool:
    """The named volume ``source`` is mounted by another application service too."""
    if not source:
        return False
    for other, data in project.services.items():
        if other == compose_name or infrastructure_of(data.get("image")) or is_one_shot(data):
            continue
        if any(m.get("source") == source for m in data.get("volumes") or ()):
            return True
    return False


def _volume_problem(entry: Mapping[str, Any], taken: Sequence[Mapping[str, Any]]) -> str | None:
    """Why ``entry`` cannot be a spec.volumes entry here (the API's own message), or None."""
    if any(v["name"] == entry["name"] or v["mountPath"] == entry["mountPath"] for v in taken):
        return "its name or mountPath is taken by another volume of this service"
    try:
        VolumeSpec.model_validate(entry)
    except ValidationError as exc:
        return "; ".join(_message(e["msg"]) for e in exc.errors())
    return None


def _message(text: str) -> str:
    return str(text).removeprefix("Value error, ")


def _serves_http(data: Mapping[str, Any]) -> bool:
    """The service becomes an http resource (with a Service): it declares a port, or it
    has an HTTP healthcheck and its command does not name a worker (a worker's
    healthcheck asks its health server, which gets no Service)."""
    published = container_ports(data.get("ports")) or container_ports(data.get("expose"))
    env = {
        str(k): (None if v is None else str(v)) for k, v in (data.get("environment") or {}).items()
    }
    if published or port_from_env(env, common_prefix(env)) is not None:
        return True
    check = parse_healthcheck(data.get("healthcheck"))
    return check is not None and not is_worker_command(as_argv(data.get("command")))


def _target_port(data: Mapping[str, Any], compose_name: str) -> int | None:
    published = container_ports(data.get("ports")) or container_ports(data.get("expose"))
    if published:
        return published[0]
    env = {
        str(k): (None if v is None else str(v)) for k, v in (data.get("environment") or {}).items()
    }
    found = port_from_env(env, common_prefix(env))
    if found is not None:
        return found[1]
    check = parse_healthcheck(data.get("healthcheck"))
    return check.port if check else None


def _secret(
    name: str, namespace: str | None, compose_name: str, keys: Mapping[str, str]
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["annotations"] = {IMPORTED_FROM: f"compose service {compose_name}"}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "stringData": {key: PLACEHOLDER for key in sorted(keys)},
    }


# What the runtime image's bundled examples serve (a probe elsewhere would fail there).
EXAMPLE_PATHS = frozenset({contract.LIVENESS_PATH, contract.READINESS_PATH, contract.METRICS_PATH})


def as_runtime_example(resource: dict[str, Any]) -> str:
    """Leave out ``spec.image``, ``command`` and ``args`` so the operator runs its runtime
    image with the bundled example app of the resource's type (``--runtime-example``);
    returns the report line. The rest (port, probes, env, Secrets, claims, Kafka) stays,
    which is the wiring the example then proves on the cluster."""
    spec = resource["spec"]
    was = " ".join([spec.pop("image", ""), *spec.pop("command", []), *spec.pop("args", [])])
    defaults = RenderDefaults()
    command = (
        defaults.default_http_command if spec["type"] == "http" else defaults.default_worker_command
    )
    line = (
        f"--runtime-example: spec.image, command and args left out (was {was.strip()}): "
        f"the operator's runtime image runs its example {spec['type']} app "
        f"({' '.join(command)}); set the image again once the cluster can pull it"
    )
    paths = sorted(
        {
            probe["path"]
            for probe in (spec.get("probes") or {}).values()
            if isinstance(probe, dict) and probe.get("path") not in (None, *EXAMPLE_PATHS)
        }
    )
    if paths:
        line += (
            f"; the example does not serve the probe path {', '.join(paths)} (it serves "
            f"{', '.join(sorted(EXAMPLE_PATHS))}), so it will not become Ready"
        )
    return line


def convert(
    project: ComposeProject,
    namespace: str | None = None,
    runtime_examples: Collection[str] = (),
) -> ImportResult:
    """Every rule, over the whole project. Deterministic: sorted by name throughout.

    ``runtime_examples`` names compose services to convert without their image, command
    and args (:func:`as_runtime_example`)."""
    findings: list[Finding] = []
    apps, names, infra = _classify(project, findings)
    # Which converted services get a Service (http): decided up front so every service's
    # URLs can be rewritten, whatever the order.
    http: dict[str, str] = {}
    for compose_name in apps:
        data = project.services[compose_name]
        if _serves_http(data):
            http[compose_name] = names[compose_name]
    plan = _Plan(http=http, names=names)
    resources: list[dict[str, Any]] = []
    secrets: list[dict[str, Any]] = []
    for compose_name in apps:
        svc = _Service(
            compose_name=compose_name,
            name=names[compose_name],
            data=project.services[compose_name],
            traced=project.traced.get(compose_name, project.services[compose_name]),
        )
        resource, secret = _convert_service(svc, plan, infra, project, namespace)
        if resource is not None and compose_name in runtime_examples:
            svc.note("image", as_runtime_example(resource))
        findings.extend(svc.findings)
        if resource is not None:
            resources.append(resource)
        if resource is not None and secret is not None:
            secrets.append(secret)
    images: dict[str, list[str]] = {}
    for resource in resources:
        if "image" in resource["spec"]:  # not a runtime example
            images.setdefault(resource["spec"]["image"], []).append(resource["metadata"]["name"])
    for image, users in sorted(images.items()):
        if len(users) > 1:
            findings.append(
                Finding(
                    "",
                    "shared-images",
                    f"{image} runs as {', '.join(sorted(users))}: one resource each, same "
                    "image, each with its own command (spec.args)",
                )
            )
    return ImportResult(
        resources=tuple(sorted(resources, key=lambda r: r["metadata"]["name"])),
        secrets=tuple(sorted(secrets, key=lambda s: s["metadata"]["name"])),
        findings=tuple(sorted(_grouped(findings), key=lambda f: (f.service, f.rule, f.message))),
    )


def _grouped(findings: list[Finding]) -> list[Finding]:
    """An ``unconverted`` line that several services share (``logging``, ``networks``...)
    is said once, for the project, naming the services."""
    services: dict[str, list[str]] = {}
    for f in findings:
        if f.rule == "unconverted":
            services.setdefault(f.message, []).append(f.service)
    out = [f for f in findings if f.rule != "unconverted" or len(services[f.message]) == 1]
    for message, names in services.items():
        if len(names) > 1:
            key, _, why = message.partition(": ")
            out.append(Finding("", "unconverted", f"{key} ({', '.join(sorted(names))}): {why}"))
    return out
