"""Properties every rendering must have, for any valid resource (hypothesis).

The strategy below draws only resources the model must accept, so a ValidationError is
a failure too: either the strategy or the model disagrees with the documented rules.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huleedu_operator.api.identity import CONFIG_CHECKSUM_ANNOTATION
from huleedu_operator.api.v1alpha1 import (
    HuleEduService,
    looks_like_a_credential,
    reserved_env_names,
)
from huleedu_operator.render import Capability, RenderDefaults, Rendered, render
from huleedu_runtime import contract

pytestmark = pytest.mark.unit

BOOTSTRAP = "kafka.huleedu.svc:9092"
OWNER_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
    contract.LABEL_SERVICE,
)
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

names = st.from_regex(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", fullmatch=True)
env_names = st.from_regex(r"[A-Z_][A-Z0-9_]{0,15}", fullmatch=True)
topic_names = st.from_regex(r"[a-z][a-z0-9._-]{0,30}", fullmatch=True).filter(
    lambda t: not t.endswith(contract.DLQ_SUFFIX)
)
images = st.sampled_from(
    [
        None,
        "ghcr.io/huleedu/content-service:1.4.2",
        "registry.local:5000/huleedu/worker",
        "ghcr.io/huleedu/nlp@sha256:" + "ab" * 32,
    ]
)
durations = st.sampled_from([("5s", 5), ("10s", 10), ("30s", 30), ("1m", 60), ("1m30s", 90)])


@st.composite
def kafka_specs(draw: st.DrawFn, need_partitions: int | None) -> dict[str, Any]:
    kafka: dict[str, Any] = {
        "topics": draw(st.lists(topic_names, min_size=1, max_size=4, unique=True)),
    }
    if draw(st.booleans()):
        kafka["bootstrapServers"] = draw(st.sampled_from(["k0:9092", "k0:9093,k1:9093"]))
    if draw(st.booleans()):
        kafka["consumerGroup"] = draw(names)
    kafka["autoOffsetReset"] = draw(st.sampled_from(["earliest", "latest"]))
    kafka["maxPollRecords"] = draw(st.integers(1, 10000))
    session = draw(st.integers(6000, 120000))
    if draw(st.booleans()):
        kafka["sessionTimeoutMs"] = session
        if draw(st.booleans()):
            kafka["heartbeatIntervalMs"] = draw(st.integers(100, session - 1))
        if draw(st.booleans()):
            kafka["maxPollIntervalMs"] = draw(st.integers(session, 900000))
    if need_partitions is not None:
        kafka["partitions"] = need_partitions + draw(st.integers(0, 4))
    elif draw(st.booleans()):
        kafka["partitions"] = draw(st.integers(1, 64))
    security = draw(st.sampled_from([None, "SSL", "SASL_PLAINTEXT", "SASL_SSL"]))
    if security is not None:
        sec: dict[str, Any] = {"protocol": security}
        if security.startswith("SASL_"):
            sec["sasl"] = {
                "mechanism": draw(st.sampled_from(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])),
                "secretRef": {"name": "kafka-credentials"},
            }
        if security.endswith("SSL") and draw(st.booleans()):
            sec["tls"] = {"secretRef": {"name": "broker-tls-material"}}
        kafka["security"] = sec
    return kafka


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["http", "worker"]))
    spec: dict[str, Any] = {"type": kind, "replicas": draw(st.integers(0, 10))}
    image = draw(images)
    if image:
        spec["image"] = image
    if kind == "http" and draw(st.booleans()):
        spec["port"] = draw(st.integers(1024, 65535))
    if draw(st.booleans()):
        spec["envPrefix"] = draw(st.from_regex(r"[A-Z][A-Z0-9]{0,8}_", fullmatch=True))
    if draw(st.booleans()):
        # Names the operator sets, and credential-looking settings, are refused.
        free = env_names.filter(
            lambda n: (
                n not in reserved_env_names(spec.get("envPrefix"))
                and not looks_like_a_credential(n)
            )
        )
        spec["settings"] = draw(st.dictionaries(free, st.text(max_size=20), max_size=5))
    if draw(st.booleans()):
        allowed = env_names.filter(lambda n: n not in reserved_env_names(spec.get("envPrefix")))
        env_list = draw(st.lists(allowed, max_size=4, unique=True))
        spec["env"] = [{"name": n, "value": f"v-{n}"} for n in env_list]

    autoscale = draw(st.booleans())
    min_r = draw(st.integers(1, 5))
    max_r = draw(st.integers(min_r, 10))
    if autoscale:
        spec["autoscaling"] = {"minReplicas": min_r, "maxReplicas": max_r}
        if kind == "http":
            spec["autoscaling"]["targetCpuUtilizationPercentage"] = draw(st.integers(1, 100))
        else:
            spec["autoscaling"]["lagThreshold"] = draw(st.integers(1, 1000))

    if kind == "worker" or draw(st.booleans()):
        # A consumer group (worker, or http with topics) holds at most one consumer per
        # partition: replicas and the autoscaler's ceiling stay within the partitions.
        spec["kafka"] = draw(kafka_specs(max_r if autoscale else spec["replicas"] or None))

    metrics_on = draw(st.booleans())
    metrics: dict[str, Any] = {"enabled": metrics_on}
    (interval, seconds) = draw(durations)
    metrics["interval"] = interval
    metrics["scrapeTimeout"] = draw(
        st.sampled_from([d for d, s in [("1s", 1), ("5s", 5), ("10s", 10)] if s <= seconds])
    )
    if draw(st.booleans()):
        metrics["port"] = draw(st.integers(9000, 9999))
    spec["metrics"] = metrics
    probes_on = draw(st.booleans()) and (kind == "http" or metrics_on)
    spec["probes"] = {"enabled": probes_on}

    budget = draw(st.sampled_from([None, "off", "min-int", "min-pct", "max"]))
    floor = min_r if autoscale else spec["replicas"]
    if budget == "off":
        spec["disruptionBudget"] = {"enabled": False}
    elif budget == "min-int" and floor > 0:
        spec["disruptionBudget"] = {"minAvailable": draw(st.integers(0, floor - 1))}
    elif budget == "min-pct" and floor >= 2:
        # Rounded up, 50% of 1 pod is that pod: only from 2 pods is one left to evict.
        spec["disruptionBudget"] = {"minAvailable": "50%"}
    elif budget == "max":
        spec["disruptionBudget"] = {"maxUnavailable": draw(st.sampled_from([1, 2, "25%"]))}

    spec["shutdownGracePeriodSeconds"] = draw(st.integers(1, 600))
    if draw(st.booleans()):
        spec["shutdownDrainSeconds"] = draw(st.integers(0, 300))
    if draw(st.booleans()):
        spec["migrations"] = {"command": ["alembic", "upgrade", "head"]}

    metadata: dict[str, Any] = {"name": draw(names), "namespace": draw(names)}
    if draw(st.booleans()):
        metadata["uid"] = str(draw(st.uuids()))
    return {
        "apiVersion": "huleedu.io/v1alpha1",
        "kind": "HuleEduService",
        "metadata": metadata,
        "spec": spec,
    }


capability_sets = st.frozensets(st.sampled_from(list(Capability)))


def render_doc(doc: dict[str, Any], caps: frozenset[Capability]) -> Rendered:
    resource = HuleEduService.model_validate(doc)
    return render(resource, RenderDefaults(kafka_bootstrap_servers=BOOTSTRAP, capabilities=caps))


def deployment_of(result: Rendered) -> dict[str, Any]:
    (found,) = result.by_kind("Deployment")
    return found


def pod_of(result: Rendered) -> dict[str, Any]:
    pod: dict[str, Any] = deployment_of(result)["spec"]["template"]["spec"]
    return pod


def all_containers(result: Rendered) -> list[dict[str, Any]]:
    pod = pod_of(result)
    return [*pod.get("initContainers", []), *pod["containers"]]


@PROPERTY_SETTINGS
@given(doc=documents(), caps=capability_sets)
def test_rendering_is_deterministic(doc: dict[str, Any], caps: frozenset[Capability]) -> None:
    first = render_doc(doc, caps)
    second = render_doc(copy.deepcopy(doc), caps)
    assert first == second
    assert yaml.safe_dump_all(first.children) == yaml.safe_dump_all(second.children)


@PROPERTY_SETTINGS
@given(doc=documents(), caps=capability_sets)
def test_every_child_carries_owner_ready_labels_and_a_controller_reference(
    doc: dict[str, Any], caps: frozenset[Capability]
) -> None:
    result = render_doc(doc, caps)
    name, uid = doc["metadata"]["name"], doc["metadata"].get("uid")
    for child in result.children:
        metadata = child["metadata"]
        labels = metadata["labels"]
        for key in OWNER_LABELS:
            assert key in labels, (child["kind"], key)
        assert labels["app.kubernetes.io/instance"] == name
        assert labels[contract.LABEL_SERVICE] == name
        assert labels["app.kubernetes.io/managed-by"] == contract.MANAGED_BY_VALUE
        assert labels["app.kubernetes.io/component"] == doc["spec"]["type"]
        for value in labels.values():
            assert len(value) <= 63, value
            assert LABEL_VALUE.match(value), value
        assert metadata["namespace"] == doc["metadata"]["namespace"]
        if uid:
            (ref,) = metadata["ownerReferences"]
            assert ref == {
                "apiVersion": "huleedu.io/v1alpha1",
                "kind": "HuleEduService",
                "name": name,
                "uid": uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        else:
            assert "ownerReferences" not in metadata
    template_labels = deployment_of(result)["spec"]["template"]["metadata"]["labels"]
    for key in OWNER_LABELS:
        assert key in template_labels


@PROPERTY_SETTINGS
@given(doc=documents(), caps=capability_sets)
def test_every_selector_matches_the_pod_template(
    doc: dict[str, Any], caps: frozenset[Capability]
) -> None:
    result = render_doc(doc, caps)
    pod_labels = deployment_of(result)["spec"]["template"]["metadata"]["labels"]
    selectors = [deployment_of(result)["spec"]["selector"]["matchLabels"]]
    selectors += [
        c["spec"]["selector"]["matchLabels"] for c in result.by_kind("PodDisruptionBudget")
    ]
    selectors += [c["spec"]["selector"] for c in result.by_kind("Service")]
    for selector in selectors:
        assert selector
        assert selector.items() <= pod_labels.items()


@PROPERTY_SETTINGS
@given(doc=documents(), caps=capability_sets)
def test_every_pod_passes_the_restricted_pod_security_standard(
    doc: dict[str, Any], caps: frozenset[Capability]
) -> None:
    result = render_doc(doc, caps)
    pod = pod_of(result)
    pod_ctx = pod["securityContext"]
    assert pod_ctx["runAsNonRoot"] is True
    assert isinstance(pod_ctx["runAsUser"], int)
    assert pod_ctx["runAsUser"] > 0
    assert pod_ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "hostNetwork" not in pod
    assert "hostPID" not in pod
    assert "hostIPC" not in pod
    tmp_volumes = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    for volume in pod["volumes"]:
        assert volume.keys() & {"emptyDir", "secret", "configMap", "projected"}, volume
    for container in all_containers(result):
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx.get("privileged", False) is False
        assert ctx.get("runAsNonRoot", True) is True
        assert "add" not in ctx["capabilities"]
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert len(tmp) == 1, container["name"]
        assert tmp[0]["name"] in tmp_volumes, container["name"]


@PROPERTY_SETTINGS
@given(doc=documents(), caps=capability_sets)
def test_env_names_are_unique_valid_and_values_are_strings(
    doc: dict[str, Any], caps: frozenset[Capability]
) -> None:
    for container in all_containers(render_doc(doc, caps)):
        names_seen = [e["name"] for e in container["env"]]
        assert len(names_seen) == len(set(names_seen)), "SSA list-map keys must be unique"
        for var in container["env"]:
            assert ENV_NAME.match(var["name"]), var["name"]
            assert ("value" in var) != ("valueFrom" in var), var
            if "value" in var:
                assert isinstance(var["value"], str)
        ports = [p["containerPort"] for p in container.get("ports", [])]
        assert len(ports) == len(set(ports))


@PROPERTY_SETTINGS
@given(doc=documents(), caps=capability_sets)
def test_termination_grace_and_shutdown_timeout_agree(
    doc: dict[str, Any], caps: frozenset[Capability]
) -> None:
    result = render_doc(doc, caps)
    grace = doc["spec"]["shutdownGracePeriodSeconds"]
    drain = 0
    if doc["spec"]["type"] == "http":
        drain = doc["spec"].get("shutdownDrainSeconds", contract.DEFAULT_DRAIN_SECONDS)
    termination = pod_of(result)["terminationGracePeriodSeconds"]
    assert termination == drain + grace + contract.TERMINATION_GRACE_MARGIN_SECONDS
    (app,) = pod_of(result)["containers"]
    sleep = app.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    assert sleep == drain, "the preStop sleep is the drain the grace period counts"
    assert sleep < termination, "the API server requires the sleep to fit in the grace"
    env = {e["name"]: e.get("value") for e in app["env"]}
    user_env = {e["name"] for e in doc["spec"].get("env", [])}
    user_settings = set(doc["spec"].get("settings", {}))
    prefix = doc["spec"].get("envPrefix", "")
    for name in {"SHUTDOWN_TIMEOUT_SECONDS", f"{prefix}SHUTDOWN_TIMEOUT_SECONDS"}:
        if name in user_env or name in user_settings:
            continue  # the user deliberately overrode it
        assert env[name] == str(grace)


@PROPERTY_SETTINGS
@given(doc=documents(), caps=capability_sets)
def test_the_deployment_sets_replicas_exactly_when_no_autoscaler_owns_them(
    doc: dict[str, Any], caps: frozenset[Capability]
) -> None:
    result = render_doc(doc, caps)
    autoscalers = result.by_kind("HorizontalPodAutoscaler") + result.by_kind("ScaledObject")
    spec = deployment_of(result)["spec"]
    kafka = doc["spec"].get("kafka") or {}
    # A consumer group never runs more consumers than partitions (ConsumersCapped).
    cap = kafka.get("partitions") if kafka.get("topics") else None
    replicas = doc["spec"]["replicas"] if cap is None else min(doc["spec"]["replicas"], cap)
    if autoscalers:
        assert "replicas" not in spec
    else:
        assert spec["replicas"] == replicas
    worker_wants_keda = doc["spec"]["type"] == "worker" and "autoscaling" in doc["spec"]
    reasons = {w.reason for w in result.warnings}
    assert ("AutoscalerUnavailable" in reasons) == (
        worker_wants_keda and Capability.KEDA not in caps
    )


_KAFKA_CHANGES = {
    "topics": lambda k: {**k, "topics": [*k["topics"], "huleedu.added.topic.v1"]},
    "maxPollRecords": lambda k: {**k, "maxPollRecords": k["maxPollRecords"] % 10000 + 1},
    "autoOffsetReset": lambda k: {
        **k,
        "autoOffsetReset": "latest" if k["autoOffsetReset"] == "earliest" else "earliest",
    },
    "consumerGroup": lambda k: {**k, "consumerGroup": k.get("consumerGroup", "g") + "-x"},
    "bootstrapServers": lambda k: {**k, "bootstrapServers": "elsewhere:9092"},
}


def _checksum(result: Rendered) -> str:
    annotations = deployment_of(result)["spec"]["template"]["metadata"]["annotations"]
    return str(annotations[CONFIG_CHECKSUM_ANNOTATION])


@PROPERTY_SETTINGS
@given(doc=documents(), caps=capability_sets, change=st.sampled_from(sorted(_KAFKA_CHANGES)))
def test_a_change_of_kafka_settings_changes_the_checksum_and_rolls_the_pods(
    doc: dict[str, Any], caps: frozenset[Capability], change: str
) -> None:
    if "kafka" not in doc["spec"]:
        assert CONFIG_CHECKSUM_ANNOTATION not in deployment_of(render_doc(doc, caps))["spec"][
            "template"
        ]["metadata"].get("annotations", {})
        return
    changed = copy.deepcopy(doc)
    changed["spec"]["kafka"] = _KAFKA_CHANGES[change](changed["spec"]["kafka"])
    assert _checksum(render_doc(doc, caps)) != _checksum(render_doc(changed, caps))


@PROPERTY_SETTINGS
@given(doc=documents(), caps=capability_sets)
def test_a_change_outside_kafka_settings_keeps_the_checksum(
    doc: dict[str, Any], caps: frozenset[Capability]
) -> None:
    if "kafka" not in doc["spec"]:
        return
    changed = copy.deepcopy(doc)
    changed["spec"]["shutdownGracePeriodSeconds"] = doc["spec"]["shutdownGracePeriodSeconds"] + 1
    changed["spec"]["podAnnotations"] = {"unrelated": "change"}
    assert _checksum(render_doc(doc, caps)) == _checksum(render_doc(changed, caps))
