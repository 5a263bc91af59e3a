# Building the local ground's binaries from Go modules: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok + kwokctl, helm and, when the real node
# can run here, kubelet, kube-proxy, the pause program and Prometheus. Sourced by
# scripts/local-cluster.sh (after lib/common.sh and load_versions), which calls:
#
#   build_all   build whatever is missing from the cache (`local-cluster.sh build`, and
#               the first step of `up`); one build at a time across invocations
#
# and reads the *_DIR variables below (where each binary is cached). lib/real-node.sh,
# sourced after this file, adds kubelet's, kube-proxy's and the pause program's dirs
# and build_pause.
#
# Binaries are built through the Go module proxy and cached under
# $HULEEDU_CACHE_DIR/bin/<component>-<version>/ (default ~/.cache/huleedu), so a second
# build does nothing. HULEEDU_GO_PARALLEL sets go build -p (default 2).
#
# Surprises found while building these (keep them in mind when bumping pins):
# - `go install k8s.io/kubernetes/cmd/...@vX` cannot work: k8s.io/kubernetes requires its
#   staging modules at v0.0.0 and replaces them with ./staging/src paths. We build inside a
#   throwaway module that replaces every staging module k8s.io/X with k8s.io/X v0.<minor>.<patch>;
#   the list of staging modules is read from k8s.io/kubernetes' own go.mod, not hard-coded
#   (v1.36 added k8s.io/cri-streaming; a hand-written list misses such additions).
#   Not every staging module is served at the matching version (k8s.io/sample-cli-plugin
#   v0.36.3 answers 403 on proxy.golang.org); that is fine as long as nothing imports it.
# - Without -ldflags -X on k8s.io/component-base/version and k8s.io/client-go/pkg/version the
#   servers report v0.0.0-master; kwokctl parses `--version` output of every binary to
#   choose flags, so the real version matters beyond cosmetics.
# - etcd's main package is the module root go.etcd.io/etcd/server/v3 (server/main.go). Its
#   go.mod has replace directives (../api, ...), so `go install ...@v3.6.x` is refused; a
#   throwaway module that requires it works (the replaces of a dependency are ignored).
# - kwok v0.8.0's go.mod says `go 1.26.0`, so it needs Go >= 1.26 (GOTOOLCHAIN=local).
# shellcheck shell=bash

CACHE_DIR="${HULEEDU_CACHE_DIR:-$HOME/.cache/huleedu}"
BIN_CACHE="$CACHE_DIR/bin"
SRC_CACHE="$CACHE_DIR/src"
BUILD_LOGS="$CACHE_DIR/logs"

ETCD_DIR="$BIN_CACHE/etcd-$ETCD_VERSION"
APISERVER_DIR="$BIN_CACHE/kube-apiserver-$KUBE_VERSION"
KCM_DIR="$BIN_CACHE/kube-controller-manager-$KUBE_VERSION"
SCHEDULER_DIR="$BIN_CACHE/kube-scheduler-$KUBE_VERSION"
KWOK_DIR="$BIN_CACHE/kwok-$KWOK_VERSION"
HELM_DIR="$BIN_CACHE/helm-$HELM_VERSION"
PROMETHEUS_DIR="$BIN_CACHE/prometheus-$PROMETHEUS_VERSION"

go_env() {
    export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-modcacherw
    export GOMODCACHE="$CACHE_DIR/gomod"
    # GOCACHE stays Go's default (~/.cache/go-build): already under ~/.cache, shared with
    # any other Go work on the machine, and what CI caches.
}

BUILD_INDEX=0
BUILD_TOTAL=9

# built DIR NAME...: true when every NAME is an executable in DIR.
built() {
    local dir=$1 name
    shift
    for name in "$@"; do
        [[ -x "$dir/$name" ]] || return 1
    done
}

# finish_build TMPDIR DESTDIR: atomically publish a finished build.
finish_build() {
    local tmp=$1 dest=$2
    rm -rf "$dest"
    mv "$tmp" "$dest"
}

# check_served MODULE VERSION: fail with the nearest served versions if the proxy lacks it.
check_served() {
    local mod=$1 ver=$2
    if ! go mod download "$mod@$ver" >/dev/null 2>&1; then
        local near
        near=$(go list -m -versions "$mod" 2>/dev/null | tr ' ' '\n' | grep -F "${ver%.*}." | tail -n 5 | tr '\n' ' ' || true)
        die "$mod@$ver is not served by the Go module proxy ($(go env GOPROXY)). Nearest served: ${near:-none}. Change the pin in scripts/versions.env and record why there."
    fi
}

step_begin() {
    BUILD_INDEX=$((BUILD_INDEX + 1))
    STEP_START=$SECONDS
    log "[$BUILD_INDEX/$BUILD_TOTAL] building $1 (cold build; progress every 30s)"
}

step_end() {
    local took=$((SECONDS - STEP_START))
    log "[$BUILD_INDEX/$BUILD_TOTAL] built $1 in $(fmt_duration "$took")"
    mkdir -p "$BUILD_LOGS"
    printf '%s %s %ss go=%s\n' "$(date -u +%FT%TZ)" "$1" "$took" "$(go env GOVERSION)" >>"$BUILD_LOGS/build-times.log"
}

build_etcd() {
    if built "$ETCD_DIR" etcd; then
        BUILD_INDEX=$((BUILD_INDEX + 1))
        return 0
    fi
    step_begin "etcd $ETCD_VERSION"
    check_served go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
    local src="$SRC_CACHE/etcd-$ETCD_VERSION"
    if [[ ! -f "$src/.prepared" ]]; then
        rm -rf "$src" && mkdir -p "$src"
        printf 'module huleedu.local/build/etcd\n\ngo 1.26\n' >"$src/go.mod"
        (cd "$src" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION") >"$BUILD_LOGS/etcd-get.log" 2>&1 ||
            { tail -n 20 "$BUILD_LOGS/etcd-get.log" >&2; die "go get etcd failed"; }
        touch "$src/.prepared"
    fi
    local tmp="$ETCD_DIR.tmp.$$"
    mkdir -p "$tmp"
    (cd "$src" && with_heartbeat "etcd" "$BUILD_LOGS/etcd-build.log" \
        go build -p "${HULEEDU_GO_PARALLEL:-2}" -v -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
    finish_build "$tmp" "$ETCD_DIR"
    step_end "etcd $ETCD_VERSION"
}

# The throwaway module that can build k8s.io/kubernetes commands.
prepare_kube_module() {
    local src="$SRC_CACHE/kubernetes-$KUBE_VERSION"
    # .prepared-2: the module also covers kubelet and kube-proxy (a cache prepared for
    # the three control-plane commands only is prepared again).
    if [[ -f "$src/.prepared-2" ]]; then
        echo "$src"
        return 0
    fi
    check_served k8s.io/kubernetes "$KUBE_VERSION"
    local staging="v0.${KUBE_VERSION#v1.}" modfile mods m
    modfile="$GOMODCACHE/cache/download/k8s.io/kubernetes/@v/$KUBE_VERSION.mod"
    [[ -f "$modfile" ]] || die "expected $modfile after go mod download"
    # Every `k8s.io/X => ./staging/src/k8s.io/X` line of kubernetes' go.mod.
    mods=$(grep -oE 'k8s\.io/[A-Za-z0-9._-]+ => \./staging/src/k8s\.io/[A-Za-z0-9._-]+' "$modfile" | awk '{print $1}' | sort -u)
    [[ -n "$mods" ]] || die "found no staging replaces in $modfile"
    rm -rf "$src" && mkdir -p "$src"
    printf 'module huleedu.local/build/kubernetes\n\ngo 1.26\n' >"$src/go.mod"
    # No check_served per staging module: some (k8s.io/sample-cli-plugin v0.36.3) are not
    # served at all, yet harmless because no package the three commands import lives there.
    for m in $mods; do
        (cd "$src" && go mod edit -replace "$m=$m@$staging")
    done
    # `go get` of the command packages (not just the module) so go.sum covers every
    # package they import; otherwise the build stops at "missing go.sum entry".
    (cd "$src" && go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" \
        "k8s.io/kubernetes/cmd/kube-controller-manager@$KUBE_VERSION" \
        "k8s.io/kubernetes/cmd/kube-scheduler@$KUBE_VERSION" \
        "k8s.io/kubernetes/cmd/kubelet@$KUBE_VERSION" \
        "k8s.io/kubernetes/cmd/kube-proxy@$KUBE_VERSION") >"$BUILD_LOGS/kubernetes-get.log" 2>&1 ||
        { tail -n 20 "$BUILD_LOGS/kubernetes-get.log" >&2; die "go get k8s.io/kubernetes failed"; }
    touch "$src/.prepared-2"
    echo "$src"
}

kube_ldflags() {
    local v=$KUBE_VERSION major minor date flags="-s -w" p
    major=${v#v}
    major=${major%%.*}
    minor=$(cut -d. -f2 <<<"$v")
    date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    # gitCommit stays empty: the module proxy does not tell us the release commit.
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor"
        flags+=" -X $p.gitCommit= -X $p.gitTreeState=clean -X $p.buildDate=$date"
    done
    echo "$flags"
}

build_kube_component() {
    local name=$1 dir=$2
    if built "$dir" "$name"; then
        BUILD_INDEX=$((BUILD_INDEX + 1))
        return 0
    fi
    step_begin "$name $KUBE_VERSION"
    local src tmp="$dir.tmp.$$"
    src=$(prepare_kube_module)
    mkdir -p "$tmp"
    (cd "$src" && with_heartbeat "$name" "$BUILD_LOGS/$name-build.log" \
        go build -p "${HULEEDU_GO_PARALLEL:-2}" -v -ldflags "$(kube_ldflags)" -o "$tmp/$name" \
        "k8s.io/kubernetes/cmd/$name")
    "$tmp/$name" --version | grep -qF "$KUBE_VERSION" ||
        die "$name does not report $KUBE_VERSION: $("$tmp/$name" --version)"
    finish_build "$tmp" "$dir"
    step_end "$name $KUBE_VERSION"
}

build_kwok() {
    if built "$KWOK_DIR" kwok kwokctl; then
        BUILD_INDEX=$((BUILD_INDEX + 1))
        return 0
    fi
    step_begin "kwok + kwokctl $KWOK_VERSION"
    check_served sigs.k8s.io/kwok "$KWOK_VERSION"
    local tmp="$KWOK_DIR.tmp.$$"
    mkdir -p "$tmp"
    with_heartbeat "kwok" "$BUILD_LOGS/kwok-build.log" \
        env GOBIN="$tmp" go install -p "${HULEEDU_GO_PARALLEL:-2}" -v -ldflags "-s -w" \
        "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
    finish_build "$tmp" "$KWOK_DIR"
    step_end "kwok + kwokctl $KWOK_VERSION"
}

build_helm() {
    if built "$HELM_DIR" helm; then
        BUILD_INDEX=$((BUILD_INDEX + 1))
        return 0
    fi
    step_begin "helm $HELM_VERSION"
    check_served helm.sh/helm/v3 "$HELM_VERSION"
    local tmp="$HELM_DIR.tmp.$$" p=helm.sh/helm/v3/internal/version
    mkdir -p "$tmp"
    with_heartbeat "helm" "$BUILD_LOGS/helm-build.log" \
        env GOBIN="$tmp" go install -p "${HULEEDU_GO_PARALLEL:-2}" -v \
        -ldflags "-s -w -X $p.version=$HELM_VERSION -X $p.gitTreeState=clean" \
        "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    finish_build "$tmp" "$HELM_DIR"
    step_end "helm $HELM_VERSION"
}

build_prometheus() {
    if built "$PROMETHEUS_DIR" prometheus; then
        BUILD_INDEX=$((BUILD_INDEX + 1))
        return 0
    fi
    step_begin "prometheus $PROMETHEUS_VERSION"
    check_served github.com/prometheus/prometheus "$PROMETHEUS_VERSION"
    local tmp="$PROMETHEUS_DIR.tmp.$$"
    mkdir -p "$tmp"
    # Only Kubernetes service discovery: the others pull in every cloud SDK. No web UI
    # assets (they need npm); the HTTP API the tests use is complete without them.
    with_heartbeat "prometheus" "$BUILD_LOGS/prometheus-build.log" \
        env GOBIN="$tmp" go install -p "${HULEEDU_GO_PARALLEL:-2}" -v \
        -tags remove_all_sd,enable_kubernetes_sd -ldflags "-s -w" \
        "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION"
    finish_build "$tmp" "$PROMETHEUS_DIR"
    step_end "prometheus $PROMETHEUS_VERSION"
}

build_all() {
    command -v go >/dev/null || die "Go >= 1.26 is needed to build the local control plane (or set KUBECONFIG to an existing cluster)"
    go_env
    mkdir -p "$BIN_CACHE" "$SRC_CACHE" "$BUILD_LOGS"
    # One build at a time, even across concurrent invocations.
    exec 8>"$CACHE_DIR/.build.lock"
    flock -w 5400 8 || die "another build holds $CACHE_DIR/.build.lock"
    # Leftovers of an interrupted build (we hold the lock, so none is in progress).
    rm -rf "$BIN_CACHE"/*.tmp.*
    local start=$SECONDS
    BUILD_INDEX=0
    # Small ones first: a broken toolchain or proxy shows up in minutes, not after the
    # kube-apiserver build.
    build_etcd
    build_kwok
    build_helm
    build_kube_component kube-apiserver "$APISERVER_DIR"
    build_kube_component kube-controller-manager "$KCM_DIR"
    build_kube_component kube-scheduler "$SCHEDULER_DIR"
    if (node_can_run >/dev/null); then  # a subshell, as the reason is not needed here
        build_kube_component kubelet "$KUBELET_DIR"
        build_kube_component kube-proxy "$KUBE_PROXY_DIR"
        build_pause
        build_prometheus
    else
        BUILD_INDEX=$((BUILD_INDEX + 3))
    fi
    exec 8>&-
    log "binaries ready in $BIN_CACHE ($(fmt_duration $((SECONDS - start))))"
}
