# Shared shell helpers for scripts/*.sh and .ci/run. Source it; it defines functions only
# (plus HULEEDU_REPO), it does not change shell options.
# shellcheck shell=bash

HULEEDU_REPO="${HULEEDU_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

# state_dir: the state directory every script keeps its state under (kubeconfig, the
# ground, the broker, Prometheus, logs): $HULEEDU_STATE_DIR, default <repo>/.local. The one
# place that default is written (the Makefile's STATE_DIR is the same default, exported
# to the scripts as HULEEDU_STATE_DIR; the tests read it in tests/support/ground.py).
state_dir() {
    printf '%s\n' "${HULEEDU_STATE_DIR:-$HULEEDU_REPO/.local}"
}

# log MESSAGE...: one line on stderr, prefixed with the calling script's name, so stdout
# stays clean for commands whose output is meant to be sourced (`env`).
log() {
    printf '[%s] %s\n' "${HULEEDU_LOG_TAG:-$(basename "$0")}" "$*" >&2
}

die() {
    log "ERROR: $*"
    exit 1
}

# need COMMAND HINT: die saying HINT unless COMMAND is on PATH.
need() {
    command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH: $2"
}

# proc_start_time PID: field 22 of /proc/PID/stat (counted after the command name, which
# may hold spaces): with the pid it names one process, so a reused pid is never ours.
proc_start_time() {
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'
}

# proc_alive PID START: that process still holds what it held, its sockets included. Not
# its cmdline: a killed process drops its memory (and so its cmdline) before its files,
# and a big Go daemon can keep its listening sockets for a while after (CI saw kwokctl's
# 127.0.0.1:32764 still listening after `down`). Only a zombie has let go of everything.
proc_alive() {
    local stat
    stat=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n "$stat" && "${stat:0:1}" != Z && "$(awk '{print $20}' <<<"$stat")" == "$2" ]]
}

# fmt_duration SECONDS -> "1m05s"
fmt_duration() {
    local s=$1
    if ((s >= 60)); then
        printf '%dm%02ds' $((s / 60)) $((s % 60))
    else
        printf '%ds' "$s"
    fi
}

# load_versions: export every pin in scripts/versions.env.
load_versions() {
    set -a
    # shellcheck source=../versions.env
    source "$HULEEDU_REPO/scripts/versions.env"
    set +a
}

# with_heartbeat LABEL LOGFILE CMD...: run CMD with stdout+stderr to LOGFILE and print a
# progress line every HULEEDU_HEARTBEAT seconds (default 30) until it ends. Returns CMD's
# status; on failure prints the tail of LOGFILE.
with_heartbeat() {
    local label=$1 logfile=$2
    shift 2
    local start=$SECONDS rc=0 beat=${HULEEDU_HEARTBEAT:-30}
    mkdir -p "$(dirname "$logfile")"
    "$@" >"$logfile" 2>&1 &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        local waited=0
        while ((waited < beat)) && kill -0 "$pid" 2>/dev/null; do
            sleep 1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "  ... $label: $(fmt_duration $((SECONDS - start))) elapsed," \
                "$(wc -l <"$logfile" | tr -d ' ') log lines (${logfile})"
        fi
    done
    wait "$pid" || rc=$?
    if ((rc != 0)); then
        log "$label failed (exit $rc) after $(fmt_duration $((SECONDS - start))); last lines of $logfile:"
        tail -n 40 "$logfile" >&2
    fi
    return "$rc"
}
