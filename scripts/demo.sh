#!/usr/bin/env bash
# make demo: the operator and the examples, end to end, as real software.
#
# With KUBECONFIG unset (the local ground):
#   1. scripts/local-cluster.sh up: the control plane, the kwok node and the real node
#      (containerd + kubelet + kube-proxy). First run: many minutes of Go builds.
#   2. scripts/kafka-local.sh start: the broker, also on the node address for pods.
#   3. scripts/operator-install.sh: builds the Dockerfile's images with buildah, loads
#      them into the node, `helm install`s the chart (the operator runs as a pod).
#   4. applies examples/content-service.yaml and examples/event-worker.yaml in namespace
#      huleedu (steered onto the real node), waits until both are Ready, and proves
#      them real: the pods with their node and container IDs, a response from
#      content-service through its ClusterIP Service, and a request the worker consumed
#      from the broker, answered on its result topic.
#   The operator release stays installed and watches only `huleedu` and `e2e-*`;
#   `make test` reuses it for tests/e2e and its own operators never act there.
#   `scripts/demo.sh stop` uninstalls the release.
#
# With KUBECONFIG set: that cluster, with the operator as a local process (log:
# $HULEEDU_STATE_DIR/operator.log); the examples must be able to pull the runtime
# image there. `scripts/demo.sh stop` stops the process.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HULEEDU_LOG_TAG=demo
# shellcheck source=lib/common.sh
source "$REPO/scripts/lib/common.sh"
STATE_DIR="$(state_dir)"
PID_FILE="$STATE_DIR/operator.pid"
LOG_FILE="$STATE_DIR/operator.log"
export PATH="$REPO/.venv/bin:$PATH"
mkdir -p "$STATE_DIR"
NS=huleedu
# shellcheck source=lib/ground.env
source "$REPO/scripts/lib/ground.env"

stop_local_operator() {
    if [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
        kill "$(cat "$PID_FILE")"
        echo "demo: local operator stopped"
    fi
    rm -f "$PID_FILE"
}

if [[ "${1:-}" == "stop" ]]; then
    stop_local_operator
    if [[ -z "${KUBECONFIG:-}" ]] && "$REPO/scripts/local-cluster.sh" status >/dev/null 2>&1; then
        "$REPO/scripts/operator-install.sh" uninstall
        echo "demo: operator release uninstalled"
    fi
    exit 0
fi

wait_examples() {
    if ! kubectl wait -n "$NS" --for=condition=Ready hes/content-service hes/event-worker --timeout=240s; then
        echo "demo: resources did not become Ready:" >&2
        kubectl get hes,pods -n "$NS" -o wide >&2 || true
        kubectl logs -n huleedu-system deploy/huleedu-operator --tail=40 >&2 2>/dev/null || tail -n 40 "$LOG_FILE" >&2 || true
        exit 1
    fi
}

if [[ -n "${KUBECONFIG:-}" ]]; then
    echo "demo: using KUBECONFIG=$KUBECONFIG (operator as a local process)"
    kubectl apply --server-side --force-conflicts -f "$REPO/crds/"
    kubectl wait --for=condition=Established crd/huleeduservices.huleedu.io --timeout=60s
    kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
    stop_local_operator
    HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS="${HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS:-kafka.huleedu.svc:9092}" \
    HULEEDU_OPERATOR_BIND_ADDRESS=127.0.0.1 \
    HULEEDU_OPERATOR_LOG_FORMAT="${HULEEDU_OPERATOR_LOG_FORMAT:-json}" \
        nohup huleedu-operator run >"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
    echo "demo: operator running (pid $(cat "$PID_FILE"), log $LOG_FILE)"
    kubectl apply --server-side -f "$REPO/examples/content-service.yaml" -f "$REPO/examples/event-worker.yaml"
    wait_examples
    echo
    kubectl get hes -A -o wide
    echo
    # The child kinds every cluster serves, from the operator's one registry of them.
    kinds=$(python -c 'from huleedu_operator.controller.kinds import CHILD_KINDS as K; print(",".join(k.plural for k in K if k.capability is None))')
    selector=$(python -c 'from huleedu_operator.api.identity import MANAGED_SELECTOR; print(MANAGED_SELECTOR)')
    kubectl get "$kinds,pods" -n "$NS" -l "$selector"
    echo
    echo "demo: done. The operator keeps running; stop it with: scripts/demo.sh stop"
    exit 0
fi

echo "demo: KUBECONFIG not set, using the local ground"
"$REPO/scripts/local-cluster.sh" up
# shellcheck disable=SC1090
source <("$REPO/scripts/local-cluster.sh" env)
"$REPO/scripts/kafka-local.sh" start
# shellcheck disable=SC1090
source <("$REPO/scripts/kafka-local.sh" env)
"$REPO/scripts/operator-install.sh"
"$REPO/scripts/local-cluster.sh" real-namespace "$NS" >/dev/null
kubectl apply --server-side -f "$REPO/examples/content-service.yaml" -f "$REPO/examples/event-worker.yaml"
wait_examples

echo
kubectl get hes -A -o wide
echo
echo "== pods: real containers on the real node"
kubectl get pods -A --field-selector "spec.nodeName=$GROUND_REAL_NODE" \
    -o custom-columns='NAMESPACE:.metadata.namespace,POD:.metadata.name,NODE:.spec.nodeName,IP:.status.podIP,CONTAINER:.status.containerStatuses[0].containerID' |
    grep -E "^(NAMESPACE|huleedu-system|$NS) "
echo
echo "== content-service through its ClusterIP Service (kube-proxy)"
ip=$(kubectl get svc -n "$NS" content-service -o jsonpath='{.spec.clusterIP}')
port=$(kubectl get svc -n "$NS" content-service -o jsonpath='{.spec.ports[0].port}')
echo "POST http://$ip:$port/v1/content"
curl -sS --max-time 10 -H 'Content-Type: application/json' -d '{"text": "hello from make demo"}' "http://$ip:$port/v1/content"
echo
echo "GET http://$ip:$port/healthz"
curl -sS --max-time 10 "http://$ip:$port/healthz"
echo
echo
echo "== event-worker: a request through the broker and its answer"
python3 - <<'PY'
import asyncio, json, logging, os, uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

logging.basicConfig(level=logging.CRITICAL)  # aiokafka's notes on a new topic are noise here
BOOTSTRAP = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
REQUESTS, RESULTS = "huleedu.content.requested.v1", "huleedu.content.processed.v1"


async def main() -> None:
    request = {"id": uuid.uuid4().hex[:12], "text": "make demo says hello"}
    consumer = AIOKafkaConsumer(RESULTS, bootstrap_servers=BOOTSTRAP, auto_offset_reset="latest",
                                group_id=f"demo-{request['id']}")
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.2)
        await consumer.seek_to_end()
        for tp in consumer.assignment():
            await consumer.position(tp)
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(REQUESTS, json.dumps(request).encode(), key=request["id"].encode())
        finally:
            await producer.stop()
        print(f"produced to {REQUESTS}: {json.dumps(request)}")
        async with asyncio.timeout(60):
            async for record in consumer:
                result = json.loads(record.value)
                if result.get("id") == request["id"]:
                    print(f"consumed by the worker, its answer on {RESULTS}: {json.dumps(result)}")
                    return
    finally:
        await consumer.stop()


asyncio.run(main())
PY
echo
kubectl logs -n "$NS" deploy/event-worker --tail=200 | grep -m1 -F '"consumer_started"' | cut -c1-240 || true
echo
echo "demo: done. The operator release keeps running (watching huleedu and e2e-*);"
echo "      make test reuses it. Remove it with: scripts/demo.sh stop; the ground with: make cluster-down"
