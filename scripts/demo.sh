#!/usr/bin/env bash
# make demo: run the operator with the examples, end to end.
#
# With KUBECONFIG unset it starts the local control plane (scripts/local-cluster.sh up;
# the first run builds it, many minutes). With KUBECONFIG set it uses that cluster.
# Then: installs the CRD, starts the operator in the background (log:
# $HULEEDU_STATE_DIR/operator.log, stop with `scripts/demo.sh stop`), applies
# examples/*.yaml, waits until both are Ready and prints them with their children.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${HULEEDU_STATE_DIR:-$REPO/.local}"
PID_FILE="$STATE_DIR/operator.pid"
LOG_FILE="$STATE_DIR/operator.log"
export PATH="$REPO/.venv/bin:$PATH"
mkdir -p "$STATE_DIR"

stop_operator() {
  if [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    kill "$(cat "$PID_FILE")"
    echo "demo: operator stopped"
  fi
  rm -f "$PID_FILE"
}

if [[ "${1:-}" == "stop" ]]; then
  stop_operator
  exit 0
fi

if [[ -z "${KUBECONFIG:-}" ]]; then
  echo "demo: KUBECONFIG not set, using the local control plane"
  "$REPO/scripts/local-cluster.sh" up
  # shellcheck disable=SC1090
  source <("$REPO/scripts/local-cluster.sh" env)
else
  echo "demo: using KUBECONFIG=$KUBECONFIG"
fi

kubectl apply --server-side --force-conflicts -f "$REPO/crds/"
kubectl wait --for=condition=Established crd/huleeduservices.huleedu.io --timeout=60s
kubectl create namespace huleedu --dry-run=client -o yaml | kubectl apply -f -

stop_operator
HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS="${HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS:-kafka.huleedu.svc:9092}" \
HULEEDU_OPERATOR_BIND_ADDRESS=127.0.0.1 \
HULEEDU_OPERATOR_LOG_FORMAT="${HULEEDU_OPERATOR_LOG_FORMAT:-json}" \
  nohup huleedu-operator run >"$LOG_FILE" 2>&1 &
echo $! >"$PID_FILE"
echo "demo: operator running (pid $(cat "$PID_FILE"), log $LOG_FILE)"

kubectl apply --server-side -f "$REPO/examples/content-service.yaml" -f "$REPO/examples/event-worker.yaml"
if ! kubectl wait -n huleedu --for=condition=Ready hes/content-service hes/event-worker --timeout=180s; then
  echo "demo: resources did not become Ready; operator log tail:" >&2
  tail -n 40 "$LOG_FILE" >&2
  exit 1
fi
echo
kubectl get hes -A -o wide
echo
kubectl get deployments,services,configmaps,poddisruptionbudgets,pods -n huleedu -l app.kubernetes.io/managed-by=huleedu-operator
echo
kubectl get hes event-worker -n huleedu -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}'
echo
echo "demo: done. The operator keeps running; stop it with: scripts/demo.sh stop"
