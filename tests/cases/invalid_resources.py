"""Invalid HuleEduService documents, each with the field it gets wrong.

One table, two enforcers: ``tests/unit/api/test_validation.py`` feeds every case to the
pydantic model (what ``huleedu-operator render`` runs offline) and
``tests/integration/test_admission.py`` sends every case to a real API server with the
generated CRD installed. Both expect an error that names ``field`` and contains the
expected message.

Kinds of case:

- ``rule``: a cross-field rule (CEL in the CRD, a Python twin in the model). The
  expected message is part of the rule's own message, so both enforcers must say the
  same words.
- ``schema``: a type, enum, bound or pattern of one field. The model and the API
  server word these differently (``Input should be greater than or equal to 0`` vs
  ``should be greater than or equal to 0``), so ``message`` is a substring both share,
  or ``admission_message`` gives the API server's wording.
- ``offline=False`` marks schema-only cases the model does not check: only the API
  server rejects them. The unit tier asserts the model *accepts* them, so closing the
  gap offline makes that test fail and asks for the flag to be flipped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from cases.valid_resources import API_VERSION, KIND

CaseKind = Literal["rule", "schema"]

NAME = "invalid"
TOPIC = "huleedu.events.v1"


def http(**spec: Any) -> dict[str, Any]:
    return {"type": "http", **spec}


def worker(**spec: Any) -> dict[str, Any]:
    return {"type": "worker", "kafka": {"topics": [TOPIC]}, **spec}


def with_kafka(**kafka: Any) -> dict[str, Any]:
    return http(kafka={"topics": [TOPIC], **kafka})


@dataclass(frozen=True)
class InvalidCase:
    id: str
    kind: CaseKind
    spec: dict[str, Any]
    field: str
    """Path of the wrong field as the API server prints it (``spec.kafka.topics``); the
    model's path (``spec.kafka.topics.0``) starts with it."""
    message: str
    admission_message: str | None = None
    offline: bool = True
    metadata: dict[str, Any] | None = None

    def document(self, namespace: str | None = None) -> dict[str, Any]:
        metadata: dict[str, Any] = copy.deepcopy(self.metadata) or {"name": NAME}
        if namespace:
            metadata["namespace"] = namespace
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": metadata,
            "spec": copy.deepcopy(self.spec),
        }

    @property
    def expected_at_admission(self) -> str:
        return self.admission_message or self.message


# What both enforcers say about a ConfigMap, Secret or ServiceAccount name that is not a
# DNS-1123 subdomain (the field path is printed before it).
OBJECT_NAME = "must be an object name in this namespace"


def _volume(**fields: Any) -> dict[str, Any]:
    return {"name": "data", "mountPath": "/data", **fields}


def _claim(**claim: Any) -> dict[str, Any]:
    return _volume(persistentVolumeClaim={"size": "1Gi", **claim})


_SASL = {"secretRef": {"name": "kafka-credentials"}}
_TLS = {"secretRef": {"name": "kafka-tls"}}

INVALID_CASES: tuple[InvalidCase, ...] = (
    # --- cross-field rules (CEL + Python twin) ----------------------------------------
    InvalidCase(
        "worker-without-kafka",
        "rule",
        {"type": "worker"},
        "spec.kafka.topics",
        "a worker needs at least one topic",
    ),
    InvalidCase(
        "worker-with-empty-topics",
        "rule",
        {"type": "worker", "kafka": {"topics": []}},
        "spec.kafka.topics",
        "a worker needs at least one topic",
    ),
    InvalidCase(
        "worker-with-service-port",
        "rule",
        worker(port=8001),
        "spec.port",
        "only http services have a service port",
    ),
    InvalidCase(
        "autoscaling-min-above-max",
        "rule",
        http(autoscaling={"minReplicas": 5, "maxReplicas": 2}),
        "spec.autoscaling.minReplicas",
        "must not exceed spec.autoscaling.maxReplicas",
    ),
    InvalidCase(
        "worker-autoscaling-without-partitions",
        "rule",
        worker(autoscaling={"maxReplicas": 3}),
        "spec.autoscaling.maxReplicas",
        "a consumer group cannot use more consumers than partitions",
    ),
    InvalidCase(
        "worker-autoscaling-above-partitions",
        "rule",
        {
            "type": "worker",
            "kafka": {"topics": [TOPIC], "partitions": 3},
            "autoscaling": {"maxReplicas": 4},
        },
        "spec.autoscaling.maxReplicas",
        "a consumer group cannot use more consumers than partitions",
    ),
    InvalidCase(
        "http-consumer-autoscaling-above-partitions",
        "rule",
        {
            "type": "http",
            "kafka": {"topics": [TOPIC], "partitions": 2},
            "autoscaling": {"maxReplicas": 10},
        },
        "spec.autoscaling.maxReplicas",
        "a consumer group cannot use more consumers than partitions",
    ),
    InvalidCase(
        "worker-replicas-above-partitions",
        "rule",
        {"type": "worker", "kafka": {"topics": [TOPIC], "partitions": 3}, "replicas": 10},
        "spec.replicas",
        "a consumer group cannot use more consumers than partitions",
    ),
    InvalidCase(
        "worker-probes-without-metrics-server",
        "rule",
        worker(metrics={"enabled": False}),
        "spec.probes.enabled",
        "a worker serves its health endpoints on the metrics server",
    ),
    InvalidCase(
        "liveness-probe-on-undeclared-port",
        "rule",
        http(probes={"liveness": {"port": 9999}}),
        "spec.probes.liveness.port",
        "must be a port the container declares",
    ),
    InvalidCase(
        "readiness-probe-on-undeclared-port",
        "rule",
        http(port=8080, probes={"readiness": {"port": 8001}}),
        "spec.probes.readiness.port",
        "must be a port the container declares",
    ),
    InvalidCase(
        "startup-probe-on-undeclared-port",
        "rule",
        http(probes={"startup": {"port": 9999}}),
        "spec.probes.startup.port",
        "must be a port the container declares",
    ),
    InvalidCase(
        "topology-spread-min-domains-with-schedule-anyway",
        "rule",
        http(topologySpread={"constraints": [{"topologyKey": "zone", "minDomains": 2}]}),
        "spec.topologySpread.constraints",
        "only used with whenUnsatisfiable: DoNotSchedule",
    ),
    InvalidCase(
        "topology-spread-key-twice",
        "rule",
        http(
            topologySpread={
                "constraints": [
                    {"topologyKey": "kubernetes.io/hostname"},
                    {"topologyKey": "kubernetes.io/hostname", "maxSkew": 2},
                ]
            }
        ),
        "spec.topologySpread.constraints",
        "list each topologyKey once",
    ),
    InvalidCase(
        "topology-spread-key-not-a-label-key",
        "schema",
        http(topologySpread={"constraints": [{"topologyKey": "zone/../x y"}]}),
        "spec.topologySpread.constraints",
        "must be a node label key",
    ),
    # --- networkPolicy ---------------------------------------------------------------
    InvalidCase(
        "network-policy-source-without-selector",
        "rule",
        http(networkPolicy={"ingressFrom": [{}]}),
        "spec.networkPolicy.ingressFrom",
        "set namespaceSelector, podSelector or both",
    ),
    InvalidCase(
        "network-policy-sources-while-disabled",
        "rule",
        http(networkPolicy={"enabled": False, "ingressFrom": [{"podSelector": {}}]}),
        "spec.networkPolicy.ingressFrom",
        "has no effect with enabled: false",
    ),
    InvalidCase(
        "network-policy-selector-key-not-a-label-key",
        "rule",
        http(networkPolicy={"ingressFrom": [{"podSelector": {"matchLabels": {"a b": "x"}}}]}),
        "spec.networkPolicy.ingressFrom",
        "keys must be label keys",
    ),
    InvalidCase(
        "network-policy-selector-value-not-a-label-value",
        "schema",
        http(networkPolicy={"ingressFrom": [{"namespaceSelector": {"matchLabels": {"t": "-x"}}}]}),
        "spec.networkPolicy.ingressFrom",
        "values must be label values",
    ),
    InvalidCase(
        "network-policy-too-many-sources",
        "schema",
        http(networkPolicy={"ingressFrom": [{"podSelector": {}}] * 9}),
        "spec.networkPolicy.ingressFrom",
        "at most 8",
        admission_message="must have at most 8 items",
    ),
    # --- exposure --------------------------------------------------------------------
    InvalidCase(
        "worker-with-expose",
        "rule",
        worker(expose={"host": "events.huleedu.example"}),
        "spec.expose",
        "only an http service can be exposed",
    ),
    InvalidCase(
        "expose-path-with-dot-dot",
        "rule",
        http(expose={"host": "a.example", "paths": [{"path": "/v1/../admin"}]}),
        "spec.expose.paths",
        "may not contain '.' or '..' segments",
    ),
    InvalidCase(
        "expose-path-twice",
        "rule",
        http(expose={"host": "a.example", "paths": [{"path": "/v1"}, {"path": "/v1"}]}),
        "spec.expose.paths",
        "list each path once",
    ),
    InvalidCase(
        "expose-without-host",
        "schema",
        http(expose={"paths": [{"path": "/"}]}),
        "spec.expose",
        "Field required",
        admission_message="Required value",
    ),
    InvalidCase(
        "expose-host-with-a-port",
        "schema",
        http(expose={"host": "content.example:443"}),
        "spec.expose.host",
        "without a port or a path",
    ),
    InvalidCase(
        "expose-host-uppercase",
        "schema",
        http(expose={"host": "Content.Example"}),
        "spec.expose.host",
        "must be a DNS name in lowercase",
    ),
    InvalidCase(
        "expose-path-relative",
        "schema",
        http(expose={"host": "a.example", "paths": [{"path": "v1"}]}),
        "spec.expose.paths",
        "must be an absolute URL path",
    ),
    InvalidCase(
        "expose-path-double-slash",
        "schema",
        http(expose={"host": "a.example", "paths": [{"path": "/v1//admin"}]}),
        "spec.expose.paths",
        "without '//'",
    ),
    InvalidCase(
        "expose-path-type-regex",
        "schema",
        http(expose={"host": "a.example", "paths": [{"pathType": "ImplementationSpecific"}]}),
        "spec.expose.paths",
        "Input should be 'Prefix' or 'Exact'",
        admission_message='supported values: "Prefix", "Exact"',
    ),
    InvalidCase(
        "expose-tls-secret-name-is-a-path",
        "schema",
        http(expose={"host": "a.example", "tlsSecretName": "other-ns/tls"}),
        "spec.expose.tlsSecretName",
        OBJECT_NAME,
    ),
    # --- volumes ---------------------------------------------------------------------
    InvalidCase(
        "rwo-claim-with-two-replicas",
        "rule",
        http(replicas=2, volumes=[_claim()]),
        "spec.volumes",
        "a ReadWriteOnce or ReadWriteOncePod claim can be mounted on one node only",
    ),
    InvalidCase(
        "rwop-claim-autoscaled-beyond-one",
        "rule",
        http(
            autoscaling={"maxReplicas": 3},
            volumes=[_claim(accessModes=["ReadWriteOncePod"])],
        ),
        "spec.volumes",
        "keep spec.replicas (and spec.autoscaling.maxReplicas) at 1",
    ),
    InvalidCase(
        "worker-rwo-claim-with-two-replicas",
        "rule",
        worker(replicas=2, volumes=[_claim(accessModes=["ReadWriteOnce"])]),
        "spec.volumes",
        "give the claim accessModes: [ReadWriteMany]",
    ),
    InvalidCase(
        "volume-without-source",
        "rule",
        http(volumes=[_volume()]),
        "spec.volumes",
        "set exactly one of persistentVolumeClaim, configMap, secret or emptyDir",
    ),
    InvalidCase(
        "volume-with-two-sources",
        "rule",
        http(volumes=[_volume(emptyDir={}, configMap={"name": "files"})]),
        "spec.volumes",
        "set exactly one of persistentVolumeClaim, configMap, secret or emptyDir",
    ),
    InvalidCase(
        "claim-with-name-and-size",
        "rule",
        http(volumes=[_claim(claimName="existing")]),
        "spec.volumes",
        "set claimName (an existing claim) or size",
    ),
    InvalidCase(
        "claim-without-name-or-size",
        "rule",
        http(volumes=[_volume(persistentVolumeClaim={"readOnly": True})]),
        "spec.volumes",
        "set claimName (an existing claim) or size",
    ),
    InvalidCase(
        "existing-claim-with-access-modes",
        "rule",
        http(
            volumes=[
                _volume(
                    persistentVolumeClaim={
                        "claimName": "existing",
                        "accessModes": ["ReadWriteMany"],
                    }
                )
            ]
        ),
        "spec.volumes",
        "accessModes and storageClassName describe a new claim",
    ),
    InvalidCase(
        "volume-named-like-the-operators-tmp",
        "rule",
        http(volumes=[_volume(name="tmp", emptyDir={})]),
        "spec.volumes",
        "are the operator's own volumes; choose another name",
    ),
    InvalidCase(
        "mount-path-with-dot-dot",
        "rule",
        http(volumes=[_volume(mountPath="/data/../app", emptyDir={})]),
        "spec.volumes",
        "may not contain '.' or '..' segments",
    ),
    InvalidCase(
        "mount-path-over-the-app",
        "rule",
        http(volumes=[_volume(mountPath="/app/examples", emptyDir={})]),
        "spec.volumes",
        "may not be at, under or above the app's own or the system's paths",
    ),
    InvalidCase(
        "mount-path-above-the-operators-mounts",
        "rule",
        http(volumes=[_volume(mountPath="/etc", configMap={"name": "files"})]),
        "spec.volumes",
        "may not be at, under or above the app's own or the system's paths",
    ),
    InvalidCase(
        "mount-path-is-tmp",
        "rule",
        http(volumes=[_volume(mountPath="/tmp", emptyDir={})]),
        "spec.volumes",
        "may not be at, under or above the app's own or the system's paths",
    ),
    InvalidCase(
        "volume-names-twice",
        "rule",
        http(volumes=[_volume(emptyDir={}), _volume(mountPath="/other", emptyDir={})]),
        "spec.volumes",
        "give each volume its own name",
    ),
    InvalidCase(
        "volume-mount-paths-twice",
        "rule",
        http(volumes=[_volume(emptyDir={}), _volume(name="other", emptyDir={})]),
        "spec.volumes",
        "give each volume its own mountPath",
    ),
    InvalidCase(
        "mount-path-relative",
        "schema",
        http(volumes=[_volume(mountPath="data", emptyDir={})]),
        "spec.volumes",
        "must be an absolute path below /",
    ),
    InvalidCase(
        "mount-path-root",
        "schema",
        http(volumes=[_volume(mountPath="/", emptyDir={})]),
        "spec.volumes",
        "not / itself",
    ),
    InvalidCase(
        "claim-name-is-a-path",
        "schema",
        http(volumes=[_volume(persistentVolumeClaim={"claimName": "../kube-system/x"})]),
        "spec.volumes",
        OBJECT_NAME,
    ),
    InvalidCase(
        "config-map-volume-name-uppercase",
        "schema",
        http(volumes=[_volume(configMap={"name": "Files"})]),
        "spec.volumes",
        OBJECT_NAME,
    ),
    InvalidCase(
        "secret-volume-name-with-a-query",
        "schema",
        http(volumes=[_volume(secret={"name": "keys?watch=true"})]),
        "spec.volumes",
        OBJECT_NAME,
    ),
    InvalidCase(
        "storage-class-name-not-dns",
        "schema",
        http(volumes=[_claim(storageClassName="Fast_SSD")]),
        "spec.volumes",
        OBJECT_NAME,
    ),
    InvalidCase(
        "claim-size-not-a-quantity",
        "schema",
        http(volumes=[_volume(persistentVolumeClaim={"size": "ten gigs"})]),
        "spec.volumes",
        "must be a size above 0",
    ),
    InvalidCase(
        "claim-size-zero",
        "schema",
        http(volumes=[_volume(persistentVolumeClaim={"size": "0Gi"})]),
        "spec.volumes",
        "must be a size above 0",
    ),
    InvalidCase(
        "too-many-volumes",
        "schema",
        http(volumes=[_volume(name=f"v{i}", mountPath=f"/v{i}", emptyDir={}) for i in range(17)]),
        "spec.volumes",
        "at most 16 items",
    ),
    InvalidCase(
        "worker-probe-on-http-default-port",
        "rule",
        worker(probes={"liveness": {"port": 8001}}),
        "spec.probes.liveness.port",
        "must be a port the container declares",
    ),
    InvalidCase(
        "probe-on-disabled-metrics-port",
        "rule",
        http(metrics={"enabled": False, "port": 9100}, probes={"readiness": {"port": 9100}}),
        "spec.probes.readiness.port",
        "must be a port the container declares",
    ),
    InvalidCase(
        "pdb-min-available-equals-replicas",
        "rule",
        http(replicas=2, disruptionBudget={"minAvailable": 2}),
        "spec.disruptionBudget.minAvailable",
        "must be lower than the replica count",
    ),
    InvalidCase(
        "pdb-min-available-equals-autoscaling-floor",
        "rule",
        http(
            replicas=5,
            autoscaling={"minReplicas": 2, "maxReplicas": 5},
            disruptionBudget={"minAvailable": 2},
        ),
        "spec.disruptionBudget.minAvailable",
        "must be lower than the replica count",
    ),
    InvalidCase(
        "pdb-min-available-and-max-unavailable",
        "rule",
        http(replicas=3, disruptionBudget={"minAvailable": 1, "maxUnavailable": 1}),
        "spec.disruptionBudget",
        "set minAvailable or maxUnavailable, not both",
    ),
    InvalidCase(
        "sasl-protocol-without-sasl",
        "rule",
        with_kafka(security={"protocol": "SASL_SSL"}),
        "spec.kafka.security.sasl",
        "required exactly when protocol is SASL_PLAINTEXT or SASL_SSL",
    ),
    InvalidCase(
        "sasl-with-non-sasl-protocol",
        "rule",
        with_kafka(security={"protocol": "SSL", "sasl": _SASL}),
        "spec.kafka.security.sasl",
        "required exactly when protocol is SASL_PLAINTEXT or SASL_SSL",
    ),
    InvalidCase(
        "tls-with-plaintext-protocol",
        "rule",
        with_kafka(security={"protocol": "SASL_PLAINTEXT", "sasl": _SASL, "tls": _TLS}),
        "spec.kafka.security.tls",
        "only used with protocol SSL or SASL_SSL",
    ),
    InvalidCase(
        "heartbeat-not-below-session-timeout",
        "rule",
        with_kafka(sessionTimeoutMs=10000, heartbeatIntervalMs=10000),
        "spec.kafka.heartbeatIntervalMs",
        "must be lower than sessionTimeoutMs",
    ),
    InvalidCase(
        "max-poll-interval-below-session-timeout",
        "rule",
        with_kafka(sessionTimeoutMs=30000, maxPollIntervalMs=20000),
        "spec.kafka.maxPollIntervalMs",
        "must be at least sessionTimeoutMs",
    ),
    InvalidCase(
        "duplicate-topics",
        "rule",
        http(kafka={"topics": [TOPIC, "huleedu.other.v1", TOPIC]}),
        "spec.kafka.topics",
        "list each topic once",
    ),
    InvalidCase(
        "dead-letter-topic-consumed",
        "rule",
        http(kafka={"topics": [TOPIC, f"{TOPIC}.DLQ"]}),
        "spec.kafka.topics",
        "do not consume a dead-letter topic",
    ),
    InvalidCase(
        "scrape-timeout-above-interval",
        "rule",
        http(metrics={"interval": "10s", "scrapeTimeout": "15s"}),
        "spec.metrics.scrapeTimeout",
        "must not exceed spec.metrics.interval",
    ),
    InvalidCase(
        "scrape-timeout-above-interval-mixed-units",
        "rule",
        http(metrics={"interval": "1m", "scrapeTimeout": "1m500ms"}),
        "spec.metrics.scrapeTimeout",
        "must not exceed spec.metrics.interval",
    ),
    # Defaults take part in rules: the API server applies schema defaults before CEL
    # runs, the model applies the same defaults before its Python twin does.
    InvalidCase(
        "interval-below-default-scrape-timeout",
        "rule",
        http(metrics={"interval": "5s"}),
        "spec.metrics.scrapeTimeout",
        "must not exceed spec.metrics.interval",
    ),
    InvalidCase(
        "sasl-with-default-plaintext-protocol",
        "rule",
        with_kafka(security={"sasl": _SASL}),
        "spec.kafka.security.sasl",
        "required exactly when protocol is SASL_PLAINTEXT or SASL_SSL",
    ),
    InvalidCase(
        "env-from-both-configmap-and-secret",
        "rule",
        http(envFrom=[{"configMapRef": {"name": "a"}, "secretRef": {"name": "b"}}]),
        "spec.envFrom",
        "set exactly one of configMapRef or secretRef",
    ),
    InvalidCase(
        "env-from-without-source",
        "rule",
        http(envFrom=[{"prefix": "SHARED_"}]),
        "spec.envFrom",
        "set exactly one of configMapRef or secretRef",
    ),
    InvalidCase(
        "settings-key-not-an-env-name",
        "rule",
        http(settings={"LOG_LEVEL": "INFO", "1ST_SETTING": "x"}),
        "spec.settings",
        "keys must be environment variable names",
    ),
    InvalidCase(
        "settings-override-the-port",
        "rule",
        http(settings={"PORT": "9000"}),
        "spec.settings",
        "a key is reserved",
    ),
    InvalidCase(
        "env-overrides-the-topics",
        "rule",
        worker(env=[{"name": "KAFKA_TOPICS", "value": "other"}]),
        "spec.env",
        "a name is reserved",
    ),
    InvalidCase(
        "metadata-name-not-a-dns-label",
        "rule",
        http(),
        "metadata.name",
        "must be a DNS label",
        metadata={"name": "content.service"},
    ),
    # --- one field: type, enum, bound, pattern -----------------------------------------
    InvalidCase(
        "type-unknown",
        "schema",
        {"type": "cron"},
        "spec.type",
        "'http' or 'worker'",
        admission_message='supported values: "http", "worker"',
    ),
    InvalidCase(
        "type-missing",
        "schema",
        {"replicas": 1},
        "spec.type",
        "Field required",
        admission_message="Required value",
    ),
    InvalidCase(
        "replicas-negative",
        "schema",
        http(replicas=-1),
        "spec.replicas",
        "greater than or equal to 0",
    ),
    InvalidCase(
        "replicas-above-limit",
        "schema",
        http(replicas=1001),
        "spec.replicas",
        "less than or equal to 1000",
    ),
    InvalidCase(
        "port-out-of-range",
        "schema",
        http(port=70000),
        "spec.port",
        "less than or equal to 65535",
    ),
    InvalidCase(
        "port-zero",
        "schema",
        http(port=0),
        "spec.port",
        "greater than or equal to 1",
    ),
    InvalidCase(
        "image-empty",
        "schema",
        http(image=""),
        "spec.image",
        "at least 1 character",
        admission_message="should be at least 1 chars long",
    ),
    InvalidCase(
        "image-pull-policy-unknown",
        "schema",
        http(imagePullPolicy="Sometimes"),
        "spec.imagePullPolicy",
        "'Always', 'IfNotPresent' or 'Never'",
        admission_message='supported values: "Always", "IfNotPresent", "Never"',
    ),
    InvalidCase(
        "env-prefix-lowercase",
        "schema",
        http(envPrefix="content_service_"),
        "spec.envPrefix",
        "ending with '_'",
    ),
    InvalidCase(
        "env-prefix-without-trailing-underscore",
        "schema",
        http(envPrefix="CONTENT_SERVICE"),
        "spec.envPrefix",
        "ending with '_'",
    ),
    InvalidCase(
        "env-name-with-dash",
        "schema",
        http(env=[{"name": "MY-VAR", "value": "x"}]),
        "spec.env",
        "must be an environment variable name",
    ),
    InvalidCase(
        "bootstrap-servers-without-port",
        "schema",
        with_kafka(bootstrapServers="kafka.huleedu.svc"),
        "spec.kafka.bootstrapServers",
        "give every broker its port",
    ),
    InvalidCase(
        "topic-name-with-space",
        "schema",
        http(kafka={"topics": ["essay submitted"]}),
        "spec.kafka.topics",
        "of letters, digits, '.', '_' and '-'",
    ),
    InvalidCase(
        "auto-offset-reset-none",
        "schema",
        with_kafka(autoOffsetReset="none"),
        "spec.kafka.autoOffsetReset",
        "'earliest' or 'latest'",
        admission_message='supported values: "earliest", "latest"',
    ),
    InvalidCase(
        "max-poll-records-zero",
        "schema",
        with_kafka(maxPollRecords=0),
        "spec.kafka.maxPollRecords",
        "greater than or equal to 1",
    ),
    InvalidCase(
        "session-timeout-below-one-second",
        "schema",
        with_kafka(sessionTimeoutMs=500),
        "spec.kafka.sessionTimeoutMs",
        "greater than or equal to 1000",
    ),
    InvalidCase(
        "security-protocol-unknown",
        "schema",
        with_kafka(security={"protocol": "SASL"}),
        "spec.kafka.security.protocol",
        "'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT' or 'SASL_SSL'",
        admission_message='supported values: "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"',
    ),
    InvalidCase(
        "sasl-mechanism-unsupported",
        "schema",
        with_kafka(
            security={"protocol": "SASL_SSL", "sasl": {**_SASL, "mechanism": "GSSAPI"}},
        ),
        "spec.kafka.security.sasl.mechanism",
        "'PLAIN', 'SCRAM-SHA-256' or 'SCRAM-SHA-512'",
        admission_message='supported values: "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"',
    ),
    InvalidCase(
        "sasl-without-secret-ref",
        "schema",
        with_kafka(security={"protocol": "SASL_SSL", "sasl": {"mechanism": "PLAIN"}}),
        "spec.kafka.security.sasl.secretRef",
        "Field required",
        admission_message="Required value",
    ),
    InvalidCase(
        "metrics-interval-not-a-duration",
        "schema",
        http(metrics={"interval": "30 seconds"}),
        "spec.metrics.interval",
        "must be a duration",
    ),
    InvalidCase(
        "metrics-path-relative",
        "schema",
        http(metrics={"path": "metrics"}),
        "spec.metrics.path",
        "add the leading '/'",
    ),
    InvalidCase(
        "probe-path-relative",
        "schema",
        http(probes={"liveness": {"path": "healthz"}}),
        "spec.probes.liveness.path",
        "add the leading '/'",
    ),
    InvalidCase(
        "autoscaling-without-max-replicas",
        "schema",
        http(autoscaling={"minReplicas": 2}),
        "spec.autoscaling.maxReplicas",
        "Field required",
        admission_message="Required value",
    ),
    InvalidCase(
        "cpu-target-above-100-percent",
        "schema",
        http(autoscaling={"maxReplicas": 3, "targetCpuUtilizationPercentage": 150}),
        "spec.autoscaling.targetCpuUtilizationPercentage",
        "less than or equal to 100",
    ),
    InvalidCase(
        "shutdown-grace-period-zero",
        "schema",
        http(shutdownGracePeriodSeconds=0),
        "spec.shutdownGracePeriodSeconds",
        "greater than or equal to 1",
    ),
    InvalidCase(
        "shutdown-grace-period-above-an-hour",
        "schema",
        http(shutdownGracePeriodSeconds=3601),
        "spec.shutdownGracePeriodSeconds",
        "less than or equal to 3600",
    ),
    InvalidCase(
        "migrations-without-command",
        "schema",
        http(migrations={"command": []}),
        "spec.migrations.command",
        "at least 1 item",
    ),
    InvalidCase(
        "toleration-operator-unknown",
        "schema",
        http(tolerations=[{"key": "dedicated", "operator": "In"}]),
        "spec.tolerations",
        "'Exists' or 'Equal'",
        admission_message='supported values: "Exists", "Equal"',
    ),
    InvalidCase(
        "unknown-spec-field",
        "schema",
        http(replica=2),
        "spec.replica",
        "unknown field; did you mean replicas?",
        admission_message="unknown field",
    ),
    InvalidCase(
        "metadata-name-too-long",
        "schema",
        http(),
        "metadata.name",
        "63",
        metadata={"name": "n" * 64},
    ),
    InvalidCase(
        "settings-too-many-keys",
        "schema",
        http(settings={f"SETTING_{i}": "x" for i in range(257)}),
        "spec.settings",
        "must have at most 256 items",
        offline=False,
    ),
    InvalidCase(
        "settings-value-too-long",
        "schema",
        http(settings={"BLOB": "x" * 32769}),
        "spec.settings.BLOB",
        "may not be more than 32768 bytes",
        offline=False,
    ),
    # --- names of other objects: one DNS-1123 subdomain, never a path ----------------
    # Each name becomes one segment of a request path (a ConfigMap the operator reads) or
    # a reference the kubelet resolves, so "/", "..", "?" and "%" must not get through.
    InvalidCase(
        "env-from-config-map-name-is-a-path-to-the-cluster-list",
        "schema",
        http(envFrom=[{"configMapRef": {"name": "../../../configmaps"}}]),
        "spec.envFrom",
        OBJECT_NAME,
    ),
    InvalidCase(
        "env-from-config-map-name-reaches-another-namespace",
        "schema",
        http(envFrom=[{"configMapRef": {"name": "../../kube-system/configmaps/x"}}]),
        "spec.envFrom",
        OBJECT_NAME,
    ),
    InvalidCase(
        "env-from-config-map-name-too-long",
        "schema",
        http(envFrom=[{"configMapRef": {"name": "a" * 254}}]),
        "spec.envFrom",
        "at most 253",
        admission_message="may not be more than 253 bytes",
    ),
    InvalidCase(
        "env-from-secret-name-with-a-query",
        "schema",
        http(envFrom=[{"secretRef": {"name": "db?watch=true"}}]),
        "spec.envFrom",
        OBJECT_NAME,
    ),
    InvalidCase(
        "env-secret-key-ref-name-is-a-path",
        "schema",
        http(
            env=[{"name": "DB_URL", "valueFrom": {"secretKeyRef": {"name": "../db", "key": "url"}}}]
        ),
        "spec.env",
        OBJECT_NAME,
    ),
    InvalidCase(
        "env-secret-key-ref-without-name",
        "schema",
        http(env=[{"name": "DB_URL", "valueFrom": {"secretKeyRef": {"key": "url"}}}]),
        "spec.env",
        "Field required",
        admission_message="Required value",
    ),
    InvalidCase(
        "env-config-map-key-ref-name-percent-encoded",
        "schema",
        http(
            env=[{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "a%2Fb", "key": "m"}}}]
        ),
        "spec.env",
        OBJECT_NAME,
    ),
    InvalidCase(
        "env-config-map-key-ref-name-with-a-trailing-newline",
        "schema",
        http(
            env=[{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg\n", "key": "m"}}}]
        ),
        "spec.env",
        OBJECT_NAME,
    ),
    InvalidCase(
        "sasl-secret-name-is-a-path",
        "schema",
        with_kafka(
            security={"protocol": "SASL_SSL", "sasl": {"secretRef": {"name": "kafka/credentials"}}}
        ),
        "spec.kafka.security.sasl.secretRef.name",
        OBJECT_NAME,
    ),
    InvalidCase(
        "tls-secret-name-uppercase",
        "schema",
        with_kafka(security={"protocol": "SSL", "tls": {"secretRef": {"name": "Kafka-TLS"}}}),
        "spec.kafka.security.tls.secretRef.name",
        OBJECT_NAME,
    ),
    InvalidCase(
        "service-account-name-not-dns",
        "schema",
        http(serviceAccountName="Content_SA"),
        "spec.serviceAccountName",
        OBJECT_NAME,
    ),
    InvalidCase(
        "service-account-name-ends-with-a-dot",
        "schema",
        http(serviceAccountName="content-service."),
        "spec.serviceAccountName",
        OBJECT_NAME,
    ),
    InvalidCase(
        "image-pull-secret-name-empty",
        "schema",
        http(imagePullSecrets=[{"name": ""}]),
        "spec.imagePullSecrets",
        OBJECT_NAME,
    ),
    InvalidCase(
        "image-pull-secret-name-in-another-namespace",
        "schema",
        http(imagePullSecrets=[{"name": "kube-system/regcred"}]),
        "spec.imagePullSecrets",
        OBJECT_NAME,
    ),
    # --- pod metadata and scheduling: bounded, valid label syntax, no security escape --
    InvalidCase(
        "pod-label-key-not-a-label-key",
        "schema",
        http(podLabels={"team/../x": "content"}),
        "spec.podLabels",
        "keys must be label keys",
    ),
    InvalidCase(
        "pod-label-value-with-a-space",
        "schema",
        http(podLabels={"team": "content team"}),
        "spec.podLabels",
        "values must be label values",
    ),
    InvalidCase(
        "pod-label-value-too-long",
        "schema",
        http(podLabels={"team": "x" * 64}),
        "spec.podLabels",
        "63",
    ),
    InvalidCase(
        "pod-labels-too-many",
        "schema",
        http(podLabels={f"label-{i}": "x" for i in range(65)}),
        "spec.podLabels",
        "at most 64 ",
    ),
    InvalidCase(
        "pod-labels-override-the-selector",
        "schema",
        http(podLabels={"huleedu.io/service": "other-service"}),
        "spec.podLabels",
        "are the pod selector's labels",
    ),
    InvalidCase(
        "pod-labels-override-the-instance-label",
        "schema",
        http(podLabels={"app.kubernetes.io/instance": "other"}),
        "spec.podLabels",
        "are the pod selector's labels",
    ),
    InvalidCase(
        "node-selector-key-not-a-label-key",
        "schema",
        http(nodeSelector={"-os": "linux"}),
        "spec.nodeSelector",
        "keys must be label keys",
    ),
    InvalidCase(
        "node-selector-value-not-a-label-value",
        "schema",
        http(nodeSelector={"kubernetes.io/os": "linux/amd64"}),
        "spec.nodeSelector",
        "values must be label values",
    ),
    InvalidCase(
        "node-selector-too-many",
        "schema",
        http(nodeSelector={f"node-{i}": "x" for i in range(65)}),
        "spec.nodeSelector",
        "at most 64 ",
    ),
    InvalidCase(
        "pod-annotation-key-with-a-space",
        "schema",
        http(podAnnotations={"owner team": "content"}),
        "spec.podAnnotations",
        "keys must be annotation keys",
    ),
    InvalidCase(
        "pod-annotation-value-too-long",
        "schema",
        http(podAnnotations={"huleedu.io/notes": "x" * 4097}),
        "spec.podAnnotations",
        "4096",
    ),
    InvalidCase(
        "pod-annotations-too-many",
        "schema",
        http(podAnnotations={f"note-{i}": "x" for i in range(65)}),
        "spec.podAnnotations",
        "at most 64 ",
    ),
    InvalidCase(
        "pod-annotation-apparmor-unconfined",
        "schema",
        http(podAnnotations={"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}),
        "spec.podAnnotations",
        "would change the pod's security profile",
    ),
    InvalidCase(
        "pod-annotation-apparmor-localhost-profile",
        "schema",
        http(
            podAnnotations={
                "container.apparmor.security.beta.kubernetes.io/app": "localhost/permissive"
            }
        ),
        "spec.podAnnotations",
        "would change the pod's security profile",
    ),
    InvalidCase(
        "pod-annotation-seccomp-pod-unconfined",
        "schema",
        http(podAnnotations={"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}),
        "spec.podAnnotations",
        "would change the pod's security profile",
    ),
    InvalidCase(
        "pod-annotation-seccomp-container",
        "schema",
        http(podAnnotations={"container.seccomp.security.alpha.kubernetes.io/app": "unconfined"}),
        "spec.podAnnotations",
        "would change the pod's security profile",
    ),
    InvalidCase(
        "pod-annotation-unsafe-sysctls",
        "schema",
        http(podAnnotations={"security.alpha.kubernetes.io/unsafe-sysctls": "kernel.msgmax=1"}),
        "spec.podAnnotations",
        "would change the pod's security profile",
    ),
    InvalidCase(
        "pod-annotation-container-runtime-override",
        "schema",
        http(podAnnotations={"io.kubernetes.cri-o.Devices": "/dev/mem"}),
        "spec.podAnnotations",
        "would change the pod's security profile",
    ),
    InvalidCase(
        "pod-annotation-sandbox-runtime-override",
        "schema",
        http(podAnnotations={"io.katacontainers.config.hypervisor.kernel_params": "x"}),
        "spec.podAnnotations",
        "would change the pod's security profile",
    ),
    # --- disruption budget: no value that blocks every drain, no value the API refuses --
    InvalidCase(
        "pdb-max-unavailable-zero",
        "rule",
        http(replicas=3, disruptionBudget={"maxUnavailable": 0}),
        "spec.disruptionBudget.maxUnavailable",
        "0 lets no pod be evicted",
    ),
    InvalidCase(
        "pdb-max-unavailable-zero-percent",
        "rule",
        http(replicas=3, disruptionBudget={"maxUnavailable": "0%"}),
        "spec.disruptionBudget.maxUnavailable",
        "0 lets no pod be evicted",
    ),
    InvalidCase(
        "pdb-min-available-all-pods-as-a-percentage",
        "rule",
        http(replicas=3, disruptionBudget={"minAvailable": "100%"}),
        "spec.disruptionBudget.minAvailable",
        "must be lower than the replica count",
    ),
    InvalidCase(
        "pdb-min-available-percentage-rounds-up-to-every-pod",
        "rule",
        http(replicas=1, disruptionBudget={"minAvailable": "50%"}),
        "spec.disruptionBudget.minAvailable",
        "must be lower than the replica count",
    ),
    InvalidCase(
        "pdb-min-available-not-a-number-or-percentage",
        "schema",
        http(replicas=3, disruptionBudget={"minAvailable": "abc"}),
        "spec.disruptionBudget.minAvailable",
        "must be a pod count (0 or more) or a percentage",
    ),
    InvalidCase(
        "pdb-max-unavailable-not-a-number-or-percentage",
        "schema",
        http(replicas=3, disruptionBudget={"maxUnavailable": "abc"}),
        "spec.disruptionBudget.maxUnavailable",
        "must be a pod count (0 or more) or a percentage",
    ),
    InvalidCase(
        "pdb-min-available-a-number-as-a-string",
        "schema",
        http(replicas=3, disruptionBudget={"minAvailable": "1"}),
        "spec.disruptionBudget.minAvailable",
        "must be a pod count (0 or more) or a percentage",
    ),
    InvalidCase(
        "pdb-max-unavailable-above-100-percent",
        "schema",
        http(replicas=3, disruptionBudget={"maxUnavailable": "150%"}),
        "spec.disruptionBudget.maxUnavailable",
        "must be a pod count (0 or more) or a percentage",
    ),
    InvalidCase(
        "pdb-min-available-negative",
        "schema",
        http(replicas=3, disruptionBudget={"minAvailable": -1}),
        "spec.disruptionBudget.minAvailable",
        "must be a pod count (0 or more) or a percentage",
    ),
    # --- Kafka topic names Kafka itself would refuse --------------------------------------
    InvalidCase(
        "topic-too-long-for-its-dead-letter-topic",
        "schema",
        http(kafka={"topics": ["t" * 246]}),
        "spec.kafka.topics",
        "at most 245 characters",
    ),
    InvalidCase(
        "topic-dot",
        "schema",
        http(kafka={"topics": ["."]}),
        "spec.kafka.topics",
        "not '.' or '..'",
    ),
    InvalidCase(
        "topic-dot-dot",
        "schema",
        worker(kafka={"topics": [".."]}),
        "spec.kafka.topics",
        "not '.' or '..'",
    ),
    # --- env entries the API server would refuse only when the Deployment is applied ---
    InvalidCase(
        "env-value-and-value-from",
        "rule",
        http(
            env=[
                {
                    "name": "DB_URL",
                    "value": "x",
                    "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}},
                }
            ]
        ),
        "spec.env[0]",
        "set value or valueFrom, not both",
    ),
    # --- env names the operator sets, and credentials, are not settings -----------------
    InvalidCase(
        "settings-sasl-password-in-the-pod-spec",
        "rule",
        {**with_kafka(), "settings": {"KAFKA_SASL_PASSWORD": "hunter2"}},
        "spec.settings",
        "a key is reserved",
    ),
    InvalidCase(
        "settings-downgrade-the-security-protocol",
        "rule",
        {
            **with_kafka(security={"protocol": "SASL_SSL", "sasl": _SASL}),
            "settings": {"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"},
        },
        "spec.settings",
        "a key is reserved",
    ),
    InvalidCase(
        "settings-override-the-prefixed-port",
        "rule",
        http(envPrefix="CONTENT_SERVICE_", settings={"CONTENT_SERVICE_PORT": "9000"}),
        "spec.settings",
        "plain and with spec.envPrefix",
    ),
    InvalidCase(
        "env-overrides-the-prefixed-bootstrap-servers",
        "rule",
        worker(
            envPrefix="EVENT_WORKER_",
            env=[{"name": "EVENT_WORKER_KAFKA_BOOTSTRAP_SERVERS", "value": "evil:9092"}],
        ),
        "spec.env",
        "a name is reserved",
    ),
    InvalidCase(
        "env-overrides-the-tls-ca-file",
        "rule",
        worker(env=[{"name": "KAFKA_SSL_CAFILE", "value": "/tmp/ca.crt"}]),
        "spec.env",
        "KAFKA_SSL_CAFILE",
    ),
    InvalidCase(
        "settings-database-password",
        "schema",
        http(settings={"DB_PASSWORD": "hunter2"}),
        "spec.settings",
        "name it in env[].valueFrom.secretKeyRef",
    ),
    InvalidCase(
        "settings-api-key",
        "schema",
        http(settings={"OPENAI_API_KEY": "sk-x"}),
        "spec.settings",
        "a key looks like a credential",
    ),
    InvalidCase(
        "settings-lowercase-client-secret",
        "schema",
        http(settings={"oauth_client_secret": "x"}),
        "spec.settings",
        "a key looks like a credential",
    ),
    InvalidCase(
        "settings-private-key",
        "schema",
        http(settings={"JWT_PRIVATE_KEY": "-----BEGIN"}),
        "spec.settings",
        "a key looks like a credential",
    ),
)

INVALID_BY_ID = {case.id: case for case in INVALID_CASES}
assert len(INVALID_BY_ID) == len(INVALID_CASES), "case ids must be unique"
