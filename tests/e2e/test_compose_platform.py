"""A docker compose platform, imported as a user would, runs Ready as real containers.

``huleedu-operator import`` (the CLI, as a subprocess) reads the compose fixture
``tests/fixtures/compose/platform/`` (seven http services, three Kafka workers, named
volumes, one shared; credentials; inter-service URLs; Postgres, Redis and Kafka as
infrastructure, which the import reports and does not convert). The services' own
images are not here, so ``--runtime-example all`` leaves image, command and args out:
the operator's runtime image runs its bundled example app of each service's type, which
serves the imported probe paths and, for the workers, consumes the imported topics on the
ground's real broker. Then the test does what the report asks of a user:

- fills in the Secret skeletons (keys only, ``<set me>``) and applies them;
- drops ``spec.kafka.bootstrapServers`` (the compose host ``kafka:9092``), so the
  operator's configured broker applies, and creates the topics the compose bootstrap
  container created (aiokafka admin);
- creates the claim the services share (compose's shared named volume), and on the
  local ground, which has no storage provisioner (no StorageClass), a ``hostPath``
  PersistentVolume pre-bound (``claimRef``) to each claim, in a world-writable
  directory of this host (the real node's kubelet runs here; fsGroup does not apply to
  hostPath). Elsewhere (kind) the cluster's default StorageClass provisions them;
- keeps every service at one replica with small requests (the real node has 2 cores).

It applies every HuleEduService and waits until each reports Ready, every pod runs on
the real node as a containerd container, never restarted, and every rewritten URL
(``http://<service>.<namespace>.svc:<port>``) names a Service that answers ``/healthz``
on that port through its ClusterIP from a pod (the ground has no cluster DNS, so the
test resolves the name to the Service's ClusterIP itself).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kafka_client
import pytest
import yaml

from conftest import ClientPod, Ground, Kubectl, apply, get, pods_of, wait_for, wait_ready
from support.ground import REPO

PLATFORM = REPO / "tests" / "fixtures" / "compose" / "platform"
PLACEHOLDER = "<set me>"
SMALL = {"requests": {"cpu": "20m", "memory": "64Mi"}}


def huleedu_operator() -> str:
    exe = Path(sys.executable).parent / "huleedu-operator"
    return str(exe) if exe.exists() else "huleedu-operator"


def import_platform(namespace: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The manifests and the report of ``huleedu-operator import`` on the fixture."""
    proc = subprocess.run(
        [
            huleedu_operator(),
            "import",
            *("-f", str(PLATFORM / "docker-compose.yml")),
            *("--env-file", str(PLATFORM / ".env")),
            *("--namespace", namespace),
            *("--runtime-example", "all"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        # The shell wins over .env, as with docker compose: topics and consumer groups
        # of this run are its own on the shared broker.
        env={**os.environ, "KAFKA_PREFIX": namespace},
    )
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d], proc.stderr.splitlines()


def events(kubectl: Kubectl, namespace: str) -> str:
    found = kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp", check=False)
    return str(found.stdout[-6000:])


def claims_of(resource: dict[str, Any]) -> list[tuple[str, bool]]:
    """(claim name, whether the operator creates it) for each claim the resource mounts."""
    out = []
    for volume in resource["spec"].get("volumes", []):
        claim = volume.get("persistentVolumeClaim")
        if claim is not None:
            name = claim.get("claimName") or f"{resource['metadata']['name']}-{volume['name']}"
            out.append((name, "claimName" not in claim))
    return out


def mounted(resource: dict[str, Any], claim: str) -> list[dict[str, Any]]:
    return [
        v
        for v in resource["spec"].get("volumes", [])
        if (v.get("persistentVolumeClaim") or {}).get("claimName") == claim
    ]


def pod_exec(kubectl: Kubectl, namespace: str, pod: dict[str, Any], code: str) -> str:
    name = pod["metadata"]["name"]
    return str(kubectl("exec", "-n", namespace, name, "--", "python3", "-c", code).stdout.strip())


@pytest.fixture
def volumes_cleanup(kubectl: Kubectl) -> Iterator[list[str]]:
    """PersistentVolumes are cluster-wide: the namespace's deletion leaves them."""
    created: list[str] = []
    yield created
    for name in created:
        kubectl("delete", "pv", name, "--wait=false", check=False)


def persistent_volume(name: str, claim: str, namespace: str, path: Path) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {"huleedu.io/e2e-namespace": namespace}},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "claimRef": {"namespace": namespace, "name": claim},
            "hostPath": {"path": str(path), "type": "Directory"},
        },
    }


def test_an_imported_compose_platform_runs_ready_as_real_containers(
    operator: None,
    kubectl: Kubectl,
    namespace: str,
    client: ClientPod,
    real_ground: Ground,
    tmp_path: Path,
    volumes_cleanup: list[str],
) -> None:
    started = time.monotonic()
    documents, report = import_platform(namespace)
    secrets = [d for d in documents if d["kind"] == "Secret"]
    services = [d for d in documents if d["kind"] == "HuleEduService"]
    kinds = [s["spec"]["type"] for s in services]
    assert len(services) >= 8, kinds
    assert kinds.count("worker") >= 2, kinds
    assert secrets, "the platform has credentials"
    assert any("[infrastructure]" in line for line in report), report
    assert not any(key in s["spec"] for s in services for key in ("image", "command", "args"))

    # Secrets: keys only; a user fills in the values (here: made up, Kubernetes names).
    for secret in secrets:
        data = secret["stringData"]
        assert data, secret
        assert set(data.values()) == {PLACEHOLDER}, data
        secret["stringData"] = {
            key: f"postgresql://huleedu:e2e@postgres.{namespace}.svc:5432/app"
            if key.endswith("_URL")
            else f"e2e-{key.lower()}"
            for key in data
        }
        apply(kubectl, secret)

    # Kafka: the operator's broker, and the topics the bootstrap container made.
    topics = sorted({t for s in services for t in s["spec"].get("kafka", {}).get("topics", [])})
    assert topics, services
    assert all(t.startswith(f"{namespace}.") for t in topics), topics
    bootstrap = real_ground.kafka_bootstrap
    kafka_client.ensure_topics(bootstrap, [*topics, *(f"{t}.DLQ" for t in topics)])
    for resource in services:
        resource["spec"].get("kafka", {}).pop("bootstrapServers", None)
        resource["spec"]["resources"] = SMALL

    # Claims: the shared one is the user's to create; on the local ground, a volume each.
    claims = sorted({c for s in services for c in claims_of(s)})
    assert any(new for _, new in claims), claims
    assert any(not new for _, new in claims), claims
    for claim, new in claims:
        if not new:
            shared_claim = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim, "namespace": namespace},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                    **({"storageClassName": ""} if real_ground.local else {}),
                },
            }
            apply(kubectl, shared_claim)
        if real_ground.local:
            path = tmp_path / claim
            path.mkdir(mode=0o777)
            path.chmod(0o777)  # the app's UID (10001) writes; umask is not asked
            pv = f"{namespace}-{claim}"
            apply(kubectl, persistent_volume(pv, claim, namespace, path))
            volumes_cleanup.append(pv)

    applied = time.monotonic()
    for resource in services:
        apply(kubectl, resource)
    names = sorted(s["metadata"]["name"] for s in services)
    for name in names:
        wait_ready(kubectl, namespace, name, timeout=max(30, 180 - (time.monotonic() - applied)))
    ready_after = time.monotonic() - applied

    pods = {name: pods_of(kubectl, namespace, name) for name in names}
    for name, found in pods.items():
        assert len(found) == 1, (name, [p["metadata"]["name"] for p in found])
        (pod,) = found
        if real_ground.real_node:
            assert pod["spec"]["nodeName"] == real_ground.real_node, name
        (status,) = pod["status"]["containerStatuses"]
        assert status.get("containerID", "").startswith("containerd://"), (name, status)
        assert status["ready"], (name, status)
        last = json.dumps(status.get("lastState"))
        assert status["restartCount"] == 0, (name, last, events(kubectl, namespace))
    for claim, _ in claims:
        pvc = get(kubectl, namespace, f"pvc/{claim}")
        assert pvc["status"].get("phase") == "Bound", (claim, pvc["status"])

    # The shared claim is one volume: what one service writes there, the others read.
    for claim in (c for c, new in claims if not new):
        mounts = [(s["metadata"]["name"], v) for s in services for v in mounted(s, claim)]
        writer = next((n, v) for n, v in mounts if not v["persistentVolumeClaim"].get("readOnly"))
        note = f"{writer[1]['mountPath']}/e2e-{namespace}.txt"
        pod_exec(kubectl, namespace, pods[writer[0]][0], f"open({note!r}, 'w').write('shared')")
        for name, volume in mounts:
            there = f"{volume['mountPath']}/e2e-{namespace}.txt"
            read = pod_exec(kubectl, namespace, pods[name][0], f"print(open({there!r}).read())")
            assert read == "shared", (claim, name)

    # The workers consume on the real broker: a message each topic cannot process (not
    # JSON: the example dead-letters it at once) is committed by every worker's group,
    # the group the import took from compose.
    workers = [s for s in services if s["spec"]["type"] == "worker"]
    for topic in sorted({t for w in workers for t in w["spec"]["kafka"]["topics"]}):
        kafka_client.produce(bootstrap, topic, [(b"e2e", b"not json")])
    for worker in workers:
        group = str(worker["spec"]["kafka"].get("consumerGroup"))
        assert group.startswith(f"{namespace}."), worker["spec"]["kafka"]
        for topic in worker["spec"]["kafka"]["topics"]:
            ends = {p: e for p, e in kafka_client.end_offsets(bootstrap, topic).items() if e}

            def caught_up(group: str = group, topic: str = topic, ends: Any = ends) -> bool:
                found = kafka_client.committed(bootstrap, group, topic)
                return all(found.get(p) == e for p, e in ends.items())

            wait_for(caught_up, 60, f"group {group} committed {topic} to its end ({ends})")

    # Every URL the import rewrote names a Service that answers on that port.
    svc_url = re.compile(rf"http://([a-z0-9-]+)\.{re.escape(namespace)}\.svc:(\d+)")
    urls = {
        (m.group(1), int(m.group(2)))
        for s in services
        for value in (s["spec"].get("settings") or {}).values()
        for m in svc_url.finditer(value)
    }
    assert len(urls) >= 3, urls
    answered = {}
    for host, port in sorted(urls):
        service = get(kubectl, namespace, f"service/{host}")
        assert port in [p["port"] for p in service["spec"]["ports"]], (host, port)
        url = f"http://{service['spec']['clusterIP']}:{port}/healthz"
        answered[f"{host}:{port}"] = client.run("get", url)["statuses"]
    assert all(s == {"200": 1} for s in answered.values()), answered

    figures = dict(
        services=len(services),
        workers=kinds.count("worker"),
        secrets=len(secrets),
        claims=len(claims),
        urls_checked=len(urls),
        ready_seconds=round(ready_after, 1),
        total_seconds=round(time.monotonic() - started, 1),
    )
    print(f"compose_platform: {figures}")
