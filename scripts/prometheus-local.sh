#!/usr/bin/env bash
# A real Prometheus server (3.16, built from its Go module by `scripts/local-cluster.sh
# build`, because Debian's package has no Kubernetes discovery) for the local ground. It
# discovers pods through the Kubernetes API (kubernetes_sd_configs, role pod, with the
# ground's kubeconfig) and scrapes the ones whose annotations ask for it, the
# `prometheus.io/scrape|port|path` convention the operator renders when the Prometheus
# Operator is not installed. It proves that every scrape target the operator renders
# is really served (`up == 1`).
#
# usage: scripts/prometheus-local.sh start|stop|status|env
#
#   PROMETHEUS_PORT     web/API port on 127.0.0.1 (default 19090)
#   HULEEDU_STATE_DIR   state root (default <repo>/.local): config, TSDB, log, pid
#
# Listens on 127.0.0.1 only; it scrapes pod addresses on the ground's bridge.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HULEEDU_LOG_TAG=prometheus-local
# shellcheck source=lib/common.sh
source "$REPO/scripts/lib/common.sh"
load_versions
PROMETHEUS_BIN="${HULEEDU_CACHE_DIR:-$HOME/.cache/huleedu}/bin/prometheus-$PROMETHEUS_VERSION/prometheus"

STATE_ROOT="$(realpath -m "$(state_dir)")"
STATE_DIR="$STATE_ROOT/prometheus"
PID_FILE="$STATE_DIR/prometheus.pid"
PORT="${PROMETHEUS_PORT:-19090}"
KUBECONFIG_FILE="${KUBECONFIG:-$STATE_ROOT/kubeconfig}"

running() {
    [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$(cat "$PID_FILE")/cmdline" 2>/dev/null | grep -qF "$STATE_DIR"
}

write_config() {
    mkdir -p "$STATE_DIR/data"
    cat >"$STATE_DIR/prometheus.yml" <<EOF
# Written by scripts/prometheus-local.sh.
global:
  scrape_interval: 5s
  scrape_timeout: 4s
scrape_configs:
  - job_name: kubernetes-pods
    kubernetes_sd_configs:
      - role: pod
        kubeconfig_file: $KUBECONFIG_FILE
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        action: keep
        regex: "true"
      # Only pods that run (kwok's fake pods have addresses nothing answers on: they
      # are on the fake node, and are dropped here).
      - source_labels: [__meta_kubernetes_pod_node_name]
        action: keep
        regex: "${GROUND_REAL_NODE}"
      - source_labels: [__meta_kubernetes_pod_phase]
        action: keep
        regex: Running
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
        action: replace
        target_label: __metrics_path__
        regex: (.+)
      - source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
        action: replace
        regex: ([^:]+)(?::\d+)?;(\d+)
        replacement: \$1:\$2
        target_label: __address__
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_label_huleedu_io_service]
        target_label: service
EOF
}

cmd_start() {
    if running; then
        log "already running (pid $(cat "$PID_FILE")) on 127.0.0.1:$PORT"
        return 0
    fi
    [[ -x "$PROMETHEUS_BIN" ]] ||
        die "$PROMETHEUS_BIN is missing: scripts/local-cluster.sh build builds it (with the real node)"
    [[ -f "$KUBECONFIG_FILE" ]] || die "no kubeconfig at $KUBECONFIG_FILE (scripts/local-cluster.sh up first)"
    rm -rf "$STATE_DIR"
    write_config
    setsid "$PROMETHEUS_BIN" --config.file="$STATE_DIR/prometheus.yml" \
        --storage.tsdb.path="$STATE_DIR/data" --storage.tsdb.retention.time=2h \
        --web.listen-address="127.0.0.1:$PORT" --log.level=warn \
        >"$STATE_DIR/prometheus.log" 2>&1 </dev/null 8>&- 9>&- &
    echo $! >"$PID_FILE"
    local i
    for i in $(seq 1 60); do
        if curl -fsS "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1; then
            log "started on 127.0.0.1:$PORT (pid $(cat "$PID_FILE"))"
            return 0
        fi
        running || { tail -n 20 "$STATE_DIR/prometheus.log" >&2; die "prometheus exited"; }
        sleep 0.5
    done
    die "prometheus not ready after 30s (log: $STATE_DIR/prometheus.log)"
}

cmd_stop() {
    if running; then
        kill -TERM "$(cat "$PID_FILE")"
        local i
        for i in $(seq 1 50); do
            running || break
            ((i == 50)) && kill -KILL "$(cat "$PID_FILE")" 2>/dev/null
            sleep 0.2
        done
        log "stopped"
    fi
    rm -rf "$STATE_DIR"
}

# shellcheck source=lib/ground.env
source "$REPO/scripts/lib/ground.env"

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) if running; then echo "running (pid $(cat "$PID_FILE")) on 127.0.0.1:$PORT"; else echo stopped; exit 1; fi ;;
env) echo "export PROMETHEUS_URL=http://127.0.0.1:$PORT" ;;
*)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
