#!/usr/bin/env bash
# Broadcast load test, modelled on uWebSockets' broadcast_test: N clients
# in one group; per iteration every client sends one 20-byte text message
# and the server sends each to all N members (N² deliveries); the next
# iteration starts when every client has all N. weir-mio's server API
# (room broadcast) against Node's ws and tokio-tungstenite, each on one
# thread, driven by benches/echo's `broadcast-gen`.
#
#   bash benches/broadcast.sh [--duration S] [--warmup W] [--rounds R]
#                             [--clients 10,50,200] [--servers A,B]
#                             [--syscall-seconds T] [--quick]
#
#   --duration S  measured seconds per server and N (default 5); the last
#                 iteration is finished (--seconds is the same)
#   --warmup W    seconds of iterations before each measurement, checked
#                 but not counted (default 1)
#   --rounds R    every server R times, interleaved: round 1 runs every N
#                 and, for each, every server in turn (A, B, C), then round
#                 2 ...; the table shows per-column medians and the min-max
#                 of server CPU per delivery (default 3)
#   --clients L   the values of N, comma-separated (default 10,50,200)
#   --servers L   only these servers (default weir-mio,tokio-tungstenite,
#                 node-ws; node-ws needs `node`, and installs ws with
#                 `npm ci` in benches/node the first time)
#   --syscall-seconds T  after each measured run, a second run of T seconds
#                 against the same server process with its system calls
#                 counted by `perf stat -e raw_syscalls:sys_enter` (all
#                 threads): the "syscalls/delivery" column. Apart from the
#                 measured run, as counting slows the server (default 2; 0
#                 skips it)
#   --quick       CI smoke: N = 10 and 50, 0.5 s runs after 0.2 s of
#                 warm-up, 1 round, no system call counts, no waiting for a
#                 quiet machine
#
# Each run starts the server afresh, pinned to CPU 0 (the generator to CPU
# 1), waits (up to 30 s, not with --quick) for the machine to be quiet,
# connects the N clients, warms up, measures. Server CPU (user, system)
# comes from /proc/PID/stat over the measured iterations, all threads.
# "other CPU %" is what the rest of the machine used meanwhile (all CPUs,
# minus server and generator): above a few %, the run was disturbed.
# Prints one Markdown table at the end; exits non-zero if any run failed
# (the generator checks every delivery: see broadcast-gen.rs).
set -euo pipefail

duration=5
warmup=1
rounds=3
clients_list="10,50,200"
servers=(weir-mio tokio-tungstenite node-ws)
syscall_seconds=2
quick=0
while [ $# -gt 0 ]; do
    case "$1" in
        --duration | --seconds) duration="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --clients) clients_list="$2"; shift 2 ;;
        --servers) IFS=, read -r -a servers <<<"$2"; shift 2 ;;
        --syscall-seconds) syscall_seconds="$2"; shift 2 ;;
        --quick) quick=1; duration=0.5; warmup=0.2; rounds=1; clients_list="10,50"
            syscall_seconds=0; shift ;;
        -h|--help) sed -n '2,41p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
IFS=, read -r -a clients <<<"$clients_list"
for n in "${clients[@]}"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bad client count: $n" >&2; exit 2; }
done

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
cd "$here"
set_up

node_note=""
if [[ " ${servers[*]} " == *" node-ws "* ]] && ! install_node_ws; then
    kept=()
    for server in "${servers[@]}"; do
        [ "$server" = node-ws ] || kept+=("$server")
    done
    servers=("${kept[@]}")
fi

set_up_syscall_counting "$syscall_seconds" "server and N"

# start_server NAME: starts it on a free port; sets server_pid and port.
start_server() {
    local name="$1" cmd
    next_free_port
    case "$name" in
        node-ws) cmd=(node "$here/node/broadcast-ws.js" "$port") ;;
        *) cmd=("$bin/broadcast-$name" "$port") ;;
    esac
    launch_server 100 "${cmd[@]}"
}

failed=0

# run ROUND N SERVER: one measured run (then, with --syscall-seconds, the
# counted one); appends a row to the rows file of N.
run() {
    local round="$1" n="$2" server="$3"
    wait_quiet
    start_server "$server"
    echo "round $round: $server, $n clients..." >&2
    local gen=("${pin_load[@]}" "$bin/broadcast-gen" --url "ws://127.0.0.1:$port/"
        --clients "$n" --warmup "$warmup" --label "$server")
    local line="" syscalls=na
    if ! line="$("${gen[@]}" --seconds "$duration" --server-pid "$server_pid" \
        2>"$work/gen.err" | grep '^RESULT')"; then
        echo "  $server, $n clients: FAILED:" >&2
        cat "$work/gen.err" "$work/server.log" >&2
        failed=1
        line=""
    fi
    if [ -n "$line" ] && [ "$syscall_counting" = 1 ]; then
        syscalls="$(syscalls_per deliveries "$(count_syscalls_of "$server_pid" \
            "${gen[@]}" --warmup 0 --seconds "$syscall_seconds" 2>>"$work/gen.err")")"
    fi
    stop_server
    [ -n "$line" ] || return 0
    # What the rest of the machine used during the measured iterations.
    local other
    other="$(awk -v m="$(field "$line" machine_cpu_pct)" -v s="$(field "$line" server_cpu_pct)" \
        -v g="$(field "$line" loadgen_cpu_pct)" 'BEGIN { o = m - s - g; printf "%.0f", o < 0 ? 0 : o }')"
    # Columns: server n | iter/s deliveries/s p50 p99 user sys total srv%
    # gen% other syscalls errors.
    echo "$server $n $(field "$line" iterations_per_s) $(field "$line" deliveries_per_s)" \
        "$(field "$line" p50_ms) $(field "$line" p99_ms)" \
        "$(field "$line" server_user_us_per_delivery)" \
        "$(field "$line" server_sys_us_per_delivery)" \
        "$(field "$line" server_cpu_us_per_delivery) $(field "$line" server_cpu_pct)" \
        "$(field "$line" loadgen_cpu_pct) $other $syscalls 0" >>"$work/rows-$n"
}

machine_header
echo "pinning: $pinning; $duration s measured after $warmup s of warm-up; $rounds round(s), interleaved"
echo "system calls: $syscall_note"
node_versions
[ -n "$node_note" ] && echo "$node_note"
busy="$(busy_processes)"
[ -z "$busy" ] || echo "WARNING: other busy processes at the start: $busy"
echo

for round in $(seq "$rounds"); do
    for n in "${clients[@]}"; do
        for server in "${servers[@]}"; do
            run "$round" "$n" "$server"
        done
    done
done

range_note=""
[ "$rounds" -gt 1 ] && range_note=", medians of $rounds rounds"
echo "### Broadcast: N clients in one group, each sends one 20 B text message per iteration, the server sends each to all N (N² deliveries); one server thread; $duration s$range_note"
echo
echo "| N | server | iterations/s | deliveries/s | vs weir-mio | p50 iteration ms | p99 iteration ms | server user us/delivery | server sys us/delivery | server CPU us/delivery | min-max (runs) | syscalls/delivery | server CPU % | generator CPU % | other CPU % |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in "${clients[@]}"; do
    [ -f "$work/rows-$n" ] || { echo "| $n | (no successful run) |"; continue; }
    medians 7 <"$work/rows-$n" | awk '
        $1 == "weir-mio" { base = $4 }
        { row[NR] = $0 }
        END {
            for (i = 1; i <= NR; i++) {
                split(row[i], f, " ")
                printf "| %s | %s | %.1f | %.0f | %s | %.2f | %.2f | %.3f | %.3f | %.3f | %.3f-%.3f (%d) | %s | %.0f | %.0f | %.0f |\n",
                    f[2], f[1], f[3], f[4], (base > 0 ? sprintf("%.2f", f[4] / base) : "-"),
                    f[5], f[6], f[7], f[8], f[9], f[16], f[17], f[15],
                    (f[13] + 0 > 0 ? sprintf("%.3f", f[13]) : "-"), f[10], f[11], f[12]
            }
        }'
done
echo
echo "uWebSockets (not built here; not measured in this run): the figures issue 12"
echo "gives for this class of machine, one thread: N=10 6,550 iterations/s (655k"
echo "deliveries/s), N=50 212 iterations/s, N=200 15 iterations/s (600k deliveries/s)."
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
busy="$(busy_processes)"
[ -z "$busy" ] || echo "WARNING: other busy processes at the end: $busy"
if [ "$quick" = 1 ]; then
    echo "(--quick: $duration s runs: a smoke test, not a measurement)"
fi
exit "$failed"
