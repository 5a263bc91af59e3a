# The real node of the local test ground: containerd + runc (Debian), a CNI bridge, and
# kubelet + kube-proxy built from the same pinned Kubernetes modules as the control
# plane. Sourced by scripts/local-cluster.sh, which calls:
#
#   node_can_run        true when this host can run it; else prints the reason (one line)
#   node_network_up     the bridge, its routes and the forwarding guard (before the
#                       control plane starts, so the API server's certificate covers it)
#   node_up             containerd, the sandbox image, kubelet, kube-proxy; waits Ready
#   node_down           undoes all of it: pods, processes by pid, mounts, iptables
#                       chains, netns, the bridge, sysctls, cgroups
#   node_status         one line per process
#
# Everything `up` changes on the host is recorded in $NODE_DIR/host-before.env first, so
# `down` restores exactly what it found (sysctls) and removes only what it made.
#
# Network rule of these machines: pods sit on a bridge this script creates, with no
# default route (only the pod subnet and the Service range), no masquerade, and a
# FORWARD guard that drops anything entering or leaving the bridge from or to another
# interface. The API server (through a forwarder), kubelet, broker and Prometheus listen
# on 127.0.0.1 and the node address only.
#
# Gotchas met while building this (REAL-NODE.md lists the earlier ones):
# - kwokctl always writes 127.0.0.1 into its kubeconfig and waits on it, so the API
#   server keeps listening there; pods reach it at the node address through a socat
#   forwarder (the `kubernetes` Service endpoint is --advertise-address).
# - The kubelet refuses a --cgroup-root that does not exist in every v1 hierarchy: we
#   create /huleedu in each and remove it on down, which also keeps every pod cgroup
#   in one subtree that down can clean.
# shellcheck shell=bash

NODE_DIR="$STATE_DIR/node"
NODE_PIDS="$NODE_DIR/pids"
NODE_LOGS="$NODE_DIR/logs"
# Images survive down/up (like the binary cache): containerd's content store lives in
# the cache, its state (mounts, sockets, shims) under the state dir.
CONTAINERD_ROOT="$CACHE_DIR/containerd"
CONTAINERD_STATE="$NODE_DIR/containerd-state"
CONTAINERD_SOCK="$NODE_DIR/containerd.sock"
KUBELET_ROOT="$NODE_DIR/kubelet"
CNI_CONF_DIR="$NODE_DIR/cni/net.d"
CNI_IPAM_DIR="$NODE_DIR/cni/ipam"
CNI_BIN_DIR=/usr/lib/cni
CGROUP_ROOT_NAME=huleedu
FORWARD_CHAIN=HULEEDU-FORWARD
KUBELET_DIR="$BIN_CACHE/kubelet-$KUBE_VERSION"
KUBE_PROXY_DIR="$BIN_CACHE/kube-proxy-$KUBE_VERSION"
PAUSE_DIR="$BIN_CACHE/pause-1"
PAUSE_IMAGE=huleedu.local/pause:1
# Debian packages the node needs, and the command each provides.
# (buildah and mmdebstrap build the images the node runs.)
NODE_PACKAGES=(containerd runc containernetworking-plugins iptables conntrack socat buildah mmdebstrap)
NODE_COMMANDS=(containerd runc /usr/lib/cni/bridge iptables conntrack socat buildah mmdebstrap)
# sysctls the kubelet, kube-proxy and the bridge plugin may change.
NODE_SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables vm.overcommit_memory
    kernel.panic kernel.panic_on_oops net.netfilter.nf_conntrack_max
    net.ipv4.conf.all.route_localnet)
# Chains the kubelet and kube-proxy create; removed on down unless they were there before.
KUBE_CHAINS=(KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT KUBE-PROXY-CANARY)

ctr_() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# node_can_run: true when the host can run the real node; else one line saying why.
node_can_run() {
    if [[ "${HULEEDU_REAL_NODE:-1}" == "0" ]]; then
        echo "HULEEDU_REAL_NODE=0"
        return 1
    fi
    if ((EUID != 0)); then
        echo "not root (containerd, the bridge and iptables need root)"
        return 1
    fi
    if [[ ! -d /sys/fs/cgroup/memory && ! -f /sys/fs/cgroup/cgroup.controllers ]]; then
        echo "no usable cgroup hierarchy under /sys/fs/cgroup"
        return 1
    fi
    if [[ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then
        echo "the kernel has no bridge netfilter (br_netfilter): Services cannot route between pods"
        return 1
    fi
    local missing=() i
    for i in "${!NODE_COMMANDS[@]}"; do
        command -v "${NODE_COMMANDS[$i]}" >/dev/null 2>&1 || [[ -x "${NODE_COMMANDS[$i]}" ]] ||
            missing+=("${NODE_PACKAGES[$i]}")
    done
    if ((${#missing[@]})); then
        if command -v apt-get >/dev/null && [[ "${HULEEDU_NODE_APT:-1}" == "1" ]]; then
            log "installing Debian packages for the real node: ${missing[*]}"
            if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
                "${missing[@]}" >"$BUILD_LOGS/apt-node.log" 2>&1; then
                DEBIAN_FRONTEND=noninteractive apt-get update >>"$BUILD_LOGS/apt-node.log" 2>&1 || true
                DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
                    "${missing[@]}" >>"$BUILD_LOGS/apt-node.log" 2>&1 || {
                    echo "apt-get install ${missing[*]} failed (see $BUILD_LOGS/apt-node.log)"
                    return 1
                }
            fi
        else
            echo "missing Debian packages: ${missing[*]}"
            return 1
        fi
    fi
    return 0
}

# --- building ----------------------------------------------------------------------

build_pause() {
    if built "$PAUSE_DIR" pause; then return 0; fi
    local tmp="$PAUSE_DIR.tmp.$$"
    mkdir -p "$tmp"
    (cd "$HULEEDU_REPO/scripts/node/pause" && go build -ldflags "-s -w" -o "$tmp/pause" .) ||
        die "building the pause program failed"
    finish_build "$tmp" "$PAUSE_DIR"
}

# --- host state ----------------------------------------------------------------------

record_host_state() {
    [[ -f "$NODE_DIR/host-before.env" ]] && return 0
    mkdir -p "$NODE_DIR"
    local s chain table out="$NODE_DIR/host-before.env.tmp"
    : >"$out"
    for s in "${NODE_SYSCTLS[@]}"; do
        if [[ -e "/proc/sys/${s//.//}" ]]; then
            printf 'sysctl %s %s\n' "$s" "$(cat "/proc/sys/${s//.//}")" >>"$out"
        fi
    done
    for table in filter nat mangle; do
        for chain in "${KUBE_CHAINS[@]}" "$FORWARD_CHAIN"; do
            if iptables -w 5 -t "$table" -S "$chain" >/dev/null 2>&1; then
                printf 'chain %s %s\n' "$table" "$chain" >>"$out"
            fi
        done
    done
    ls /var/run/netns 2>/dev/null | sed 's/^/netns /' >>"$out" || true
    mv "$out" "$NODE_DIR/host-before.env"
}

restore_sysctls() {
    local kind name value
    [[ -f "$NODE_DIR/host-before.env" ]] || return 0
    while read -r kind name value; do
        [[ "$kind" == sysctl ]] || continue
        if [[ "$(cat "/proc/sys/${name//.//}" 2>/dev/null)" != "$value" ]]; then
            echo "$value" >"/proc/sys/${name//.//}" 2>/dev/null ||
                log "could not restore sysctl $name=$value"
        fi
    done <"$NODE_DIR/host-before.env"
}

chain_was_there() {
    grep -qx "chain $1 $2" "$NODE_DIR/host-before.env" 2>/dev/null
}

# --- network ---------------------------------------------------------------------------

node_network_up() {
    record_host_state
    if ! ip link show "$GROUND_BRIDGE" >/dev/null 2>&1; then
        ip link add "$GROUND_BRIDGE" type bridge
    fi
    local prefix=${GROUND_POD_SUBNET#*/}
    ip addr replace "$GROUND_NODE_IP/$prefix" dev "$GROUND_BRIDGE"
    ip link set "$GROUND_BRIDGE" up
    # The host reaches ClusterIPs over the bridge with the node address as source, so
    # replies come back to it and nothing about Services ever leaves through eth0.
    ip route replace "$GROUND_SERVICE_CIDR" dev "$GROUND_BRIDGE" src "$GROUND_NODE_IP"
    # Pod -> ClusterIP -> pod is routed through the host (ip_forward) and replies between
    # pods on one bridge must pass iptables for the Service NAT to be undone.
    echo 1 >/proc/sys/net/ipv4/ip_forward
    echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
    # Forwarding guard: traffic may be forwarded only within the bridge.
    iptables -w 5 -N "$FORWARD_CHAIN" 2>/dev/null || iptables -w 5 -F "$FORWARD_CHAIN"
    iptables -w 5 -A "$FORWARD_CHAIN" -i "$GROUND_BRIDGE" -o "$GROUND_BRIDGE" -j RETURN
    iptables -w 5 -A "$FORWARD_CHAIN" -i "$GROUND_BRIDGE" -j DROP
    iptables -w 5 -A "$FORWARD_CHAIN" -o "$GROUND_BRIDGE" -j DROP
    iptables -w 5 -C FORWARD -j "$FORWARD_CHAIN" 2>/dev/null ||
        iptables -w 5 -I FORWARD 1 -j "$FORWARD_CHAIN"
}

node_network_down() {
    iptables -w 5 -D FORWARD -j "$FORWARD_CHAIN" 2>/dev/null || true
    if ! chain_was_there filter "$FORWARD_CHAIN"; then
        iptables -w 5 -F "$FORWARD_CHAIN" 2>/dev/null || true
        iptables -w 5 -X "$FORWARD_CHAIN" 2>/dev/null || true
    fi
    ip route del "$GROUND_SERVICE_CIDR" dev "$GROUND_BRIDGE" 2>/dev/null || true
    if ip link show "$GROUND_BRIDGE" >/dev/null 2>&1; then
        ip link set "$GROUND_BRIDGE" down 2>/dev/null || true
        ip link del "$GROUND_BRIDGE" 2>/dev/null || log "could not delete bridge $GROUND_BRIDGE"
    fi
}

# --- processes -----------------------------------------------------------------------

# start_daemon NAME CMD...: start CMD in the background, its pid in $NODE_PIDS/NAME.pid.
start_daemon() {
    local name=$1
    shift
    mkdir -p "$NODE_PIDS" "$NODE_LOGS"
    # setsid: own process group, so nothing of ours gets the terminal's signals; 8>&- 9>&-:
    # never inherit the build or lifecycle locks.
    setsid "$@" >"$NODE_LOGS/$name.log" 2>&1 </dev/null 8>&- 9>&- &
    local pid=$!
    # pid + start time: a reused pid is never mistaken for ours.
    echo "$pid $(proc_start_time "$pid")" >"$NODE_PIDS/$name.pid"
}

node_pid() {
    local f="$NODE_PIDS/$1.pid" pid start
    [[ -f "$f" ]] || return 1
    read -r pid start <"$f"
    [[ -n "$pid" && -n "$start" ]] && proc_alive "$pid" "$start" || return 1
    echo "$pid"
}

node_pid_alive() {
    node_pid "$1" >/dev/null
}

stop_daemon() {
    local name=$1 f="$NODE_PIDS/$1.pid" pid i
    [[ -f "$f" ]] || return 0
    if pid=$(node_pid "$name"); then
        kill -TERM "$pid" 2>/dev/null || true
        # TERM, KILL after 10 s, then up to 5 s more for the kernel to close its files.
        for i in $(seq 1 75); do
            node_pid_alive "$name" || break
            ((i == 50)) && kill -KILL "$pid" 2>/dev/null
            sleep 0.2
        done
        node_pid_alive "$name" && log "$name (pid $pid) still exiting 15 s after KILL"
    fi
    rm -f "$f"
}

wait_for() {
    local what=$1 tries=$2
    shift 2
    local i
    for i in $(seq 1 "$tries"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    die "$what did not come up; logs in $NODE_LOGS"
}

# --- configuration -------------------------------------------------------------------

write_containerd_config() {
    mkdir -p "$CONTAINERD_ROOT" "$CONTAINERD_STATE" "$CNI_CONF_DIR" "$CNI_IPAM_DIR"
    cat >"$NODE_DIR/containerd.toml" <<EOF
# Written by scripts/local-cluster.sh (real node). No TCP listeners but the CRI
# streaming server on 127.0.0.1.
version = 2
root = "$CONTAINERD_ROOT"
state = "$CONTAINERD_STATE"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_unprivileged_ports = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1
EOF
    cat >"$CNI_CONF_DIR/10-huleedu.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "huleedu",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$GROUND_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CNI_IPAM_DIR",
        "ranges": [[{"subnet": "$GROUND_POD_SUBNET", "gateway": "$GROUND_NODE_IP", "rangeStart": "${GROUND_NODE_IP%.*}.10"}]],
        "routes": [{"dst": "$GROUND_SERVICE_CIDR"}]
      }
    },
    {"type": "loopback"}
  ]
}
EOF
}

write_kubelet_config() {
    mkdir -p "$KUBELET_ROOT"
    local nofile
    nofile=$(ulimit -Hn)
    cat >"$NODE_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Only the node address and loopback.
address: $GROUND_NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
# kwokctl's API server issues the kubelet no serving or client certificate of its own:
# the API server reaches it anonymously on the node address only.
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT_NAME
failCgroupV1: false
failSwapOn: false
registerNode: true
registerWithTaints:
  - {key: $GROUND_REAL_NODE_TAINT, value: "true", effect: NoSchedule}
# No cluster DNS on the ground (clients use addresses) and no host resolv.conf in pods.
# The node address as the resolver answers at once with "port unreachable", and a
# clusterDNS keeps the kubelet from posting a MissingClusterDNS Event on every pod sync
# (Events the idle-writes test would count).
resolvConf: ""
clusterDNS: [$GROUND_NODE_IP]
clusterDomain: cluster.local
maxPods: 40
serializeImagePulls: false
# Images are imported, never pulled: never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
# Container log rotation stays small.
containerLogMaxSize: 5Mi
containerLogMaxFiles: 2
# hard limit here: $nofile; nothing asks the runtime for more.
shutdownGracePeriod: 0s
EOF
}

write_kube_proxy_config() {
    cat >"$NODE_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: $KUBECONFIG_PATH
hostnameOverride: $GROUND_REAL_NODE
# Only tells kube-proxy the node's IP (iptables mode binds nothing here).
bindAddress: $GROUND_NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$GROUND_NODE_IP/32"]
# Leave the host's conntrack settings alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  masqueradeAll: false
  syncPeriod: 30s
  minSyncPeriod: 0s
EOF
}

make_cgroup_root() {
    local h
    for h in /sys/fs/cgroup/*/; do
        [[ -f "$h/cgroup.procs" ]] || continue
        mkdir -p "$h$CGROUP_ROOT_NAME" 2>/dev/null || true
        # cpuset children start empty: inherit the parent's cpus and mems.
        if [[ -f "$h/cpuset.cpus" && -f "$h$CGROUP_ROOT_NAME/cpuset.cpus" ]]; then
            [[ -n "$(cat "$h$CGROUP_ROOT_NAME/cpuset.cpus")" ]] || cat "$h/cpuset.cpus" >"$h$CGROUP_ROOT_NAME/cpuset.cpus"
            [[ -n "$(cat "$h$CGROUP_ROOT_NAME/cpuset.mems")" ]] || cat "$h/cpuset.mems" >"$h$CGROUP_ROOT_NAME/cpuset.mems"
        fi
    done
}

remove_cgroup_root() {
    local h d
    for h in /sys/fs/cgroup/*/; do
        [[ -d "$h$CGROUP_ROOT_NAME" ]] || continue
        # Deepest first; a cgroup with processes left cannot go (reported below).
        while read -r d; do
            rmdir "$d" 2>/dev/null || true
        done < <(find "$h$CGROUP_ROOT_NAME" -depth -type d 2>/dev/null)
        [[ -d "$h$CGROUP_ROOT_NAME" ]] && log "cgroup $h$CGROUP_ROOT_NAME still has processes"
    done
    return 0
}

# --- lifecycle -----------------------------------------------------------------------

node_up() {
    local t0=$SECONDS
    build_pause
    node_pid_alive containerd || write_containerd_config
    make_cgroup_root
    # Pods reach the API server at the node address (the `kubernetes` Service endpoint).
    local port
    port=$(sed -n 's#.*server: https://127.0.0.1:\([0-9]*\).*#\1#p' "$KUBECONFIG_PATH" | head -n 1)
    [[ -n "$port" ]] || die "no API server port in $KUBECONFIG_PATH"
    echo "$port" >"$NODE_DIR/apiserver-port"
    node_pid_alive apiserver-forward ||
        start_daemon apiserver-forward socat \
            "TCP-LISTEN:$port,bind=$GROUND_NODE_IP,reuseaddr,fork" "TCP:127.0.0.1:$port"
    node_pid_alive containerd || start_daemon containerd containerd --config "$NODE_DIR/containerd.toml"
    wait_for containerd 60 ctr --address "$CONTAINERD_SOCK" version
    if ! ctr_ images ls -q | grep -qx "$PAUSE_IMAGE"; then
        import_pause_image
    fi
    # Configs are written only for a daemon about to start: kube-proxy exits when its
    # config file is written while it runs, even with the same content.
    node_pid_alive kubelet || write_kubelet_config
    node_pid_alive kubelet || start_daemon kubelet "$KUBELET_DIR/kubelet" \
        --config="$NODE_DIR/kubelet.yaml" \
        --kubeconfig="$KUBECONFIG_PATH" \
        --root-dir="$KUBELET_ROOT" \
        --cert-dir="$KUBELET_ROOT/pki" \
        --hostname-override="$GROUND_REAL_NODE" \
        --node-ip="$GROUND_NODE_IP" \
        --node-labels="huleedu.io/node=real" \
        --v=1
    node_pid_alive kube-proxy || write_kube_proxy_config
    node_pid_alive kube-proxy ||
        start_daemon kube-proxy "$KUBE_PROXY_DIR/kube-proxy" --config="$NODE_DIR/kube-proxy.yaml" --v=1
    local i
    for i in $(seq 1 120); do
        if kc get node "$GROUND_REAL_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True; then
            break
        fi
        node_pid_alive kubelet || { tail -n 30 "$NODE_LOGS/kubelet.log" >&2; die "the kubelet exited"; }
        ((i == 120)) && { tail -n 30 "$NODE_LOGS/kubelet.log" >&2; die "node $GROUND_REAL_NODE not Ready after 60s"; }
        sleep 0.5
    done
    log "real node $GROUND_REAL_NODE Ready in $(fmt_duration $((SECONDS - t0))) (containerd, kubelet, kube-proxy; pods on $GROUND_BRIDGE $GROUND_POD_SUBNET)"
}

# The sandbox image: our pause program, FROM scratch, built with buildah.
import_pause_image() {
    local ctr_id archive="$NODE_DIR/pause.tar"
    ctr_id=$(buildah_ from scratch)
    buildah_ copy "$ctr_id" "$PAUSE_DIR/pause" /pause >/dev/null
    buildah_ config --entrypoint '["/pause"]' --user 65535:65535 "$ctr_id"
    buildah_ commit --quiet "$ctr_id" "$PAUSE_IMAGE" >/dev/null
    buildah_ rm "$ctr_id" >/dev/null
    rm -f "$archive"
    buildah_ push --quiet "$PAUSE_IMAGE" "docker-archive:$archive:$PAUSE_IMAGE" >/dev/null
    ctr_ images import "$archive" >/dev/null
    rm -f "$archive"
}

# buildah with the project's own storage under the cache (never the host's default).
buildah_() {
    buildah --root "$CACHE_DIR/buildah/storage" --runroot "$CACHE_DIR/buildah/run" \
        --storage-driver overlay "$@"
}

node_delete_pods() {
    is_running || return 0
    local pods
    pods=$(kc get pods -A --field-selector "spec.nodeName=$GROUND_REAL_NODE" \
        -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}' 2>/dev/null || true)
    [[ -n "$pods" ]] || return 0
    log "deleting $(wc -l <<<"$pods" | tr -d ' ') pods on $GROUND_REAL_NODE so the kubelet frees their network"
    # Owners first, so nothing recreates them on this node meanwhile: cordon it.
    kc cordon "$GROUND_REAL_NODE" >/dev/null 2>&1 || true
    local p
    while read -r p; do
        kc delete pod -n "${p%%/*}" "${p#*/}" --grace-period=5 --wait=false >/dev/null 2>&1 || true
    done <<<"$pods"
    # Done when no task runs: the kubelet has torn the sandboxes down (CNI DEL), even if
    # it keeps exited containers around for its garbage collector.
    local i
    for i in $(seq 1 60); do
        ctr_ tasks ls 2>/dev/null | grep -q RUNNING || return 0
        sleep 0.5
    done
    log "tasks still running after 30s; stopping them directly"
}

node_down() {
    [[ -d "$NODE_DIR" ]] || return 0
    node_delete_pods
    stop_daemon kube-proxy
    if [[ -x "$KUBE_PROXY_DIR/kube-proxy" ]]; then
        "$KUBE_PROXY_DIR/kube-proxy" --cleanup >"$NODE_LOGS/kube-proxy-cleanup.log" 2>&1 || true
    fi
    stop_daemon kubelet
    # Whatever still runs (the kubelet was stopped with pods left): kill tasks, remove
    # sandboxes through CRI so CNI frees addresses, veths and netns.
    if node_pid_alive containerd; then
        local c
        for c in $(ctr_ tasks ls -q 2>/dev/null); do
            ctr_ tasks kill -s KILL "$c" >/dev/null 2>&1 || true
        done
        if command -v crictl >/dev/null; then
            crictl --runtime-endpoint "unix://$CONTAINERD_SOCK" rmp -fa >/dev/null 2>&1 || true
        fi
        sleep 1
        for c in $(ctr_ tasks ls -q 2>/dev/null); do
            ctr_ tasks delete -f "$c" >/dev/null 2>&1 || true
        done
        for c in $(ctr_ containers ls -q 2>/dev/null); do
            ctr_ containers delete "$c" >/dev/null 2>&1 || true
        done
    fi
    stop_daemon containerd
    # Shims of containers left behind: only those of our containerd (their cmdline
    # names our socket or state dir).
    local pid
    for pid in $(pgrep -f containerd-shim 2>/dev/null); do
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$CONTAINERD_SOCK" && kill -KILL "$pid" 2>/dev/null
    done
    stop_daemon apiserver-forward
    # Mounts below our dirs, deepest first.
    local m
    while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
    done < <(awk -v a="$NODE_DIR" -v b="$CONTAINERD_ROOT" '$2 ~ "^"a || $2 ~ "^"b {print $2}' /proc/mounts | sort -r)
    # Network namespaces the CNI made and that were not there before.
    local ns
    for ns in $(ls /var/run/netns 2>/dev/null); do
        grep -qx "netns $ns" "$NODE_DIR/host-before.env" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
    done
    # Chains the kubelet and kube-proxy leave behind.
    local table chain
    for table in filter nat mangle; do
        for chain in "${KUBE_CHAINS[@]}"; do
            chain_was_there "$table" "$chain" && continue
            if iptables -w 5 -t "$table" -S "$chain" >/dev/null 2>&1; then
                # Unhook every jump to it, then flush and delete it. (grep finds none for
                # a chain nothing jumps to: not an error.)
                local rules rule
                rules=$(iptables -w 5 -t "$table" -S 2>/dev/null | grep -E -- "-j $chain( |$)" || true)
                while read -r rule; do
                    [[ -n "$rule" ]] || continue
                    # shellcheck disable=SC2086
                    iptables -w 5 -t "$table" ${rule/#-A/-D} 2>/dev/null || true
                done <<<"$rules"
                iptables -w 5 -t "$table" -F "$chain" 2>/dev/null || true
                iptables -w 5 -t "$table" -X "$chain" 2>/dev/null || true
            fi
        done
    done
    node_network_down
    remove_cgroup_root
    restore_sysctls
    rm -rf "$NODE_DIR"
}

node_status() {
    local name
    for name in apiserver-forward containerd kubelet kube-proxy; do
        if node_pid_alive "$name"; then
            printf '  real node: %s pid %s\n' "$name" "$(node_pid "$name")"
        fi
    done
}
