"""The operator-to-image contract, end to end, without containers.

The local control plane's pods are fake, so this test does what a kubelet would: it
reads the pod template the operator produced, resolves ``env`` and ``envFrom`` from the
live ConfigMap, and starts the runtime as a local process with exactly that command and
environment (two mappings only, both said here: the Kafka address points at the local
broker instead of the in-cluster one, and HOST is 127.0.0.1 so nothing listens beyond
loopback). Then it checks what Kubernetes and Prometheus would check: the probes as
declared, /metrics where the ServiceMonitor/PodMonitor points, consumption from the
rendered topics and group, and exit on SIGTERM within the rendered grace period.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from kubernetes import client

from support.ground import REPO
from support.operator import OperatorProcess, apply, hes
from support.ports import free_port

STANDIN = REPO / "tests" / "fixtures" / "crds"
MONITORING = [
    STANDIN / "monitoring.coreos.com_servicemonitors.yaml",
    STANDIN / "monitoring.coreos.com_podmonitors.yaml",
]


def kafka_servers() -> str:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        pytest.fail(
            "KAFKA_BOOTSTRAP_SERVERS is not set; start the broker: make kafka-up "
            "&& source <(scripts/kafka-local.sh env)",
            pytrace=False,
        )
    return servers


@pytest.fixture(scope="module")
def monitoring_operator(
    kubectl: Callable[..., Any], operator: OperatorProcess, wait_until: Callable[..., Any]
) -> Iterator[OperatorProcess]:
    """The operator, with the Prometheus Operator's CRDs served (stand-ins)."""
    for path in MONITORING:
        kubectl("apply", "-f", str(path))
    yield operator
    for path in MONITORING:
        kubectl("delete", "-f", str(path), "--ignore-not-found", "--wait=true")


def pod_environment(
    container: client.V1Container, core_v1: client.CoreV1Api, namespace: str
) -> dict[str, str]:
    """What a kubelet would put in the container's environment (envFrom, then env)."""
    env: dict[str, str] = {}
    for source in container.env_from or []:
        assert source.config_map_ref is not None, "the operator only renders ConfigMap sources"
        data = core_v1.read_namespaced_config_map(source.config_map_ref.name, namespace).data
        env.update({f"{source.prefix or ''}{k}": v for k, v in (data or {}).items()})
    for var in container.env or []:
        assert var.value_from is None, f"{var.name}: no Secret refs in the examples"
        env[var.name] = var.value or ""
    return env


def start(container: client.V1Container, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [*(container.command or []), *(container.args or [])]
    assert command[0] == "huleedu-runtime", command
    venv_bin = str(Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin")
    process_env = {
        "PATH": f"{venv_bin}:{os.environ['PATH']}",
        **env,
        "HOST": "127.0.0.1",  # mapping: loopback only on this machine
    }
    # The runtime image's WORKDIR /app holds examples/; the checkout root is its stand-in.
    return subprocess.Popen(
        command, cwd=REPO, env=process_env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        url = f"http://127.0.0.1:{port}{path}"
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def named_port(container: client.V1Container, port: int | str) -> int:
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    return next(p.container_port for p in container.ports if p.name == port)


def stop_within(proc: subprocess.Popen[bytes], grace: int) -> float:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=grace + 5)
    elapsed = time.monotonic() - started
    assert code == 0, f"exit code {code} after SIGTERM"
    assert elapsed <= grace, f"took {elapsed:.1f}s, grace is {grace}s"
    return elapsed


def test_http_example_serves_what_its_pod_template_declares(
    monitoring_operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
    tmp_path: Path,
) -> None:
    port = free_port()
    apply(
        kubectl,
        hes(
            "content-service",
            namespace,
            type="http",
            port=port,
            envPrefix="CONTENT_SERVICE_",
            shutdownGracePeriodSeconds=10,
        ),
    )
    deployment = wait_until(
        lambda: _read(lambda: apps_v1.read_namespaced_deployment("content-service", namespace)),
        timeout=60,
    )
    monitor = wait_until(
        lambda: _read(
            lambda: custom_objects.get_namespaced_custom_object(
                "monitoring.coreos.com", "v1", namespace, "servicemonitors", "content-service"
            )
        ),
        timeout=60,
    )
    service = core_v1.read_namespaced_service("content-service", namespace)
    pod = deployment.spec.template.spec
    container = pod.containers[0]
    env = pod_environment(container, core_v1, namespace)
    assert env["CONTENT_SERVICE_PORT"] == env["PORT"] == str(port)

    proc = start(container, env, tmp_path / "content.log")
    try:
        for probe in (container.liveness_probe, container.readiness_probe):
            probe_port = named_port(container, probe.http_get.port)
            wait_until(
                lambda p=probe_port, path=probe.http_get.path: http_get(p, path)[0] == 200,
                timeout=30,
                message=f"probe {probe.http_get.path} never answered 200",
            )
        endpoint = monitor["spec"]["endpoints"][0]
        service_port = next(p for p in service.spec.ports if p.name == endpoint["port"])
        status, body = http_get(named_port(container, service_port.target_port), endpoint["path"])
        assert status == 200
        assert "# TYPE" in body, "not Prometheus text"
        status, body = http_get(port, "/v1/content/does-not-exist")
        assert status == 404
        assert json.loads(body)["error"]["service"] == "content-service"
        elapsed = stop_within(proc, pod.termination_grace_period_seconds)
        print(
            f"http example stopped {elapsed:.2f}s after SIGTERM "
            f"(grace {pod.termination_grace_period_seconds}s)"
        )
    finally:
        if proc.poll() is None:
            proc.kill()


def test_worker_example_consumes_the_rendered_topics_as_the_rendered_group(
    monitoring_operator: OperatorProcess,
    namespace: str,
    kubectl: Callable[..., Any],
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    wait_until: Callable[..., Any],
    tmp_path: Path,
) -> None:
    servers = kafka_servers()
    topic = f"contract.requested.{uuid.uuid4().hex[:8]}"
    metrics_port = free_port()
    asyncio.run(_create_topic(servers, topic))
    apply(
        kubectl,
        hes(
            "event-worker",
            namespace,
            type="worker",
            kafka={"topics": [topic]},
            metrics={"port": metrics_port},
            shutdownGracePeriodSeconds=10,
        ),
    )
    deployment = wait_until(
        lambda: _read(lambda: apps_v1.read_namespaced_deployment("event-worker", namespace)),
        timeout=60,
    )
    monitor = wait_until(
        lambda: _read(
            lambda: custom_objects.get_namespaced_custom_object(
                "monitoring.coreos.com", "v1", namespace, "podmonitors", "event-worker"
            )
        ),
        timeout=60,
    )
    pod = deployment.spec.template.spec
    container = pod.containers[0]
    env = pod_environment(container, core_v1, namespace)
    assert env["KAFKA_TOPICS"] == topic
    assert env["KAFKA_CONSUMER_GROUP"] == "event-worker"
    env["KAFKA_BOOTSTRAP_SERVERS"] = servers  # mapping: the in-cluster address -> local broker
    group = env["KAFKA_CONSUMER_GROUP"]  # the topic is new per run, so offsets start fresh

    proc = start(container, env, tmp_path / "worker.log")
    try:
        for probe in (container.liveness_probe, container.readiness_probe):
            probe_port = named_port(container, probe.http_get.port)
            wait_until(
                lambda p=probe_port, path=probe.http_get.path: http_get(p, path)[0] == 200,
                timeout=60,
                message=f"worker probe {probe.http_get.path} never 200",
            )
        endpoint = monitor["spec"]["podMetricsEndpoints"][0]
        status, _ = http_get(named_port(container, endpoint["port"]), endpoint["path"])
        assert status == 200
        request_id = uuid.uuid4().hex
        asyncio.run(_produce(servers, topic, {"id": request_id, "text": "hello contract"}))
        committed = wait_until(
            lambda: asyncio.run(_committed(servers, group, topic)),
            timeout=60,
            message="the worker never committed its offset",
        )
        assert committed >= 1
        elapsed = stop_within(proc, pod.termination_grace_period_seconds)
        print(
            f"worker example stopped {elapsed:.2f}s after SIGTERM "
            f"(grace {pod.termination_grace_period_seconds}s)"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
        print((tmp_path / "worker.log").read_text()[-1500:])


def _read(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


async def _create_topic(servers: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()


async def _produce(servers: str, topic: str, payload: dict[str, str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, json.dumps(payload).encode())
    finally:
        await producer.stop()


async def _committed(servers: str, group: str, topic: str) -> int:
    from aiokafka.structs import TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        offset = await consumer.committed(TopicPartition(topic, 0))
        return int(offset or 0)
    finally:
        await consumer.stop()
