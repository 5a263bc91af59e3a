"""The shipped examples, applied as a user would, run as real containers.

On the local ground every pod here is a container on the real node (containerd + runc),
the operator is the chart's pod, and Services go through kube-proxy's iptables rules.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
import urllib.request
import uuid
from typing import Any

import kafka_client
import pytest

from conftest import (
    ClientPod,
    Ground,
    Kubectl,
    apply,
    get,
    load_example,
    pods_of,
    wait_for,
    wait_ready,
)
from support.ground import exposed_listeners


def owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    return any(
        ref.get("uid") == owner["metadata"]["uid"] and ref.get("controller")
        for ref in obj["metadata"].get("ownerReferences", [])
    )


def container_ids(pod: dict[str, Any]) -> list[str]:
    return [cs.get("containerID", "") for cs in pod["status"].get("containerStatuses", [])]


def assert_real_containers(pods: list[dict[str, Any]], ground: Ground) -> None:
    assert pods, "no pods"
    for pod in pods:
        if ground.real_node:
            assert pod["spec"]["nodeName"] == ground.real_node, pod["metadata"]["name"]
        ids = container_ids(pod)
        assert ids, f"{pod['metadata']['name']}: no container IDs (a kwok pod has none)"
        assert all(i.startswith("containerd://") for i in ids), ids


def request_counts(client: ClientPod, pod_ip: str, port: int) -> float:
    """Requests a pod has served, from its own /metrics (the runtime's counter)."""
    body = client.run("get", f"http://{pod_ip}:{port}/metrics")["body"]
    total = 0.0
    for line in body.splitlines():
        if line.startswith("huleedu_http_requests_total{") and 'route="/healthz"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_the_http_example_runs_as_real_containers_behind_its_service(
    operator: None, kubectl: Kubectl, namespace: str, client: ClientPod, real_ground: Ground
) -> None:
    apply(kubectl, load_example("content-service.yaml", namespace))
    wait_ready(kubectl, namespace, "content-service")
    owner = get(kubectl, namespace, "huleeduservices/content-service")
    deployment = get(kubectl, namespace, "deployment/content-service")
    service = get(kubectl, namespace, "service/content-service")
    assert owned_by(deployment, owner)
    assert owned_by(service, owner)
    assert owner["status"]["observedGeneration"] == owner["metadata"]["generation"]

    pods = pods_of(kubectl, namespace, "content-service")
    assert len(pods) == owner["spec"]["replicas"] == 2
    assert_real_containers(pods, real_ground)
    # The rendered probes pass on the rendered ports and paths: Ready, never restarted.
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz/live"
    for pod in pods:
        (status,) = pod["status"]["containerStatuses"]
        assert status["ready"], status
        assert status["restartCount"] == 0, status

    # Through the ClusterIP Service (kube-proxy), every replica serves.
    port = service["spec"]["ports"][0]["port"]
    url = f"http://{service['spec']['clusterIP']}:{port}/healthz"
    before = {
        p["status"]["podIP"]: request_counts(client, p["status"]["podIP"], port) for p in pods
    }
    # kube-proxy programs a newly ready endpoint a moment after the EndpointSlice shows
    # it, so rounds of 20 requests go until every replica has answered (or 60 s pass);
    # every single request must succeed meanwhile.
    served: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while True:
        result = client.run("get", url, "20")
        assert result["statuses"] == {"200": 20}, result
        served = {ip: request_counts(client, ip, port) - before[ip] for ip in before}
        if all(n > 0 for n in served.values()) or time.monotonic() > deadline:
            break
    assert all(n > 0 for n in served.values()), f"requests per replica via the Service: {served}"


def test_a_separate_metrics_port_on_http_is_really_served(
    operator: None, kubectl: Kubectl, namespace: str, client: ClientPod
) -> None:
    apply(
        kubectl,
        load_example(
            "content-service.yaml",
            namespace,
            replicas=1,
            metrics={"path": "/metrics", "interval": "30s", "port": 9102},
        ),
    )
    wait_ready(kubectl, namespace, "content-service")
    (pod,) = pods_of(kubectl, namespace, "content-service")
    annotations = pod["metadata"].get("annotations", {})
    assert annotations.get("prometheus.io/port") == "9102", annotations
    result = client.run("get", f"http://{pod['status']['podIP']}:9102/metrics")
    assert result["statuses"] == {"200": 1}, result
    assert "huleedu_http_requests_total" in result["body"]


def test_the_worker_example_consumes_commits_and_dead_letters_on_the_real_broker(
    operator: None, kubectl: Kubectl, namespace: str, real_ground: Ground
) -> None:
    requests, results = f"{namespace}.requested.v1", f"{namespace}.processed.v1"
    group = f"{namespace}-worker"
    bootstrap = real_ground.kafka_bootstrap
    kafka_client.ensure_topics(bootstrap, [requests, results, requests + ".DLQ"])
    apply(
        kubectl,
        load_example(
            "event-worker.yaml",
            namespace,
            kafka={"topics": [requests], "consumerGroup": group, "partitions": 3},
            settings={"EVENT_WORKER_RESULT_TOPIC": results},
        ),
    )
    wait_ready(kubectl, namespace, "event-worker")
    (pod,) = pods_of(kubectl, namespace, "event-worker")
    assert_real_containers([pod], real_ground)
    config = get(kubectl, namespace, "configmap", "-l", "huleedu.io/service=event-worker")
    rendered = {k: v for cm in config["items"] for k, v in cm.get("data", {}).items()}
    assert rendered.get("KAFKA_CONSUMER_GROUP") == group, rendered

    result_start = kafka_client.end_offsets(bootstrap, results)
    dlq_start = kafka_client.end_offsets(bootstrap, requests + ".DLQ")
    ids = [uuid.uuid4().hex for _ in range(5)]
    kafka_client.produce(
        bootstrap,
        requests,
        [(i.encode(), json.dumps({"id": i, "text": "real pods"}).encode()) for i in ids]
        + [(b"poison", b"this is not json")],
    )

    def got_all(seen: list[tuple[bytes | None, bytes | None]]) -> bool:
        return {json.loads(v or b"{}").get("id") for _, v in seen} >= set(ids)

    seen = kafka_client.collect(bootstrap, results, result_start, got_all, timeout=90)
    assert got_all(seen), f"results for {len(seen)} of {len(ids)} requests"
    assert json.loads(next(v for _, v in seen if v))["words"] == 2

    dead = kafka_client.collect(
        bootstrap, requests + ".DLQ", dlq_start, lambda s: any(k == b"poison" for k, _ in s), 60
    )
    assert any(k == b"poison" and v == b"this is not json" for k, v in dead), dead

    # Every partition that received a message is committed to its end (an empty one
    # has no committed offset at all).
    ends = {p: end for p, end in kafka_client.end_offsets(bootstrap, requests).items() if end}

    def all_committed() -> bool:
        found = kafka_client.committed(bootstrap, group, requests)
        return all(found.get(p) == end for p, end in ends.items())

    wait_for(all_committed, 60, f"group {group} committed every offset of {requests} ({ends})")


def test_prometheus_scrapes_every_target_rendered_for_both_examples(
    operator: None, kubectl: Kubectl, namespace: str, real_ground: Ground
) -> None:
    prometheus = os.environ.get("PROMETHEUS_URL", "").strip()
    if not prometheus:
        pytest.fail(
            "PROMETHEUS_URL is not set: `scripts/prometheus-local.sh start` and "
            "`source <(scripts/prometheus-local.sh env)` (make test does both)",
            pytrace=False,
        )
    apply(kubectl, load_example("content-service.yaml", namespace))
    apply(
        kubectl,
        load_example(
            "event-worker.yaml",
            namespace,
            kafka={"topics": [f"{namespace}.requested.v1"], "partitions": 3},
        ),
    )
    wait_ready(kubectl, namespace, "content-service")
    wait_ready(kubectl, namespace, "event-worker")
    expected = {
        p["metadata"]["name"]
        for name in ("content-service", "event-worker")
        for p in pods_of(kubectl, namespace, name)
        if p["metadata"].get("annotations", {}).get("prometheus.io/scrape") == "true"
    }
    assert len(expected) == 3, expected

    def up() -> dict[str, float]:
        query = urllib.parse.urlencode({"query": f'up{{namespace="{namespace}"}}'})
        url = f"{prometheus}/api/v1/query?{query}"
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - http URL from env
            data = json.load(r)["data"]["result"]
        return {s["metric"].get("pod", "?"): float(s["value"][1]) for s in data}

    scraped = wait_for(
        lambda: (lambda u: u if set(u) == expected and all(v == 1 for v in u.values()) else None)(
            up()
        ),
        90,
        f"Prometheus reports up == 1 for {sorted(expected)} (last: {up()})",
    )
    assert scraped == dict.fromkeys(expected, 1.0)


def test_the_restricted_pod_security_standard_holds_in_a_real_container(
    operator: None, kubectl: Kubectl, namespace: str
) -> None:
    labels = get(kubectl, "default", f"namespace/{namespace}")["metadata"]["labels"]
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"
    apply(kubectl, load_example("content-service.yaml", namespace, replicas=1))
    wait_ready(kubectl, namespace, "content-service")
    (pod,) = pods_of(kubectl, namespace, "content-service")
    probe = (
        "import os, json\n"
        "out = {'uid': os.getuid(), 'gid': os.getgid()}\n"
        "try:\n"
        "    open('/written-to-root', 'w').write('x')\n"
        "    out['root'] = 'writable'\n"
        "except OSError as e:\n"
        "    out['root'] = type(e).__name__ + ': ' + e.strerror\n"
        "open('/tmp/ok', 'w').write('x')\n"
        "out['tmp'] = open('/tmp/ok').read()\n"
        "print(json.dumps(out))\n"
    )
    proc = kubectl("exec", "-n", namespace, pod["metadata"]["name"], "--", "python3", "-c", probe)
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["uid"] == 10001, found
    assert found["gid"] == 10001, found
    assert re.match(r"OSError: Read-only file system", found["root"]), found
    assert found["tmp"] == "x", found
    # And the API server refuses a pod that breaks the standard, in this namespace.
    refused = kubectl(
        "run", "-n", namespace, "rooted", "--image=busybox", "--restart=Never", check=False
    )
    assert refused.returncode != 0
    assert "violates PodSecurity" in refused.stderr, refused.stderr


def test_the_ground_listens_only_on_loopback_and_the_node_address(real_ground: Ground) -> None:
    if not real_ground.local:
        pytest.fail("this checks the local ground's own processes", pytrace=False)
    assert exposed_listeners() == []
