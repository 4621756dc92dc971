#!/usr/bin/env bash
# Echo load test: weir's servers against tungstenite, tokio-tungstenite and
# fastwebsockets, under the same load from benches/echo's `loadgen`.
#
#   bash benches/echo.sh [--seconds T] [--quick] [--inflight K] [--idle N]
#
#   --seconds T   seconds per server and workload (default 10)
#   --quick       2 seconds per workload, 200 idle connections (CI smoke)
#   --inflight K  messages in flight per connection (default 8)
#   --idle N      idle connections for the memory test (default 1000;
#                 0 skips the test)
#   --workload C:S  run only this workload, C connections x S-byte messages
#                 (repeatable; default 100:20 and 10:16384)
#
# Builds benches/echo in release, then for each workload runs every server
# in turn, each freshly started: server pinned to CPU 0, load generator to
# CPU 1 (`taskset -c`, when the machine has two CPUs or more). Prints one
# Markdown table per workload, with ratios to weir-mio, and one for idle
# connections. "other CPU %" is what the rest of the machine used during a
# run (all CPUs, minus server and load generator): above a few %, the run was
# disturbed. Before each run the script waits (up to 30 s) for the machine
# to be quiet (not with --quick). Exits non-zero if any run failed (e.g. a wrong echo).
set -euo pipefail

seconds=10
inflight=8
idle=1000
quick=0
only=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --inflight) inflight="$2"; shift 2 ;;
        --idle) idle="$2"; shift 2 ;;
        --quick) quick=1; seconds=2; idle=200; shift ;;
        --workload) only+=("$2"); shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

servers=(weir-mio weir-std tungstenite tokio-tungstenite fastwebsockets weir-std-batched)
# weir-std-batched is a variant of weir-std (`write` instead of `send`: the
# echoes of one read leave in one write), listed last, outside the comparison.
# connections:size
workloads=("100:20" "10:16384")
if [ "${#only[@]}" -gt 0 ]; then
    workloads=("${only[@]}")
fi

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
echo "building benches/echo (release)..." >&2
cargo build --release -q -p weir-bench-echo
target_dir="$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
bin="${target_dir:-$here/target}/release"

if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    pin_server=(taskset -c 0)
    pin_load=(taskset -c 1)
    pinning="server on CPU 0, load generator on CPU 1"
else
    pin_server=()
    pin_load=()
    pinning="none (fewer than 2 CPUs or no taskset)"
fi

work="$(mktemp -d)"
server_pid=""
loadgen_pid=""
cleanup() {
    [ -n "$loadgen_pid" ] && kill "$loadgen_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    exec 3>&- 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
failed=0

# start_server NAME: starts it on a fresh port; sets server_pid and port.
start_server() {
    port=$((port + 1))
    "${pin_server[@]}" "$bin/echo-$1" "$port" >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        grep -q listening "$work/server.log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "$1 did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
}

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

# status_kib FIELD: a field of the server's /proc/PID/status, in KiB.
status_kib() {
    awk -v f="$1:" '$1 == f { print $2 }' "/proc/$server_pid/status"
}

# field LINE KEY: the value of KEY=value in a RESULT line.
field() {
    tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}

# busy_ticks: CPU time used by the whole machine so far, in clock ticks.
busy_ticks() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# wait_quiet: waits (at most 60 s) until no other process uses over 10 % of
# a CPU, so that runs do not overlap other work on the machine.
wait_quiet() {
    [ "$quick" = 1 ] && return 0
    for _ in $(seq 30); do
        [ -z "$(busy_processes)" ] && return 0
        sleep 1
    done
    echo "  (machine still busy; measuring anyway)" >&2
}

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
    "kernel $(uname -r)"
echo "pinning: $pinning; $inflight messages in flight per connection;" \
    "$seconds s per run"
# busy_processes: processes that used over 10 % of a CPU in the last second.
busy_processes() {
    snapshot() {
        for stat in /proc/[0-9]*/stat; do
            cat "$stat" 2>/dev/null
            echo
        done | awk 'NF {
            lp = index($0, "("); rp = 0
            for (i = length($0); i > 0; i--) if (substr($0, i, 1) == ")") { rp = i; break }
            comm = substr($0, lp + 1, rp - lp - 1); gsub(/ /, "_", comm)
            split(substr($0, rp + 2), f, " ")
            print $1, comm, f[12] + f[13] }'
    }
    snapshot >"$work/cpu-a"
    sleep 1
    snapshot >"$work/cpu-b"
    awk -v hz="$(getconf CLK_TCK)" -v me="$$" '
        NR == FNR { before[$1] = $3; next }
        ($1 in before) && $1 != me && ($3 - before[$1]) * 100 / hz > 10 {
            printf "%s (pid %s, %d%% CPU) ", $2, $1, ($3 - before[$1]) * 100 / hz }
    ' "$work/cpu-a" "$work/cpu-b"
}
busy="$(busy_processes)"
if [ -n "$busy" ]; then
    echo "WARNING: other busy processes at the start: $busy"
fi
echo

for workload in "${workloads[@]}"; do
    conns="${workload%%:*}"
    size="${workload##*:}"
    rows="$work/rows-$conns-$size"
    : >"$rows"
    for server in "${servers[@]}"; do
        wait_quiet
        start_server "$server"
        echo "running $server: $conns connections x $size B..." >&2
        machine_before="$(busy_ticks)"
        run_start="$(date +%s.%N)"
        if ! line="$("${pin_load[@]}" "$bin/loadgen" --url "ws://127.0.0.1:$port/" \
            --connections "$conns" --size "$size" --inflight "$inflight" \
            --seconds "$seconds" --server-pid "$server_pid" --label "$server" \
            2>"$work/loadgen.err" | grep '^RESULT')"; then
            echo "  $server FAILED:" >&2
            cat "$work/loadgen.err" >&2
            failed=1
        fi
        machine_after="$(busy_ticks)"
        run_end="$(date +%s.%N)"
        hwm="$(status_kib VmHWM)"
        stop_server
        if [ -n "$line" ]; then
            echo "$server $(field "$line" msgs_per_s) $(field "$line" mb_per_s)" \
                "$(field "$line" p50_us) $(field "$line" p99_us) $(field "$line" max_us)" \
                "$(field "$line" server_cpu_us_per_msg) $(field "$line" server_cpu_pct)" \
                "$(field "$line" loadgen_cpu_pct) $hwm $(field "$line" errors)" \
                "$(awk -v a="$machine_before" -v b="$machine_after" -v s="$run_start" \
                    -v e="$run_end" -v hz="$(getconf CLK_TCK)" \
                    -v srv="$(field "$line" server_cpu_pct)" -v lg="$(field "$line" loadgen_cpu_pct)" \
                    'BEGIN { o = (b - a) * 100 / hz / (e - s) - srv - lg; printf "%.0f", o < 0 ? 0 : o }')" \
                >>"$rows"
        fi
    done
    echo "### $conns connections x $size B messages, $inflight in flight per connection, $seconds s"
    echo
    awk '
        NR == 1 { base_rate = $2; base_cpu = $7 }
        function ratio(v, b) { return (b > 0 && v != "na") ? sprintf("%.2f", v / b) : "-" }
        BEGIN {
            print "| server | msgs/s | vs weir-mio | MB/s | p50 ms | p99 ms | max ms | server CPU us/msg | vs weir-mio | server CPU % | loadgen CPU % | other CPU % | peak RSS MiB | errors |"
            print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        }
        {
            printf "| %s | %d | %s | %.1f | %.2f | %.2f | %.2f | %s | %s | %s | %s | %s | %.1f | %s |\n",
                $1, $2, ratio($2, base_rate), $3, $4 / 1000, $5 / 1000, $6 / 1000,
                $7, ratio($7, base_cpu), $8, $9, $12, $10 / 1024, $11
        }' "$rows"
    echo
done

# Idle connections: VmRSS before and after opening them, handshakes done.
if [ "$idle" -gt 0 ]; then
rows="$work/rows-idle"
: >"$rows"
for server in "${servers[@]}"; do
    wait_quiet
    start_server "$server"
    echo "idle test $server: $idle connections..." >&2
    sleep 0.3
    before="$(status_kib VmRSS)"
    rm -f "$work/fifo" "$work/idle.out"
    mkfifo "$work/fifo"
    "${pin_load[@]}" "$bin/loadgen" --url "ws://127.0.0.1:$port/" --idle "$idle" \
        --seconds 120 <"$work/fifo" >"$work/idle.out" 2>"$work/loadgen.err" &
    loadgen_pid=$!
    exec 3>"$work/fifo"
    after=""
    for _ in $(seq 600); do
        if grep -q IDLE_READY "$work/idle.out" 2>/dev/null; then
            sleep 1 # let the server settle
            after="$(status_kib VmRSS)"
            break
        fi
        if ! kill -0 "$loadgen_pid" 2>/dev/null; then break; fi
        sleep 0.1
    done
    exec 3>&- # end of stdin: the load generator closes and exits
    wait "$loadgen_pid" 2>/dev/null || true
    loadgen_pid=""
    threads="$(awk '$1 == "Threads:" { print $2 }' "/proc/$server_pid/status")"
    stop_server
    if [ -z "$after" ]; then
        echo "  $server: idle connections FAILED:" >&2
        cat "$work/loadgen.err" >&2
        failed=1
        continue
    fi
    echo "$server $before $after $threads" >>"$rows"
done
echo "### $idle idle connections (after the handshake): VmRSS growth"
echo
awk -v n="$idle" '
    BEGIN {
        print "| server | VmRSS before KiB | VmRSS with idle conns KiB | KiB per idle connection | vs weir-mio |"
        print "|---|---:|---:|---:|---:|"
    }
    { per = ($3 - $2) / n }
    NR == 1 { base = per }
    {
        printf "| %s | %d | %d | %.2f | %s |\n", $1, $2, $3, per,
            (base > 0 ? sprintf("%.2f", per / base) : "-")
    }' "$rows"
echo
fi
busy="$(busy_processes)"
if [ -n "$busy" ]; then
    echo "WARNING: other busy processes at the end: $busy"
fi
if [ "$quick" = 1 ]; then
    echo "(--quick: 2 s runs, $idle idle connections: a smoke test, not a measurement)"
fi
exit "$failed"
