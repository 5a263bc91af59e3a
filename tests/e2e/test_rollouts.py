"""Rollouts of real containers lose nothing, and the operator survives its own restart.

- http: a steady client sends requests through the Service while a spec change rolls
  the Deployment; 0 may fail. This needs the drain the operator renders (preStop sleep
  while the endpoints move, then the runtime's graceful stop within the grace period).
- worker: a steady stream of requests while the worker rolls; every request gets its
  result (at-least-once: duplicates are allowed, losses are not).
- the operator's pod is deleted in the middle of a rollout; its replacement converges.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import kafka_client

from conftest import (
    ClientPod,
    Ground,
    Kubectl,
    apply,
    conditions,
    get,
    load_example,
    pods_of,
    record,
    wait_for,
    wait_ready,
)


def rollout_done(kubectl: Kubectl, namespace: str, name: str, timeout: int = 240) -> None:
    kubectl(
        "rollout",
        "status",
        "-n",
        namespace,
        f"deployment/{name}",
        f"--timeout={timeout}s",
        timeout=timeout + 30,
    )


def operator_pods(kubectl: Kubectl) -> list[dict[str, Any]]:
    selector = "app.kubernetes.io/name=huleedu-operator"
    pods: list[dict[str, Any]] = get(kubectl, "huleedu-system", "pods", "-l", selector)["items"]
    return pods


def template_hash(kubectl: Kubectl, namespace: str, name: str) -> str:
    deployment = get(kubectl, namespace, f"deployment/{name}")
    return json.dumps(deployment["spec"]["template"], sort_keys=True)


def roll_with_a_setting_change(kubectl: Kubectl, resource: dict[str, Any]) -> None:
    """Change a setting (a new pod template), wait until the operator rendered it and
    the Deployment finished rolling."""
    namespace, name = resource["metadata"]["namespace"], resource["metadata"]["name"]
    old_template = template_hash(kubectl, namespace, name)
    resource["spec"]["settings"] = {**resource["spec"]["settings"], "LOG_LEVEL": "WARNING"}
    apply(kubectl, resource)
    wait_for(
        lambda: template_hash(kubectl, namespace, name) != old_template,
        60,
        "the operator rendered the new pod template",
    )
    rollout_done(kubectl, namespace, name)


def test_an_http_rollout_under_steady_load_fails_no_request(
    operator: None, kubectl: Kubectl, namespace: str, client: ClientPod
) -> None:
    resource = load_example("content-service.yaml", namespace)
    apply(kubectl, resource)
    wait_ready(kubectl, namespace, "content-service")
    service = get(kubectl, namespace, "service/content-service")
    url = f"http://{service['spec']['clusterIP']}:{service['spec']['ports'][0]['port']}/healthz"
    before = {p["metadata"]["name"] for p in pods_of(kubectl, namespace, "content-service")}

    load = client.start("load", url, "45", "20")
    time.sleep(5)
    roll_with_a_setting_change(kubectl, resource)
    result = client.result(load, timeout=120)

    after = {p["metadata"]["name"] for p in pods_of(kubectl, namespace, "content-service")}
    assert not before & after, f"every pod was replaced: before {before}, after {after}"
    record(
        "http_rollout_under_load",
        requests_ok=result["ok"],
        requests_failed=result["failed"],
        rate_per_second=20,
        pods_replaced=len(before),
    )
    assert result["ok"] > 500, result
    assert result["failed"] == 0, result


def test_a_worker_rollout_under_a_steady_stream_loses_no_message(
    operator: None, kubectl: Kubectl, namespace: str, real_ground: Ground
) -> None:
    requests, results = f"{namespace}.requested.v1", f"{namespace}.processed.v1"
    bootstrap = real_ground.kafka_bootstrap
    kafka_client.ensure_topics(bootstrap, [requests, results, requests + ".DLQ"])
    resource = load_example(
        "event-worker.yaml",
        namespace,
        replicas=2,
        kafka={"topics": [requests], "consumerGroup": f"{namespace}-worker", "partitions": 3},
        settings={"EVENT_WORKER_RESULT_TOPIC": results},
    )
    resource["spec"].pop("autoscaling", None)
    apply(kubectl, resource)
    wait_ready(kubectl, namespace, "event-worker")
    start = kafka_client.end_offsets(bootstrap, results)

    ids = [uuid.uuid4().hex for _ in range(400)]
    messages = [(i.encode(), json.dumps({"id": i, "text": "steady"}).encode()) for i in ids]
    stream = threading.Thread(
        target=kafka_client.produce_paced, args=(bootstrap, requests, messages, 10.0)
    )
    stream.start()
    time.sleep(8)
    roll_with_a_setting_change(kubectl, resource)
    stream.join(timeout=120)
    assert not stream.is_alive()

    def ids_seen(seen: list[tuple[bytes | None, bytes | None]]) -> set[str]:
        return {json.loads(v or b"{}").get("id") for _, v in seen}

    seen = kafka_client.collect(
        bootstrap, results, start, lambda s: ids_seen(s) >= set(ids), timeout=120
    )
    missing = set(ids) - ids_seen(seen)
    record(
        "worker_rollout_under_stream",
        messages=len(ids),
        lost=len(missing),
        results_seen=len(seen),
        rate_per_second=10,
    )
    assert not missing, f"{len(missing)} of {len(ids)} requests lost in the rollout"


def test_the_operator_pod_deleted_mid_rollout_is_replaced_and_converges(
    operator: None, kubectl: Kubectl, namespace: str
) -> None:
    resource = load_example("content-service.yaml", namespace)
    apply(kubectl, resource)
    wait_ready(kubectl, namespace, "content-service")
    (operator_pod,) = [
        p
        for p in get(
            kubectl, "huleedu-system", "pods", "-l", "app.kubernetes.io/name=huleedu-operator"
        )["items"]
        if not p["metadata"].get("deletionTimestamp")
    ]
    resource["spec"]["replicas"] = 3
    resource["spec"]["settings"] = {**resource["spec"]["settings"], "LOG_LEVEL": "DEBUG"}
    apply(kubectl, resource)
    # Mid-rollout: as soon as the new template is out, the operator pod goes.
    time.sleep(1)
    kubectl(
        "delete", "pod", "-n", "huleedu-system", operator_pod["metadata"]["name"], "--wait=false"
    )
    # The edit it may not have seen yet, made while no operator runs.
    resource["spec"]["settings"]["ENVIRONMENT"] = "staging"
    apply(kubectl, resource)

    def replaced() -> bool:
        return any(
            p["metadata"]["uid"] != operator_pod["metadata"]["uid"]
            and all(cs.get("ready") for cs in p["status"].get("containerStatuses", []) or [{}])
            for p in operator_pods(kubectl)
        )

    wait_for(replaced, 120, "a new operator pod is Ready")

    def converged() -> dict[str, Any] | None:
        owner = get(kubectl, namespace, "huleeduservices/content-service")
        ready = conditions(owner).get("Ready", {})
        deployment = get(kubectl, namespace, "deployment/content-service")
        env = {
            e["name"]: e.get("value")
            for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        done = (
            owner.get("status", {}).get("observedGeneration") == owner["metadata"]["generation"]
            and ready.get("status") == "True"
            and env.get("ENVIRONMENT") == "staging"
            and env.get("LOG_LEVEL") == "DEBUG"
            and deployment.get("status", {}).get("readyReplicas") == 3
        )
        return owner if done else None

    owner = wait_for(converged, 240, "the replacement operator converged the resource")
    assert owner["status"]["readyReplicas"] == 3
