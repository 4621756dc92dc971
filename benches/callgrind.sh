#!/usr/bin/env bash
# Instructions per echoed message, server side, under valgrind's callgrind:
# weir-mio against fastwebsockets, tokio-tungstenite and tungstenite, on
# the same workloads as benches/echo.sh, driven by benches/echo's
# `loadgen`.
#
#   bash benches/callgrind.sh [--messages N] [--servers A,B]
#                             [--workload C:S@K]... [--keep DIR]
#
#   --messages N  messages echoed per counted run, all connections together
#                 (default 20000)
#   --servers A,B run only these servers (default weir-mio,fastwebsockets,
#                 tokio-tungstenite,tungstenite)
#   --workload C:S@K  C connections x S-byte binary messages, K in flight
#                 per connection (repeatable; default 100:20@1, 100:20@8,
#                 10:16384@1, 10:16384@8)
#   --keep DIR    keep the callgrind profiles in DIR
#                 (callgrind.SERVER.C-S-K.N), for `callgrind_annotate`
#
# For each workload and server, two runs, each with a fresh server under
# `valgrind --tool=callgrind` (server pinned to CPU 0, load generator to
# CPU 1): one where the load generator opens the C connections, sends
# nothing and closes them (`loadgen --messages 0`), and one where it sends
# exactly N messages, K in flight per connection (`--messages N`). The
# server is stopped with SIGTERM; callgrind writes its totals then. The
# instructions per message are the difference of the two totals (Ir: every
# user-space instruction the server executed, all its threads: its code,
# the libraries', the allocator's; not the kernel's) divided by N. Startup,
# handshakes and closes cancel out.
#
# The counts do not depend on the machine's speed, but not every one is
# exact: how many messages one read brings depends on timing (under
# callgrind the server is slow, so with K > 1 reads carry several
# messages), and the tokio servers' idle worker threads spin a little
# before they park. Repeated runs agree to about 1 %.
set -euo pipefail

messages=20000
servers=(weir-mio fastwebsockets tokio-tungstenite tungstenite)
workloads=()
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --messages) messages="$2"; shift 2 ;;
        --servers) IFS=, read -r -a servers <<<"$2"; shift 2 ;;
        --workload) workloads+=("$2"); shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[ "${#workloads[@]}" -gt 0 ] || workloads=("100:20@1" "100:20@8" "10:16384@1" "10:16384@8")
for workload in "${workloads[@]}"; do
    [[ "$workload" =~ ^[0-9]+:[0-9]+@[1-9][0-9]*$ ]] || {
        echo "bad workload: $workload (C:S@K)" >&2
        exit 2
    }
done
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
[ -z "$keep" ] || mkdir -p "$keep"

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
cd "$here"
set_up

# instructions SERVER C S K N: runs SERVER under callgrind while the load
# generator opens C connections and echoes N S-byte messages, K in flight
# per connection; prints the server's total instructions (Ir).
instructions() {
    local server="$1" conns="$2" size="$3" k="$4" n="$5"
    local out="$work/callgrind.out"
    next_free_port
    launch_server 600 valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$bin/echo-$server" "$port"
    if ! "${pin_load[@]}" "$bin/loadgen" --url "ws://127.0.0.1:$port/" \
        --connections "$conns" --size "$size" --inflight "$k" --messages "$n" \
        --label "$server" >/dev/null 2>"$work/loadgen.err"; then
        echo "$server: load generator FAILED:" >&2
        cat "$work/loadgen.err" "$work/server.log" >&2
        exit 1
    fi
    stop_server
    [ -z "$keep" ] || cp "$out" "$keep/callgrind.$server.$conns-$size-$k.$n"
    sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out"
}

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(valgrind --version); $messages messages per counted run"
echo
for workload in "${workloads[@]}"; do
    IFS=:@ read -r conns size k <<<"$workload"
    echo "### $conns connections x $size B binary messages, $k in flight per connection: server instructions per echoed message (callgrind)"
    echo
    echo "| server | instructions/msg | vs weir-mio | instructions, $messages messages | instructions, no messages |"
    echo "|---|---:|---:|---:|---:|"
    base=""
    for server in "${servers[@]}"; do
        echo "$server, $workload: no messages, then $messages..." >&2
        idle="$(instructions "$server" "$conns" "$size" "$k" 0)"
        busy="$(instructions "$server" "$conns" "$size" "$k" "$messages")"
        per=$(((busy - idle) / messages))
        [ -n "$base" ] || base="$per"
        awk -v s="$server" -v p="$per" -v b="$base" -v busy="$busy" -v idle="$idle" \
            'BEGIN { printf "| %s | %d | %.2f | %.0f | %.0f |\n", s, p, p / b, busy, idle }'
    done
    echo
done
