"""The Deployment: one app container, secure by default.

The pod passes the ``restricted`` Pod Security Standard without any user input:
numeric non-root UID, no privilege escalation, all capabilities dropped,
RuntimeDefault seccomp, read-only root filesystem with a writable ``/tmp``.

An http pod drains before it stops: a ``preStop`` sleep of ``spec.drain_seconds()``
holds SIGTERM back while the EndpointSlice controller and kube-proxy stop routing to
it, and ``terminationGracePeriodSeconds`` (derived once, on the spec) covers the sleep,
the runtime's shutdown timeout and a margin.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from huleedu_operator.api.identity import CONFIG_CHECKSUM_ANNOTATION
from huleedu_operator.api.v1alpha1 import (
    DEFAULT_TOPOLOGY_KEYS,
    HuleEduService,
    ProbeSpec,
    TopologySpreadConstraint,
)
from huleedu_operator.render.defaults import RenderDefaults
from huleedu_operator.render.env import container_env, container_env_from
from huleedu_operator.render.errors import RenderWarning
from huleedu_operator.render.plan import Plan
from huleedu_operator.render.volumes import single_pod_storage, user_volumes
from huleedu_runtime import contract

DEFAULT_REQUESTS = {"cpu": "100m", "memory": "128Mi"}
TMP_VOLUME = "tmp"
TLS_VOLUME = "kafka-tls"


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": contract.RUNTIME_UID,
        "runAsGroup": contract.RUNTIME_UID,
        "fsGroup": contract.RUNTIME_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def config_checksum(data: Mapping[str, str]) -> str:
    """Stable hash of the consumer settings; a change rolls the pods."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _ports(plan: Plan) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = []
    if plan.app_port is not None:
        ports.append({"name": "http", "containerPort": plan.app_port, "protocol": "TCP"})
    if plan.separate_metrics_port is not None:
        port = plan.separate_metrics_port
        ports.append({"name": "metrics", "containerPort": port, "protocol": "TCP"})
    return ports


def _probe(override: ProbeSpec | None, path: str, port: int) -> dict[str, Any]:
    probe = override or ProbeSpec()
    return {
        "httpGet": {"path": probe.path or path, "port": probe.port or port, "scheme": "HTTP"},
        **_probe_timing(probe),
    }


def _heartbeat_probe(override: ProbeSpec | None) -> dict[str, Any]:
    """The exec liveness of a worker without HTTP probes: its heartbeat file's age.

    The runtime touches the file every few seconds while the consumer task runs and
    no handler is stuck; the check is a bare interpreter start, no HTTP server needed.
    """
    command = [*contract.HEARTBEAT_COMMAND, "--max-age", str(contract.HEARTBEAT_MAX_AGE_SECONDS)]
    return {"exec": {"command": command}, **_probe_timing(override or ProbeSpec())}


def _probe_timing(probe: ProbeSpec) -> dict[str, Any]:
    return {
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
        "successThreshold": 1,
    }


def _probes(resource: HuleEduService, plan: Plan) -> dict[str, Any]:
    spec = resource.spec
    if spec.heartbeat_liveness():
        return {"livenessProbe": _heartbeat_probe(spec.probes.liveness)}
    if not spec.probes.enabled:
        return {}
    port = plan.probe_port
    probes = {
        "livenessProbe": _probe(spec.probes.liveness, contract.LIVENESS_PATH, port),
        "readinessProbe": _probe(spec.probes.readiness, contract.READINESS_PATH, port),
    }
    if spec.probes.startup is not None:
        # Only when asked for: liveness alone already covers a fast start, and a default
        # startup probe would change every pod template (a rollout) for nothing.
        probes["startupProbe"] = _probe(spec.probes.startup, contract.LIVENESS_PATH, port)
    return probes


def _lifecycle(resource: HuleEduService) -> dict[str, Any]:
    """The drain: the kubelet sleeps before SIGTERM while endpoints let go of the pod.

    The ``sleep`` action needs no shell or binary in the image (which may be distroless)
    and passes the restricted Pod Security Standard. A zero drain renders no hook: there
    is nothing to wait for, and API servers without PodLifecycleSleepActionAllowZero
    reject a zero sleep.
    """
    seconds = resource.spec.drain_seconds()
    if seconds == 0:
        return {}
    return {"lifecycle": {"preStop": {"sleep": {"seconds": seconds}}}}


def _command(resource: HuleEduService, defaults: RenderDefaults) -> dict[str, Any]:
    spec = resource.spec
    out: dict[str, Any] = {}
    if spec.command is not None:
        out["command"] = list(spec.command)
    elif spec.image is None:
        # The default image is the runtime image: tell it which bundled app to run.
        default = (
            defaults.default_http_command
            if spec.type == "http"
            else defaults.default_worker_command
        )
        out["command"] = list(default)
    if spec.args is not None:
        out["args"] = list(spec.args)
    return out


def _volumes(resource: HuleEduService) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = [{"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "256Mi"}}]
    mounts: list[dict[str, Any]] = [{"name": TMP_VOLUME, "mountPath": "/tmp"}]  # noqa: S108 - a mount point
    kafka = resource.spec.kafka
    if kafka is not None and kafka.security is not None and kafka.security.tls is not None:
        volumes.append(
            {
                "name": TLS_VOLUME,
                "secret": {"secretName": kafka.security.tls.secret_ref.name, "defaultMode": 0o440},
            }
        )
        mounts.append(
            {"name": TLS_VOLUME, "mountPath": contract.KAFKA_TLS_MOUNT_PATH, "readOnly": True}
        )
    extra_volumes, extra_mounts = user_volumes(resource)
    return volumes + extra_volumes, mounts + extra_mounts


def topology_spread(resource: HuleEduService, plan: Plan) -> list[dict[str, Any]]:
    """Spread the pods over nodes and zones once there can be more than one of them.

    The default is a preference (ScheduleAnyway): a one-node or one-zone cluster still
    runs every replica. ``matchLabelKeys: [pod-template-hash]`` counts each ReplicaSet on
    its own, so the surge pods of a rolling update spread instead of piling up next to
    the old pods they replace.
    """
    spec = resource.spec.topology_spread
    if spec is not None and not spec.enabled:
        return []
    if spec is not None and spec.constraints is not None:
        constraints = list(spec.constraints)
    elif resource.spec.may_run_several_pods():
        constraints = [TopologySpreadConstraint(topology_key=k) for k in DEFAULT_TOPOLOGY_KEYS]
    else:
        return []
    rendered: list[dict[str, Any]] = []
    for c in constraints:
        entry: dict[str, Any] = {
            "maxSkew": c.max_skew,
            "topologyKey": c.topology_key,
            "whenUnsatisfiable": c.when_unsatisfiable,
            "labelSelector": {"matchLabels": dict(plan.selector_labels)},
            "matchLabelKeys": ["pod-template-hash"],
        }
        if c.min_domains is not None:
            entry["minDomains"] = c.min_domains
        rendered.append(entry)
    return rendered


def render_deployment(resource: HuleEduService, plan: Plan) -> dict[str, Any]:
    spec = resource.spec
    image = plan.image
    labels = dict(plan.labels)
    volumes, mounts = _volumes(resource)
    env = container_env(resource, plan)
    env_from = container_env_from(resource)
    resources = spec.resources.wire() if spec.resources else {}
    resources.setdefault("requests", dict(DEFAULT_REQUESTS))

    container: dict[str, Any] = {
        "name": "app",
        "image": image,
        **_command(resource, plan.defaults),
        "env": env,
        "ports": _ports(plan),
        **_probes(resource, plan),
        **_lifecycle(resource),
        "resources": resources,
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }
    if env_from:
        container["envFrom"] = env_from
    if spec.image_pull_policy:
        container["imagePullPolicy"] = spec.image_pull_policy

    annotations = {**(spec.pod_annotations or {}), **plan.scrape_annotations}
    if plan.kafka_settings:
        annotations[CONFIG_CHECKSUM_ANNOTATION] = config_checksum(plan.kafka_settings)

    security_context = pod_security_context()
    if spec.claims():
        # fsGroup makes the claim writable by the app's UID; checking the root's owner
        # first spares a large claim a recursive chown on every pod start.
        security_context["fsGroupChangePolicy"] = "OnRootMismatch"
    pod_spec: dict[str, Any] = {
        "securityContext": security_context,
        "terminationGracePeriodSeconds": spec.termination_grace_period_seconds(),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "containers": [container],
        "volumes": volumes,
    }
    if spec.migrations is not None:
        # Copies, not shared references: a shared list would dump as YAML anchors
        # (&id001) in `render` output, and mutating one container would change both.
        migration: dict[str, Any] = {
            "name": "migrations",
            "image": spec.migrations.image or image,
            "command": list(spec.migrations.command),
            "env": copy.deepcopy(env),
            "resources": copy.deepcopy(resources),
            "securityContext": container_security_context(),
            "volumeMounts": copy.deepcopy(mounts),
        }
        if spec.migrations.args:
            migration["args"] = list(spec.migrations.args)
        if env_from:
            migration["envFrom"] = copy.deepcopy(env_from)
        pod_spec["initContainers"] = [migration]
    if spec.service_account_name:
        pod_spec["serviceAccountName"] = spec.service_account_name
    optional = {
        "imagePullSecrets": [s.wire() for s in spec.image_pull_secrets or []],
        "nodeSelector": spec.node_selector,
        "tolerations": [t.wire() for t in spec.tolerations or []],
        "affinity": spec.affinity,
        "topologySpreadConstraints": topology_spread(resource, plan),
    }
    pod_spec.update({k: v for k, v in optional.items() if v})

    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(plan.selector_labels)},
        "revisionHistoryLimit": 5,
        "strategy": (
            {"type": "Recreate"}
            if single_pod_storage(resource)
            else {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            }
        ),
        "template": {
            "metadata": {
                "labels": {**(spec.pod_labels or {}), **labels},
                **({"annotations": annotations} if annotations else {}),
            },
            "spec": pod_spec,
        },
    }
    if not plan.autoscaler_owns_replicas:
        # While an autoscaler runs it owns .spec.replicas; applying it would fight it.
        deployment_spec["replicas"] = desired_replicas(resource)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": resource.name, "labels": labels},
        "spec": deployment_spec,
    }


def desired_replicas(resource: HuleEduService) -> int:
    """spec.replicas, capped at the partition count for a consumer group. Admission
    refuses more (the scale subresource runs the CRD's rules too, as of v1.36), so this
    only acts on objects stored before the rule existed, or written with validation
    ratcheting past it."""
    cap = resource.spec.consumer_cap()
    return min(resource.spec.replicas, cap) if cap is not None else resource.spec.replicas


def replica_warnings(resource: HuleEduService) -> list[RenderWarning]:
    cap = resource.spec.consumer_cap()
    if cap is None or resource.spec.replicas <= cap or resource.spec.autoscaled():
        return []
    return [
        RenderWarning(
            f"spec.replicas: {resource.spec.replicas} consumers for "
            f"spec.kafka.partitions {cap}; running {cap} (more would hold no partition). "
            "Scale to at most the partition count, or add partitions and raise "
            "spec.kafka.partitions",
            reason="ConsumersCapped",
        )
    ]
