#!/usr/bin/env bash
# Fan-out across a cluster (issue 14): 2 x N clients in one room, half on
# each of two weir-mio nodes sharing rooms over Redis; per iteration one
# client (on the first node) sends a 20-byte text message and the room
# broadcast delivers it to all 2N members (the sender included); the next
# iteration starts when all have it. The same fan-out on one node (2N
# clients, no Redis) beside it. Driven by benches/echo's `broadcast-gen
# --senders 1`; the servers are `broadcast-weir-mio [--redis URL]`.
#
#   bash benches/fanout.sh [--clients N] [--duration S] [--warmup W]
#                          [--rounds R] [--quick]
#
#   --clients N   clients per node (default 500: 2 x 500 in the cluster,
#                 1,000 on the one node)
#   --duration S  measured seconds per run (default 5)
#   --warmup W    seconds of iterations first, checked, not counted
#                 (default 1)
#   --rounds R    both set-ups R times, interleaved; medians (default 3)
#   --quick       CI smoke: N = 50, 0.5 s runs, 1 round
#
# Installs nothing: needs redis-server on the PATH (scripts/cluster-test.sh
# installs it). Pinning: the nodes on CPU 0, the generator and Redis on CPU
# 1. "publishes/message" is the nodes' own count of messages published to
# Redis (`GET /stats` before and after) over every iteration run, warm-up
# included: the Redis round trips each message costs. The CPU columns add
# up both nodes. Exits non-zero if a run failed (the generator checks every
# delivery).
set -euo pipefail

clients=500
duration=5
warmup=1
rounds=3
quick=0
while [ $# -gt 0 ]; do
    case "$1" in
        --clients) clients="$2"; shift 2 ;;
        --duration | --seconds) duration="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --quick) quick=1; clients=50; duration=0.5; warmup=0.2; rounds=1; shift ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
command -v redis-server >/dev/null || {
    echo "redis-server is not installed: bash scripts/cluster-test.sh installs it" >&2
    exit 2
}

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
cd "$here"
set_up
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

next_free_port
redis_port=$port
"${pin_load[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --save "" \
    --appendonly no >"$work/redis.log" 2>&1 &
extra_pids+=($!)
for _ in $(seq 50); do
    (exec 9<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
    sleep 0.1
done
redis_url="redis://127.0.0.1:$redis_port"

# node NAME [--redis URL]: starts a broadcast-weir-mio pinned as the
# server; sets node_pid and node_port.
node() {
    local name="$1"
    shift
    next_free_port
    node_port=$port
    "${pin_server[@]}" "$bin/broadcast-weir-mio" "$node_port" "$@" >"$work/$name.log" 2>&1 &
    node_pid=$!
    extra_pids+=("$node_pid")
    wait_listening "$work/$name.log" "$node_pid" 100 || exit 1
}

# published PORT...: the messages the nodes on these ports have published
# to Redis, added up.
published() {
    local port total=0 answer
    for port in "$@"; do
        exec 8<>"/dev/tcp/127.0.0.1/$port"
        printf 'GET /stats HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n' >&8
        answer="$(cat <&8)"
        exec 8>&-
        total=$((total + $(sed -n 's/.*published=\([0-9]*\).*/\1/p' <<<"$answer")))
    done
    echo "$total"
}

failed=0

# measure SETUP PIDS URL...: one generator run; appends a row.
measure() {
    local setup="$1" pids="$2"
    shift 2
    local urls=() url
    for url in "$@"; do urls+=(--url "$url"); done
    local line
    if ! line="$("${pin_load[@]}" "$bin/broadcast-gen" "${urls[@]}" --clients $((2 * clients)) \
        --senders 1 --warmup "$warmup" --seconds "$duration" --server-pid "$pids" \
        --label "$setup" 2>"$work/gen.err" | grep '^RESULT')"; then
        echo "  $setup: FAILED:" >&2
        cat "$work/gen.err" >&2
        failed=1
        return 1
    fi
    echo "$line"
}

for round in $(seq "$rounds"); do
    wait_quiet
    echo "round $round: two nodes on Redis, 2 x $clients clients..." >&2
    node a --redis "$redis_url"; pid_a=$node_pid; port_a=$node_port
    node b --redis "$redis_url"; pid_b=$node_pid; port_b=$node_port
    before="$(published "$port_a" "$port_b")"
    if line="$(measure two-nodes "$pid_a,$pid_b" "ws://127.0.0.1:$port_a/" "ws://127.0.0.1:$port_b/")"; then
        after="$(published "$port_a" "$port_b")"
        messages=$(( $(field "$line" iterations) + $(field "$line" warmup_iterations) ))
        per="$(awk -v d=$((after - before)) -v m="$messages" 'BEGIN { printf "%.3f", d / m }')"
        echo "two-nodes $line publishes_per_message=$per" >>"$work/rows"
    fi
    kill "$pid_a" "$pid_b" 2>/dev/null || true
    wait "$pid_a" "$pid_b" 2>/dev/null || true

    wait_quiet
    echo "round $round: one node, $((2 * clients)) clients..." >&2
    node one; pid_one=$node_pid
    if line="$(measure one-node "$pid_one" "ws://127.0.0.1:$node_port/")"; then
        echo "one-node $line publishes_per_message=0" >>"$work/rows"
    fi
    kill "$pid_one" 2>/dev/null || true
    wait "$pid_one" 2>/dev/null || true
done

machine_header
echo "pinning: nodes on CPU 0, generator and Redis on CPU 1; $duration s measured after $warmup s of warm-up; $rounds round(s), interleaved"
echo "redis: $(redis-server --version | cut -d' ' -f1-3)"
echo
echo "### Fan-out: one 20 B text message per iteration to a room of $((2 * clients)) members, the next when all have it; medians of $rounds round(s)"
echo
echo "| set-up | members | deliveries/s | messages/s | p50 ms (send to last delivery) | p99 ms | server user us/delivery | server sys us/delivery | server CPU us/delivery | publishes/message | server CPU % | generator CPU % |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
if [ -f "$work/rows" ]; then
    for setup in two-nodes one-node; do
        grep "^$setup " "$work/rows" | while read -r _ rest; do
            line="$rest"
            echo "$setup x $(field "$line" deliveries_per_s) $(field "$line" iterations_per_s)" \
                "$(field "$line" p50_ms) $(field "$line" p99_ms)" \
                "$(field "$line" server_user_us_per_delivery) $(field "$line" server_sys_us_per_delivery)" \
                "$(field "$line" server_cpu_us_per_delivery) $(field "$line" publishes_per_message)" \
                "$(field "$line" server_cpu_pct) $(field "$line" loadgen_cpu_pct) 0"
        done
    done | medians 3 | awk -v n=$((2 * clients)) '{
        label = ($1 == "two-nodes") ? "two nodes, Redis pub/sub" : "one node"
        printf "| %s | %d | %.0f | %.1f | %.2f | %.2f | %.3f | %.3f | %.3f | %.3f | %.0f | %.0f |\n",
            label, n, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
    }'
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$quick" = 1 ]; then
    echo "(--quick: $duration s runs: a smoke test, not a measurement)"
fi
exit "$failed"
