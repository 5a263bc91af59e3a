#!/usr/bin/env bash
# Install (or upgrade) the operator on the local ground the way users do: `helm install`
# of charts/huleedu-operator with the operator image built here from the Dockerfile,
# running as a real pod on the real node. Used by `make demo` and by tests/e2e; both
# get the same release, so the second caller reuses what the first installed (helm
# upgrade with unchanged values and an unchanged image changes nothing).
#
#   scripts/operator-install.sh            build + load images, install/upgrade, wait
#   scripts/operator-install.sh uninstall  remove the release (the CRD stays)
#
# The release watches only the namespaces in HULEEDU_E2E_WATCH (default `huleedu,e2e-*`:
# the demo's and the e2e suite's), so it never acts on the namespaces of the operators
# the integration and fault suites start as local processes (they exclude these).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HULEEDU_LOG_TAG=operator-install
# shellcheck source=lib/common.sh
source "$REPO/scripts/lib/common.sh"
# shellcheck source=lib/ground.env
source "$REPO/scripts/lib/ground.env"
# shellcheck disable=SC1090
source <("$REPO/scripts/local-cluster.sh" env)

RELEASE=huleedu-operator
RELEASE_NAMESPACE=huleedu-system
WATCH="${HULEEDU_E2E_WATCH:-huleedu,e2e-*}"
# Where pods reach the broker (scripts/kafka-local.sh's listener on the node address).
# shellcheck disable=SC1090
source <("$REPO/scripts/kafka-local.sh" env)
[[ -n "$KAFKA_NODE_BOOTSTRAP_SERVERS" ]] || die "the ground's bridge has no node address: is the real node up?"

if [[ "${1:-}" == "uninstall" ]]; then
    helm uninstall "$RELEASE" -n "$RELEASE_NAMESPACE" --wait 2>/dev/null || true
    exit 0
fi

kubectl get node "$GROUND_REAL_NODE" >/dev/null 2>&1 ||
    die "no real node $GROUND_REAL_NODE in the cluster: the operator image cannot run on kwok (scripts/local-cluster.sh up; HULEEDU_REAL_NODE must not be 0)"

"$REPO/scripts/local-cluster.sh" images
"$REPO/scripts/local-cluster.sh" real-namespace "$RELEASE_NAMESPACE" >/dev/null

# helm's --set splits lists on commas: pass the namespaces as a values file.
values="$(mktemp)"
trap 'rm -f "$values"' EXIT
{
    echo "watchNamespaces:"
    tr ',' '\n' <<<"$WATCH" | sed 's/^ *//; s/ *$//; /^$/d; s/.*/  - "&"/'
    echo "operator:"
    echo "  kafkaBootstrapServers: \"$KAFKA_NODE_BOOTSTRAP_SERVERS\""
    echo "image:"
    echo "  pullPolicy: Never"
    # The tag stays the chart's appVersion; the image ID in a pod annotation rolls the
    # operator pod when the image was rebuilt, and changes nothing when it was not.
    echo "podAnnotations:"
    echo "  huleedu.io/image-id: \"$("$REPO/scripts/local-cluster.sh" image-id operator)\""
} >"$values"

t0=$SECONDS
helm upgrade --install "$RELEASE" "$REPO/charts/huleedu-operator" \
    --namespace "$RELEASE_NAMESPACE" -f "$values" --wait --timeout 180s >/dev/null ||
    {
        kubectl -n "$RELEASE_NAMESPACE" get pods -o wide >&2 || true
        kubectl -n "$RELEASE_NAMESPACE" logs deploy/"$RELEASE" --tail=40 >&2 || true
        die "helm upgrade --install $RELEASE failed"
    }
log "operator release $RELEASE in $RELEASE_NAMESPACE ready in $(fmt_duration $((SECONDS - t0))) (watching $WATCH)"
