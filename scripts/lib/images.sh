# Build the Dockerfile's `runtime` and `operator` targets without Docker (buildah) and
# load them into the real node's containerd. Sourced by scripts/local-cluster.sh
# (`scripts/local-cluster.sh images`, `make images`).
#
# - The Dockerfile is the one Docker users build, unchanged; only its PYTHON_IMAGE
#   argument differs: no container registry is reachable, so the base is built here
#   from Debian packages with mmdebstrap (python3 + pip + passwd + CA certificates) and
#   kept in the project's own buildah storage under the cache. A new base is built only
#   when the package list below changes.
# - TLS to PyPI is intercepted on these machines: the host's CA bundle and
#   /etc/pip.conf are bind-mounted read-only into RUN steps, never copied into a layer.
#   A machine with direct internet needs neither (both mounts are skipped when absent).
# - `buildah bud --layers` reuses every layer whose inputs did not change; the
#   Dockerfile installs dependencies from pyproject.toml alone before it copies the
#   code, so a one-line code change rebuilds our wheel and the final install layers only.
# - Hand-off: `buildah push ... docker-archive:` then `ctr images import`. An image is
#   imported only when its buildah image ID differs from the one last imported.
# shellcheck shell=bash

BASE_PACKAGES=(python3 python3-pip python3-venv ca-certificates passwd)
BASE_SUITE=bookworm
BASE_IMAGE_NAME=huleedu.local/python
IMAGES_DIR="$CACHE_DIR/images"

chart_app_version() {
    sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$HULEEDU_REPO/charts/huleedu-operator/Chart.yaml"
}

operator_image() { echo "ghcr.io/huleedu/huleedu-operator:$(chart_app_version)"; }
runtime_image() { echo "ghcr.io/huleedu/huleedu-runtime:$(chart_app_version)"; }

base_image() {
    local key
    key=$(printf '%s ' "$BASE_SUITE" "${BASE_PACKAGES[@]}" | sha256sum | cut -c1-12)
    echo "$BASE_IMAGE_NAME:3.11-$BASE_SUITE-$key"
}

buildah_has_image() {
    buildah_ inspect --type image "$1" >/dev/null 2>&1
}

build_base_image() {
    local image
    image=$(base_image)
    buildah_has_image "$image" && return 0
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (apt-get install mmdebstrap)"
    mkdir -p "$IMAGES_DIR" "$BUILD_LOGS"
    local tar="$IMAGES_DIR/${image##*:}.tar" t0=$SECONDS
    if [[ ! -s "$tar" ]]; then
        log "building the base image $image from Debian packages (mmdebstrap, about 2-3 minutes cold)"
        local includes
        includes=$(IFS=,; echo "${BASE_PACKAGES[*]}")
        with_heartbeat mmdebstrap "$BUILD_LOGS/mmdebstrap.log" \
            mmdebstrap --variant=minbase --include="$includes" \
            --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
            --dpkgopt='path-exclude=/usr/share/locale/*' \
            --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
            "$BASE_SUITE" "$tar.tmp" || die "mmdebstrap failed (see $BUILD_LOGS/mmdebstrap.log)"
        mv "$tar.tmp" "$tar"
    fi
    local ctr
    ctr=$(buildah_ from scratch)
    buildah_ add "$ctr" "$tar" / >/dev/null
    # The same pip-relevant layout as the python image: pip on PATH, installs into
    # /usr/local. Debian marks its Python externally managed (PEP 668); an image's
    # Python is the image's own, so pip may install into it.
    buildah_ config --env PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin \
        --env PIP_BREAK_SYSTEM_PACKAGES=1 --env LANG=C.UTF-8 --cmd python3 "$ctr"
    buildah_ commit --quiet --rm "$ctr" "$image" >/dev/null
    log "base image $image ready in $(fmt_duration $((SECONDS - t0)))"
}

# build_target TARGET IMAGE
build_target() {
    local target=$1 image=$2 t0=$SECONDS mounts=()
    local ca=/etc/ssl/certs/ca-certificates.crt
    [[ -f "$ca" ]] && mounts+=(-v "$ca:$ca:ro")
    [[ -f /etc/pip.conf ]] && mounts+=(-v /etc/pip.conf:/etc/pip.conf:ro)
    with_heartbeat "image $target" "$BUILD_LOGS/image-$target.log" \
        buildah_ bud --layers --pull=never --isolation=chroot --network=host \
            --build-arg "PYTHON_IMAGE=$(base_image)" --target "$target" \
            "${mounts[@]}" -t "$image" -f "$HULEEDU_REPO/Dockerfile" "$HULEEDU_REPO" ||
        die "building the $target image failed (see $BUILD_LOGS/image-$target.log)"
    log "built $image ($target) in $(fmt_duration $((SECONDS - t0)))"
}

# load_image IMAGE: import into the node's containerd unless that exact build is there.
load_image() {
    local image=$1 id stamp archive
    id=$(buildah_ inspect --type image --format '{{.FromImageID}}' "$image")
    mkdir -p "$IMAGES_DIR/loaded"
    stamp="$IMAGES_DIR/loaded/$(tr '/:' '__' <<<"$image")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$id" ]] && ctr_ images ls -q | grep -qx "$image"; then
        return 0
    fi
    archive="$IMAGES_DIR/load.tar"
    rm -f "$archive"
    buildah_ push --quiet "$image" "docker-archive:$archive:$image" >/dev/null
    ctr_ images import "$archive" >/dev/null
    rm -f "$archive"
    echo "$id" >"$stamp"
    log "loaded $image into the node's containerd"
}

# image_id runtime|operator: the buildah image ID of that target (short).
image_id() {
    local image
    case "$1" in
    runtime) image=$(runtime_image) ;;
    operator) image=$(operator_image) ;;
    *) die "image-id: runtime or operator" ;;
    esac
    buildah_ inspect --type image --format '{{.FromImageID}}' "$image" | cut -c1-12
}

cmd_images() {
    local t0=$SECONDS
    node_can_run >/dev/null || die "images need buildah and root: $(node_can_run)"
    command -v buildah >/dev/null || die "buildah is missing"
    mkdir -p "$BUILD_LOGS"
    build_base_image
    build_target runtime "$(runtime_image)"
    build_target operator "$(operator_image)"
    if node_pid_alive containerd; then
        load_image "$(runtime_image)"
        load_image "$(operator_image)"
    else
        log "the real node is not running: images built, not loaded (scripts/local-cluster.sh up loads nothing; run this again after up)"
    fi
    log "images ready in $(fmt_duration $((SECONDS - t0)))"
}
