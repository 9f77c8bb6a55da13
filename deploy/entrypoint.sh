#!/bin/bash
# smtpstorm-entrypoint - the container image's entrypoint: picks the program
# by its first argument and execs it (so the program is PID 1 and gets
# signals directly).
#
#   sink ARGS...         smtpstorm-sink ARGS
#   agent ARGS...        smtpstorm-agent ARGS
#                        (with SMTPSTORM_ID_PREFIX set and no --id in ARGS,
#                        --id PREFIX-HOSTNAME: replicas sharing the key named
#                        PREFIX may speak only as PREFIX or PREFIX-*)
#   coordinator ARGS...  smtpstorm ARGS          (e.g. coordinator run ...)
#   run ARGS...          smtpstorm run ARGS      (one campaign)
#   keygen NAME          smtpstorm keygen NAME   (NAME.key, NAME.pub)
#   init DIR             a deployment's state folder, once: the CURVE keys
#                        DIR/keys/{coordinator,agent,sink}.{key,pub} and
#                        DIR/keys/authorized/ (agent.pub, sink.pub), and
#                        DIR/reports/; never overwrites a key. Run as root,
#                        it hands the folder to the smtpstorm user.
#   healthcheck          the HEALTHCHECK: a program runs (a sink: answers 220)
#   version|help         what is installed / this text
#   anything else        exec'd as a command (sh, bash, ...)
set -euo pipefail

SMTPSTORM_USER=smtpstorm

usage() { sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//p}' "$0"; }

# init DIR: generate what is missing; never overwrite an existing key.
init() {
    local state=${1:?usage: init DIR} dir name
    dir=$state/keys
    mkdir -p "$dir/authorized" "$state/reports"
    for name in coordinator agent sink; do
        if [ ! -s "$dir/$name.key" ] || [ ! -s "$dir/$name.pub" ]; then
            rm -f "$dir/$name.key" "$dir/$name.pub"
            smtpstorm keygen "$dir/$name"
            echo "init: generated $dir/$name.key and $dir/$name.pub"
        fi
    done
    cp "$dir/agent.pub" "$dir/sink.pub" "$dir/authorized/"
    if [ "$(id -u)" = 0 ] && id "$SMTPSTORM_USER" >/dev/null 2>&1; then
        chown -R "$SMTPSTORM_USER:$SMTPSTORM_USER" "$dir" "$state/reports"
    fi
    chmod 0600 "$dir"/*.key
    chmod 0644 "$dir"/*.pub "$dir"/authorized/*.pub
}

# healthcheck: healthy while a smtpstorm program runs in this container; for
# a sink, also while its SMTP port answers with a 220 banner.
healthcheck() {
    local pid args=() a i host port found=""
    for pid in /proc/[0-9]*; do
        [ -r "$pid/cmdline" ] || continue
        mapfile -d '' -t args <"$pid/cmdline" 2>/dev/null || continue
        [ "${#args[@]}" -gt 0 ] || continue
        case "${args[0]##*/}" in
            smtpstorm-sink) found=sink; break ;;
            smtpstorm-agent|smtpstorm) found=other; break ;;
        esac
    done
    [ -n "$found" ] || { echo "unhealthy: no smtpstorm program is running"; return 1; }
    [ "$found" = sink ] || { echo "healthy: ${args[0]##*/} runs"; return 0; }
    # the sink's listening endpoint: "[inet:][host]:port backlog"; a unix:
    # socket needs only to exist
    for ((i = ${#args[@]} - 2; i >= 1; i--)); do
        a=${args[i]}
        [[ ${args[i + 1]} =~ ^[0-9]+$ ]] || continue
        if [[ $a == unix:* ]]; then
            [ -S "${a#unix:}" ] && { echo "healthy: ${a} exists"; return 0; }
            echo "unhealthy: ${a} does not exist"; return 1
        fi
        [[ $a =~ ^(inet:)?(.*):([0-9]+)$ ]] || continue
        host=${BASH_REMATCH[2]} port=${BASH_REMATCH[3]}
        host=${host#[}; host=${host%]}
        case "$host" in ""|"*"|0.0.0.0|::) host=127.0.0.1 ;; esac
        if timeout 3 bash -c '
                exec 3<>"/dev/tcp/$0/$1" || exit 1
                IFS= read -r -t 2 line <&3 || exit 1
                printf "QUIT\r\n" >&3
                [[ $line == 220* ]]' "$host" "$port" 2>/dev/null; then
            echo "healthy: sink answers 220 on $host:$port"; return 0
        fi
        echo "unhealthy: sink does not answer on $host:$port"; return 1
    done
    echo "healthy: smtpstorm-sink runs"
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
# with_id ARGS...: ARGS, and --id PREFIX-HOSTNAME when SMTPSTORM_ID_PREFIX
# is set and ARGS name no --id (into the array id_args)
with_id() {
    local a
    id_args=("$@")
    [ -n "${SMTPSTORM_ID_PREFIX:-}" ] || return 0
    for a in "$@"; do
        case "$a" in --id|--id=*) return 0 ;; esac
    done
    id_args=(--id "$SMTPSTORM_ID_PREFIX-$(hostname)" "$@")
}

case "$cmd" in
    sink|smtpstorm-sink)        with_id "$@"; exec smtpstorm-sink "${id_args[@]}" ;;
    agent|smtpstorm-agent)      with_id "$@"; exec smtpstorm-agent "${id_args[@]}" ;;
    coordinator|smtpstorm)      exec smtpstorm "$@" ;;
    run|keygen)                 exec smtpstorm "$cmd" "$@" ;;
    init)                       init "$@" ;;
    healthcheck)                healthcheck ;;
    version|--version)
        for p in smtpstorm smtpstorm-agent smtpstorm-sink; do
            printf '%s: ' "$p"; "$p" --version 2>&1 | head -1 || true
        done ;;
    help|-h|--help)             usage ;;
    *)                          exec "$cmd" "$@" ;;
esac
