"""Valid HuleEduService documents: the render matrix.

Each :class:`ValidCase` is a resource plus the cluster capabilities it is rendered
with. The unit tier compares their rendered children with golden files; the
integration tier applies the same children with ``--dry-run=server``, and creates the
resources themselves, so one table proves both "renders as intended" and "the API
server accepts it".
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render import Capability, RenderDefaults

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"

API_VERSION = "huleedu.io/v1alpha1"
KIND = "HuleEduService"
NAMESPACE = "huleedu"
UID = "6f1c1b5e-0b8a-4d5e-9a57-3c2f1d0e9b11"
BOOTSTRAP = "kafka.huleedu.svc:9092"
SECRET_NAME = "kafka-credentials"
TLS_SECRET_NAME = "broker-tls-material"


def document(
    name: str, spec: dict[str, Any], *, uid: str | None = None, namespace: str = NAMESPACE
) -> dict[str, Any]:
    """A whole HuleEduService document around ``spec``."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if uid:
        metadata["uid"] = uid
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}


def example(filename: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((EXAMPLES / filename).read_text())
    return loaded


@dataclass(frozen=True)
class ValidCase:
    """One resource and the capabilities of the cluster it is rendered for."""

    id: str
    document: dict[str, Any]
    capabilities: frozenset[Capability] = field(default_factory=frozenset)
    warns: bool = False
    """True when rendering must produce a warning (e.g. worker autoscaling without KEDA)."""
    operator: dict[str, Any] = field(default_factory=dict)
    """Operator settings the case is rendered with (RenderDefaults fields, e.g. the Gateway)."""

    def resource(self, namespace: str | None = None, uid: str | None = None) -> HuleEduService:
        doc = copy.deepcopy(self.document)
        if namespace is not None:
            doc["metadata"]["namespace"] = namespace
        if uid is not None:
            doc["metadata"]["uid"] = uid
        return HuleEduService.model_validate(doc)

    def defaults(self) -> RenderDefaults:
        return RenderDefaults(
            kafka_bootstrap_servers=BOOTSTRAP, capabilities=self.capabilities, **self.operator
        )

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.document["spec"]
        return spec


MON = frozenset({Capability.MONITORING})
KEDA = frozenset({Capability.KEDA})
GATEWAY = frozenset({Capability.GATEWAY_API})
ALL = frozenset(Capability)

_SASL_TLS_KAFKA: dict[str, Any] = {
    "bootstrapServers": "broker-0.kafka:9093,broker-1.kafka:9093",
    "topics": ["huleedu.essays.submitted.v1"],
    "partitions": 6,
    "security": {
        "protocol": "SASL_SSL",
        "sasl": {"mechanism": "SCRAM-SHA-512", "secretRef": {"name": SECRET_NAME}},
        "tls": {"secretRef": {"name": TLS_SECRET_NAME}},
    },
}

VALID_CASES: tuple[ValidCase, ...] = (
    ValidCase("example-content-service", example("content-service.yaml")),
    ValidCase("example-event-worker-keda", example("event-worker.yaml"), KEDA),
    ValidCase(
        # A producer: Kafka settings and no topics (the CRD's topic rules must not need
        # the key: it has no schema default).
        "http-kafka-producer-without-topics",
        document(
            "notifier",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/notifier:1.0",
                "kafka": {"bootstrapServers": "k:9092"},
            },
            uid=UID,
        ),
    ),
    ValidCase(
        "http",
        document(
            "content-service",
            {"type": "http", "image": "ghcr.io/huleedu/content-service:1.4.2", "replicas": 2},
            uid=UID,
        ),
    ),
    ValidCase(
        "worker",
        document(
            "spellchecker",
            {
                "type": "worker",
                "image": "ghcr.io/huleedu/spellchecker:2.0.0",
                "kafka": {
                    "bootstrapServers": "kafka-0.kafka:9092",
                    "topics": ["huleedu.spellcheck.requested.v1"],
                    "consumerGroup": "spellchecker-v2",
                    "autoOffsetReset": "latest",
                    "maxPollRecords": 50,
                    "sessionTimeoutMs": 30000,
                    "heartbeatIntervalMs": 10000,
                    "maxPollIntervalMs": 300000,
                },
            },
            uid=UID,
        ),
    ),
    ValidCase(
        "hybrid-http-kafka",
        document(
            "batch-orchestrator",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/batch-orchestrator:0.9.0",
                "port": 5001,
                "kafka": {"topics": ["huleedu.batch.completed.v1", "huleedu.batch.failed.v1"]},
            },
        ),
    ),
    ValidCase(
        "http-autoscaled-hpa",
        document(
            "api-gateway",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/api-gateway:3.1.0",
                "replicas": 4,
                "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}},
                "autoscaling": {
                    "minReplicas": 2,
                    "maxReplicas": 8,
                    "targetCpuUtilizationPercentage": 70,
                },
            },
            uid=UID,
        ),
    ),
    ValidCase(
        "worker-autoscaled-keda",
        document(
            "essay-lifecycle",
            {
                "type": "worker",
                "kafka": {"topics": ["huleedu.essay.a.v1", "huleedu.essay.b.v1"], "partitions": 4},
                "autoscaling": {"minReplicas": 1, "maxReplicas": 4, "lagThreshold": 25},
            },
            uid=UID,
        ),
        KEDA,
    ),
    ValidCase(
        "worker-autoscaled-without-keda",
        document(
            "essay-lifecycle",
            {
                "type": "worker",
                "replicas": 2,
                "kafka": {"topics": ["huleedu.essay.a.v1"], "partitions": 4},
                "autoscaling": {"minReplicas": 1, "maxReplicas": 4},
            },
        ),
        warns=True,
    ),
    ValidCase(
        "http-prefixed-env",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "envPrefix": "CONTENT_SERVICE_",
                "settings": {"ENVIRONMENT": "production", "LOG_LEVEL": "INFO"},
                "env": [
                    {"name": "LOG_LEVEL", "value": "DEBUG"},
                    {
                        "name": "DATABASE_URL",
                        "valueFrom": {"secretKeyRef": {"name": "content-db", "key": "url"}},
                    },
                ],
                "envFrom": [{"configMapRef": {"name": "shared-settings"}}],
                "kafka": {"topics": ["huleedu.content.requested.v1"]},
            },
        ),
    ),
    ValidCase(
        "worker-probes-disabled",
        document(
            "legacy-worker",
            {
                "type": "worker",
                "image": "ghcr.io/huleedu/legacy-worker:1.0.0",
                "command": ["python", "-m", "legacy_worker"],
                "probes": {"enabled": False, "heartbeat": False},
                "metrics": {"enabled": False},
                "kafka": {"topics": ["huleedu.legacy.v1"]},
            },
        ),
    ),
    ValidCase(
        "worker-heartbeat-liveness",
        document(
            "pure-worker",
            {
                "type": "worker",
                "image": "ghcr.io/huleedu/pure-worker:1.0.0",
                "probes": {"enabled": False, "liveness": {"periodSeconds": 15}},
                "metrics": {"enabled": False},
                "kafka": {"topics": ["huleedu.pure.v1"], "handlerTimeoutSeconds": 120},
            },
        ),
    ),
    ValidCase(
        "http-probes-overridden",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "metrics": {"port": 9100},
                "probes": {
                    "liveness": {"path": "/livez", "initialDelaySeconds": 5},
                    "readiness": {"port": 9100, "periodSeconds": 5, "failureThreshold": 6},
                },
            },
        ),
    ),
    ValidCase(
        "topology-spread-custom",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "replicas": 3,
                "topologySpread": {
                    "constraints": [
                        {
                            "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "DoNotSchedule",
                            "minDomains": 2,
                        },
                        {"topologyKey": "kubernetes.io/hostname", "maxSkew": 2},
                    ]
                },
            },
        ),
    ),
    ValidCase(
        "topology-spread-disabled",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "replicas": 3,
                "topologySpread": {"enabled": False},
            },
        ),
    ),
    # Every volume source on one single-replica pod: a new ReadWriteOnce claim (so the
    # Deployment rolls out by Recreate), an existing claim read-only, ConfigMap and
    # Secret files, and memory-backed scratch space.
    ValidCase(
        "volumes-every-source",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "volumes": [
                    {
                        "name": "data",
                        "mountPath": "/var/lib/content",
                        "persistentVolumeClaim": {
                            "size": "5Gi",
                            "storageClassName": "fast.ssd",
                        },
                    },
                    {
                        "name": "uploads",
                        "mountPath": "/srv/uploads",
                        "persistentVolumeClaim": {"claimName": "shared.uploads", "readOnly": True},
                    },
                    {
                        "name": "templates",
                        "mountPath": "/etc/content/templates",
                        "configMap": {"name": "content.templates"},
                    },
                    {
                        "name": "signing-key",
                        "mountPath": "/etc/content/keys",
                        "secret": {"name": "content.signing", "optional": True},
                    },
                    {
                        "name": "cache",
                        "mountPath": "/var/cache/content",
                        "emptyDir": {"sizeLimit": "512Mi", "medium": "Memory"},
                    },
                ],
                "migrations": {"command": ["alembic", "upgrade", "head"]},
            },
        ),
    ),
    ValidCase(
        "volumes-shared-claim-several-replicas",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "replicas": 3,
                "volumes": [
                    {
                        "name": "media",
                        "mountPath": "/data/media",
                        "persistentVolumeClaim": {
                            "size": "100Gi",
                            "accessModes": ["ReadWriteMany"],
                        },
                    },
                    {"name": "scratch", "mountPath": "/data/scratch", "emptyDir": {}},
                ],
            },
        ),
    ),
    ValidCase(
        "worker-volume-existing-claim",
        document(
            "essay-lifecycle",
            {
                "type": "worker",
                "image": "ghcr.io/huleedu/essay-lifecycle:2.0.0",
                "kafka": {"topics": ["huleedu.essay.submitted.v1"]},
                "volumes": [
                    {
                        "name": "state",
                        "mountPath": "/data",
                        "persistentVolumeClaim": {"claimName": "essay-state"},
                    }
                ],
            },
        ),
    ),
    # spec.expose without the Gateway API: an Ingress (default class) with TLS.
    ValidCase(
        "http-exposed-ingress",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "expose": {"host": "content.huleedu.example", "tlsSecretName": "content.tls"},
            },
        ),
    ),
    # The Gateway API is installed but the operator has no Gateway configured: still an
    # Ingress (a route with no parent would serve nothing), with the configured class.
    ValidCase(
        "http-exposed-ingress-class-and-paths",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "port": 8080,
                "expose": {
                    "host": "api.huleedu.example",
                    "paths": [
                        {"path": "/v1/content"},
                        {"path": "/v1/status", "pathType": "Exact"},
                    ],
                },
            },
        ),
        GATEWAY,
        operator={"ingress_class_name": "nginx"},
    ),
    ValidCase(
        "http-exposed-httproute",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "replicas": 2,
                "expose": {
                    "host": "*.content.huleedu.example",
                    "paths": [
                        {"path": "/v1/content/"},
                        {"path": "/healthz", "pathType": "Exact"},
                    ],
                    "tlsSecretName": "content.tls",
                },
            },
        ),
        GATEWAY,
        operator={"gateway_name": "huleedu", "gateway_namespace": "gateway-system"},
    ),
    ValidCase(
        "http-startup-probe",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "probes": {"startup": {"periodSeconds": 5, "failureThreshold": 60}},
            },
        ),
    ),
    ValidCase(
        "worker-sasl-tls-keda",
        document(
            "nlp-worker",
            {
                "type": "worker",
                "image": "ghcr.io/huleedu/nlp:0.3.1",
                "envPrefix": "NLP_",
                "kafka": _SASL_TLS_KAFKA,
                "autoscaling": {"maxReplicas": 6},
            },
            uid=UID,
        ),
        KEDA,
    ),
    ValidCase(
        # TLS without SASL: the worker and KEDA's scaler both read the TLS Secret.
        "worker-ssl-tls-keda",
        document(
            "grading-worker",
            {
                "type": "worker",
                "image": "ghcr.io/huleedu/grading:1.0.0",
                "kafka": {
                    "bootstrapServers": "broker-0.kafka:9093",
                    "topics": ["huleedu.grading.requested.v1"],
                    "partitions": 3,
                    "security": {
                        "protocol": "SSL",
                        "tls": {"secretRef": {"name": TLS_SECRET_NAME}},
                    },
                },
                "autoscaling": {"maxReplicas": 3},
            },
            uid=UID,
        ),
        KEDA,
    ),
    ValidCase(
        "http-sasl-plaintext",
        document(
            "result-aggregator",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/result-aggregator:1.0.0",
                "kafka": {
                    "topics": ["huleedu.results.v1"],
                    "security": {
                        "protocol": "SASL_PLAINTEXT",
                        "sasl": {
                            "mechanism": "PLAIN",
                            "secretRef": {"name": SECRET_NAME},
                            "usernameKey": "user",
                            "passwordKey": "pass",
                        },
                    },
                },
            },
        ),
    ),
    ValidCase(
        "http-monitoring",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "metrics": {"interval": "15s", "scrapeTimeout": "5s"},
            },
            uid=UID,
        ),
        MON,
    ),
    ValidCase(
        "http-monitoring-separate-metrics-port",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "metrics": {"port": 9100, "path": "/internal/metrics"},
            },
        ),
        MON,
    ),
    ValidCase(
        "http-metrics-separate-port-annotations",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "metrics": {"port": 9100},
            },
        ),
    ),
    ValidCase(
        "worker-monitoring",
        document(
            "spellchecker",
            {"type": "worker", "kafka": {"topics": ["huleedu.spellcheck.requested.v1"]}},
            uid=UID,
        ),
        MON,
    ),
    ValidCase(
        "http-metrics-disabled",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "metrics": {"enabled": False},
            },
        ),
        MON,
    ),
    ValidCase(
        "http-migrations",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "env": [
                    {
                        "name": "DATABASE_URL",
                        "valueFrom": {"secretKeyRef": {"name": "content-db", "key": "url"}},
                    }
                ],
                "migrations": {"command": ["alembic"], "args": ["upgrade", "head"]},
            },
        ),
    ),
    ValidCase(
        "worker-migrations-own-image",
        document(
            "essay-lifecycle",
            {
                "type": "worker",
                "image": "ghcr.io/huleedu/essay-lifecycle:2.2.0",
                "kafka": {"topics": ["huleedu.essay.a.v1"]},
                "migrations": {
                    "command": ["python", "-m", "essay_lifecycle.migrate"],
                    "image": "ghcr.io/huleedu/essay-lifecycle-migrations:2.2.0",
                },
            },
        ),
    ),
    ValidCase(
        "pdb-min-available",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "replicas": 3,
                "disruptionBudget": {"minAvailable": 2},
            },
        ),
    ),
    ValidCase(
        "pdb-max-unavailable-percentage",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "replicas": 4,
                "disruptionBudget": {"maxUnavailable": "50%"},
            },
        ),
    ),
    ValidCase(
        "pdb-min-available-percentage-autoscaled",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "autoscaling": {"minReplicas": 2, "maxReplicas": 5},
                "disruptionBudget": {"minAvailable": "50%"},
            },
        ),
    ),
    ValidCase(
        "pdb-disabled",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "disruptionBudget": {"enabled": False},
            },
        ),
    ),
    ValidCase(
        "http-pod-scheduling-and-shutdown",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service@sha256:"
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "imagePullPolicy": "IfNotPresent",
                "imagePullSecrets": [{"name": "ghcr"}],
                "serviceAccountName": "content-service",
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [
                    {
                        "key": "dedicated",
                        "operator": "Equal",
                        "value": "huleedu",
                        "effect": "NoSchedule",
                    }
                ],
                "affinity": {
                    "podAntiAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "weight": 100,
                                "podAffinityTerm": {
                                    "topologyKey": "kubernetes.io/hostname",
                                    "labelSelector": {
                                        "matchLabels": {"huleedu.io/service": "content-service"}
                                    },
                                },
                            }
                        ]
                    }
                },
                "podLabels": {"team": "content", "app.kubernetes.io/name": "ignored"},
                "podAnnotations": {"huleedu.io/owner": "content-team"},
                "resources": {
                    "requests": {"cpu": "200m", "memory": "256Mi"},
                    "limits": {"cpu": 1, "memory": "512Mi"},
                },
                "shutdownGracePeriodSeconds": 60,
            },
        ),
    ),
    # NetworkPolicy: further sources on every declared port (an ingress controller's
    # namespace, labelled pods of another namespace, every namespace's pods of one label).
    ValidCase(
        "network-policy-ingress-from",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "metrics": {"port": 9100},
                "networkPolicy": {
                    "ingressFrom": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                            }
                        },
                        {
                            "namespaceSelector": {"matchLabels": {"team": "grading"}},
                            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "grader"}},
                        },
                        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"probe": "x"}}},
                    ]
                },
            },
        ),
    ),
    ValidCase(
        "network-policy-disabled",
        document(
            "spellchecker",
            {
                "type": "worker",
                "image": "ghcr.io/huleedu/spellchecker:2.0.0",
                "kafka": {"topics": ["huleedu.essays.submitted.v1"]},
                "networkPolicy": {"enabled": False},
            },
        ),
    ),
    # Every field that names another object, each with a dotted DNS-1123 subdomain (valid
    # for ConfigMaps, Secrets and ServiceAccounts, though not for the resource itself), and
    # env sources the operator passes through without modelling them.
    ValidCase(
        "object-names-are-dns-subdomains",
        document(
            "content-service",
            {
                "type": "http",
                "image": "ghcr.io/huleedu/content-service:1.4.2",
                "serviceAccountName": "content.reader",
                "imagePullSecrets": [{"name": "ghcr.io-pull"}],
                "env": [
                    {
                        "name": "DATABASE_URL",
                        "valueFrom": {"secretKeyRef": {"name": "content.db", "key": "url"}},
                    },
                    {
                        "name": "FEATURES",
                        "valueFrom": {
                            "configMapKeyRef": {
                                "name": "feature.flags-v2",
                                "key": "features",
                                "optional": True,
                            }
                        },
                    },
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {
                        "name": "MEMORY_LIMIT",
                        "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}},
                    },
                ],
                "envFrom": [
                    {"configMapRef": {"name": "shared.settings"}},
                    {"secretRef": {"name": "shared.secrets", "optional": True}, "prefix": "S_"},
                ],
                "kafka": {
                    "topics": ["huleedu.content.requested.v1"],
                    "security": {
                        "protocol": "SASL_SSL",
                        "sasl": {"secretRef": {"name": "kafka.credentials"}},
                        "tls": {"secretRef": {"name": "kafka.tls"}},
                    },
                },
            },
        ),
    ),
)

VALID_BY_ID = {case.id: case for case in VALID_CASES}
