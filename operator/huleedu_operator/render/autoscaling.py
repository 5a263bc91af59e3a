"""Autoscalers: an HPA on CPU for http, a KEDA ScaledObject on consumer lag for workers.

A worker asking for autoscaling on a cluster without KEDA gets no autoscaler and a
warning (the controller turns it into a Degraded condition); it keeps spec.replicas.
"""

from __future__ import annotations

from typing import Any

from huleedu_operator.api.v1alpha1 import HuleEduService, KafkaSpec
from huleedu_operator.render.errors import RenderWarning
from huleedu_operator.render.plan import Plan
from huleedu_runtime import contract

KEDA_MISSING = RenderWarning(
    "spec.autoscaling: worker autoscaling needs KEDA (keda.sh), which this cluster does not "
    "serve; install KEDA or disable autoscaling. Running spec.replicas pods meanwhile",
    reason="AutoscalerUnavailable",
)

_SASL_MECHANISMS = {
    "PLAIN": "plaintext",
    "SCRAM-SHA-256": "scram_sha256",
    "SCRAM-SHA-512": "scram_sha512",
}


def autoscaling_warnings(resource: HuleEduService, plan: Plan) -> list[RenderWarning]:
    # An http resource always gets its HPA; only a worker's KEDA can be missing.
    if resource.spec.autoscaled() and not plan.autoscaler_owns_replicas:
        return [KEDA_MISSING]
    return []


def render_hpa(resource: HuleEduService) -> dict[str, Any]:
    scaling = resource.spec.autoscaling
    assert scaling is not None
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": resource.name},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": resource.name,
            },
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": scaling.target_cpu_utilization_percentage,
                        },
                    },
                }
            ],
        },
    }


def trigger_authentication_name(resource: HuleEduService) -> str:
    return f"{resource.name}-kafka"


def _trigger_auth_refs(kafka: KafkaSpec) -> list[dict[str, str]]:
    """The Kafka scaler's secret parameters: SASL credentials and the TLS Secret's files.

    ``ca``, ``cert`` and ``key`` point at the TLS Secret's ``ca.crt``, ``tls.crt`` and
    ``tls.key`` whether or not the Secret holds them: KEDA resolves a missing key to an
    empty value (no CA: the system trust store; no cert and key: no client certificate),
    the same choice the runtime makes from the mounted files. ``sasl`` and ``tls`` stay in
    the trigger's metadata: they are settings, not secrets, and KEDA refuses ``tls`` set
    in both places.
    """
    security = kafka.security
    if security is None:
        return []
    refs: list[dict[str, str]] = []
    if security.sasl is not None:
        secret = security.sasl.secret_ref.name
        refs += [
            {"parameter": "username", "name": secret, "key": security.sasl.username_key},
            {"parameter": "password", "name": secret, "key": security.sasl.password_key},
        ]
    if security.tls is not None:
        secret = security.tls.secret_ref.name
        refs += [
            {"parameter": "ca", "name": secret, "key": contract.KAFKA_TLS_CA_KEY},
            {"parameter": "cert", "name": secret, "key": contract.KAFKA_TLS_CERT_KEY},
            {"parameter": "key", "name": secret, "key": contract.KAFKA_TLS_KEY_KEY},
        ]
    return refs


def render_keda(resource: HuleEduService, plan: Plan) -> list[dict[str, Any]]:
    """ScaledObject (+ TriggerAuthentication for SASL or a TLS Secret) on the consumer's
    own settings, so KEDA reads the lag the way the worker connects."""
    spec = resource.spec
    scaling, kafka = spec.autoscaling, spec.kafka
    assert scaling is not None
    assert kafka is not None
    sasl = kafka.security.sasl if kafka.security else None
    tls = kafka.security is not None and kafka.security.protocol.endswith("SSL")
    settings = plan.kafka_settings
    auth_refs = _trigger_auth_refs(kafka)
    auth_ref = {"authenticationRef": {"name": trigger_authentication_name(resource)}}
    triggers = []
    for topic in kafka.topics:
        metadata = {
            "bootstrapServers": settings["KAFKA_BOOTSTRAP_SERVERS"],
            "consumerGroup": settings["KAFKA_CONSUMER_GROUP"],
            "topic": topic,
            "lagThreshold": str(scaling.lag_threshold),
            "offsetResetPolicy": kafka.auto_offset_reset,
        }
        if sasl is not None:
            metadata["sasl"] = _SASL_MECHANISMS[sasl.mechanism]
        if tls:
            metadata["tls"] = "enable"
        trigger: dict[str, Any] = {"type": "kafka", "metadata": metadata}
        if auth_refs:
            trigger.update(auth_ref)
        triggers.append(trigger)
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": resource.name},
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": resource.name,
                },
                "minReplicaCount": scaling.min_replicas,
                "maxReplicaCount": scaling.max_replicas,
                "triggers": triggers,
            },
        }
    ]
    if auth_refs:
        objects.append(
            {
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "TriggerAuthentication",
                "metadata": {"name": trigger_authentication_name(resource)},
                "spec": {"secretTargetRef": auth_refs},
            }
        )
    return objects
