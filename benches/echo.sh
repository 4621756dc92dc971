#!/usr/bin/env bash
# Echo load test: weir's servers against tungstenite, tokio-tungstenite and
# fastwebsockets, with permessage-deflate against yawc and Node's ws, and
# over TLS against tokio-tungstenite and fastwebsockets on tokio-rustls,
# under the same load from benches/echo's `loadgen`.
#
#   bash benches/echo.sh [--seconds T] [--quick] [--inflight K] [--idle N]
#                        [--servers A,B] [--syscall-seconds T]
#                        [--rounds R] [--workload C:S[:MODE][@K]]...
#
#   --seconds T   seconds per server and workload (default 10)
#   --quick       1 second per workload, 0.5 s syscall counts, 200 idle
#                 connections, 1 round, no waiting for a quiet machine, and
#                 of the one-in-flight workloads only 100:20@1 (CI smoke)
#   --inflight K  messages in flight per connection, for workloads without
#                 @K (default 8)
#   --syscall-seconds T  after each load run, a second run of T seconds
#                 against the same server process, with its system calls
#                 counted (`perf stat -e raw_syscalls:sys_enter -p PID`,
#                 all threads; linux-perf is installed with apt-get if perf
#                 is missing): the "syscalls/msg" column (default 3; 0 skips
#                 it). Apart from the timed run, as counting slows the
#                 server; the connections' handshakes and closes fall inside
#                 the count (a few calls per connection, against tens of
#                 thousands of messages)
#   --idle N      idle connections for the memory tests (default 1000;
#                 0 skips them)
#   --rounds R    run every server R times, interleaved (round 1 runs every
#                 workload and server, then round 2, ...); tables show the
#                 median of each column and the range of CPU per message
#                 (default 1)
#   --workload C:S[:MODE][@K]  run only this workload, C connections x
#                 S-byte messages, K in flight per connection (default
#                 --inflight's) (repeatable; default 100:20@1, 100:20@8,
#                 10:16384@1, 10:16384@8, 100:1024:deflate and
#                 100:1024:tls). MODE:
#                   (none)   binary messages, no compression offered; servers
#                            weir-mio, weir-std, weir-tokio, tungstenite,
#                            tokio-tungstenite, fastwebsockets,
#                            weir-std-batched
#                   json     S bytes of JSON text, no compression offered;
#                            the same servers
#                   deflate  S bytes of JSON text, the load generator offers
#                            permessage-deflate (`client_max_window_bits`,
#                            as weir's clients) and fails if a server
#                            declines; servers weir-mio (default
#                            DeflateConfig::low_memory(): no context
#                            takeover), weir-mio-takeover
#                            (DeflateConfig::default()), yawc and
#                            yawc-takeover (the same two set-ups), node-ws
#                            and node-ws-takeover (Node's ws, likewise; run
#                            when `node` is installed: `npm ci` in
#                            benches/node the first time)
#                   tls      binary messages over TLS (wss://), no
#                            compression offered; servers weir-mio
#                            (`EventLoop::listen_tls`), weir-tokio,
#                            tokio-tungstenite and fastwebsockets (on
#                            tokio-rustls), all with
#                            the same rustls configuration (weir-tls's:
#                            ring provider, ALPN http/1.1) and a
#                            self-signed ECDSA P-256 certificate made at
#                            run time (`make-cert`, in the temporary
#                            directory). Then, per server, a handshake
#                            run: 10 load generator slots each loop on
#                            TCP connect, TLS handshake (full: the client
#                            does not resume sessions), WebSocket
#                            handshake, Close and the server's Close, for
#                            the same T seconds (1 s with --quick):
#                            handshakes per second and server CPU per
#                            handshake
#   --servers A,B run only these servers (names as in the lists below, and
#                 weir-mio-off for the idle test after a deflate workload)
#
# Builds benches/echo in release, then for each round and workload runs
# every server in turn, each freshly started: server pinned to CPU 0, load
# generator to CPU 1 (`taskset -c`, when the machine has two CPUs or more).
# Prints one Markdown table per workload, with ratios to weir-mio: server
# CPU per echoed message as user, system and total, system calls per
# message (see --syscall-seconds); for every workload the
# bytes on the wire per message each way and the ratio payload / wire (what
# compression saved; frame headers and masks included), and what
# permessage-deflate was agreed. "other CPU %" is what the rest of the
# machine used during a run (all CPUs, minus server and load generator):
# above a few %, the run was disturbed. Before each run the script waits (up
# to 30 s) for the machine to be quiet (not with --quick).
#
# Idle memory (VmRSS growth per connection, N connections held open):
# without compression, after the handshake only, for the first set of
# servers (when a workload without MODE or with json runs); with deflate
# (when a deflate workload runs), each connection first exchanges one
# compressed S-byte JSON message, then sits idle, for the deflate servers
# and for weir-mio with compression not offered ("weir-mio-off", the same
# exchange uncompressed), the baseline of the "vs off" column. Before the
# idle connections, one connection makes the same exchange and closes
# ("warm-up": what a server allocates once, e.g. per-thread compressor
# pools, is reported apart and not spread over the connections).
# Exits non-zero if any run failed (e.g. a wrong echo).
set -euo pipefail

seconds=10
hs_seconds=""
# Slots of the TLS handshake runs, each looping on connect and close.
hs_conns=10
inflight=8
syscall_seconds=3
idle=1000
quick=0
rounds=1
only=()
server_filter=""
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --inflight) inflight="$2"; shift 2 ;;
        --idle) idle="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --syscall-seconds) syscall_seconds="$2"; shift 2 ;;
        --quick) quick=1; seconds=1; hs_seconds=1; syscall_seconds=0.5; idle=200; rounds=1
            shift ;;
        --workload) only+=("$2"); shift 2 ;;
        --servers) server_filter=",$2,"; shift 2 ;;
        -h|--help) sed -n '2,96p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

plain_servers=(weir-mio weir-std weir-tokio tungstenite tokio-tungstenite fastwebsockets weir-std-batched)
# weir-std-batched is a variant of weir-std (`write` instead of `send`: the
# echoes of one read leave in one write), listed last, outside the comparison.
deflate_servers=(weir-mio weir-mio-takeover yawc yawc-takeover node-ws node-ws-takeover)
tls_servers=(weir-mio weir-tokio tokio-tungstenite fastwebsockets)
# selected SERVER: whether --servers (if given) names it.
selected() {
    [ -z "$server_filter" ] || [[ "$server_filter" == *",$1,"* ]]
}
# connections:size[:mode][@inflight]
workloads=("100:20@1" "100:20@8" "10:16384@1" "10:16384@8" "100:1024:deflate" "100:1024:tls")
[ "$quick" = 1 ] && workloads=("100:20@1" "100:20@8" "10:16384@8" "100:1024:deflate" "100:1024:tls")
if [ "${#only[@]}" -gt 0 ]; then
    workloads=("${only[@]}")
fi
# Every workload gets its @K (--inflight's when it has none).
for i in "${!workloads[@]}"; do
    [[ "${workloads[$i]}" == *@* ]] || workloads[$i]="${workloads[$i]}@$inflight"
done
plain_idle=0
deflate_idle=0
deflate_idle_size=""
tls=0
for workload in "${workloads[@]}"; do
    if ! [[ "$workload" =~ ^[0-9]+:[0-9]+(:json|:deflate|:tls)?@[1-9][0-9]*$ ]]; then
        echo "bad workload: $workload (C:S, C:S:json, C:S:deflate or C:S:tls, then @K or not)" >&2
        exit 2
    fi
    IFS=: read -r conns size mode <<<"${workload%@*}"
    case "${mode:-}" in
        "" | json) plain_idle=1 ;;
        deflate) deflate_idle=1; deflate_idle_size="${deflate_idle_size:-$size}" ;;
        tls) tls=1 ;;
    esac
done
hs_seconds="${hs_seconds:-$seconds}"

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
cd "$here"
set_up

# Node's ws, for the deflate workload: installed from benches/node's lock
# file the first time.
node_note=""
if [ "$deflate_idle" = 1 ] && ! install_node_ws; then
    deflate_servers=(weir-mio weir-mio-takeover yawc yawc-takeover)
fi

# System call counting (see --syscall-seconds).
set_up_syscall_counting "$syscall_seconds" "server and workload"

# The TLS workload's certificate and key: made now, in the temporary
# directory (removed at exit).
if [ "$tls" = 1 ]; then
    "$bin/make-cert" "$work"
fi
tls_args=(tls "$work/cert.pem" "$work/key.pem")

failed=0

# start_server NAME [ARG...]: starts it on a fresh port, with the ARGs
# after the port; sets server_pid and port. NAME-takeover runs NAME's
# server with the argument `takeover`; weir-mio-off is weir-mio (the load
# generator does not offer compression).
start_server() {
    local name="$1" arg=""
    shift
    next_free_port
    case "$name" in
        *-takeover) name="${name%-takeover}"; arg=takeover ;;
        weir-mio-off) name=weir-mio ;;
    esac
    local cmd
    if [ "$name" = node-ws ]; then
        cmd=(node "$here/node/echo-ws.js" "$port")
    else
        cmd=("$bin/echo-$name" "$port")
    fi
    [ -n "$arg" ] && cmd+=("$arg")
    cmd+=("$@")
    launch_server 100 "${cmd[@]}"
}

# status_kib FIELD: a field of the server's /proc/PID/status, in KiB.
status_kib() {
    awk -v f="$1:" '$1 == f { print $2 }' "/proc/$server_pid/status"
}

machine_header
echo "pinning: $pinning; $seconds s per run; $rounds round(s), interleaved"
echo "system calls: $syscall_note"
node_versions
[ -n "$node_note" ] && echo "$node_note"
busy="$(busy_processes)"
if [ -n "$busy" ]; then
    echo "WARNING: other busy processes at the start: $busy"
fi
echo

# count_syscalls LOADGEN_ARG...: runs the load generator for
# syscall_seconds against the running server with perf counting the
# server's system calls; prints calls per echoed message, or "na".
count_syscalls() {
    [ "$syscall_counting" = 1 ] || { echo na; return 0; }
    syscalls_per messages "$(count_syscalls_of "$server_pid" "${pin_load[@]}" "$bin/loadgen" \
        "$@" --seconds "$syscall_seconds" 2>>"$work/loadgen.err")"
}

# run_load ROUND WORKLOAD SERVER: one load run, then (with
# --syscall-seconds) the counted run; appends a row to the workload's rows
# file.
run_load() {
    local round="$1" workload="$2" server="$3"
    local conns size mode k="${workload#*@}"
    IFS=: read -r conns size mode <<<"${workload%@*}"
    local flags=() scheme=ws server_args=()
    case "${mode:-}" in
        json) flags=(--json) ;;
        deflate) flags=(--json --deflate) ;;
        tls) flags=(--tls "$work/cert.pem"); scheme=wss; server_args=("${tls_args[@]}") ;;
    esac
    wait_quiet
    start_server "$server" "${server_args[@]}"
    local load=(--url "$scheme://127.0.0.1:$port/" --connections "$conns" --size "$size"
        --inflight "$k" --label "$server" "${flags[@]}")
    echo "round $round: $server, $conns connections x $size B ${mode:-binary}, $k in flight..." >&2
    local machine_before run_start line="" machine_after run_end hwm syscalls=na
    machine_before="$(busy_ticks)"
    run_start="$(date +%s.%N)"
    if ! line="$("${pin_load[@]}" "$bin/loadgen" "${load[@]}" --seconds "$seconds" \
        --server-pid "$server_pid" 2>"$work/loadgen.err" | grep '^RESULT')"; then
        echo "  $server FAILED:" >&2
        cat "$work/loadgen.err" >&2
        failed=1
        line=""
    fi
    machine_after="$(busy_ticks)"
    run_end="$(date +%s.%N)"
    hwm="$(status_kib VmHWM)"
    [ -n "$line" ] && syscalls="$(count_syscalls "${load[@]}")"
    stop_server
    [ -n "$line" ] || return 0
    local other
    other="$(other_pct "$machine_before" "$machine_after" "$run_start" "$run_end" "$line")"
    # Columns: see print_load_table.
    echo "$server $(field "$line" deflate) $(field "$line" msgs_per_s)" \
        "$(field "$line" p50_us) $(field "$line" p99_us)" \
        "$(field "$line" server_user_us_per_msg) $(field "$line" server_sys_us_per_msg)" \
        "$(field "$line" server_cpu_us_per_msg) $(field "$line" server_cpu_pct)" \
        "$(field "$line" loadgen_cpu_pct) $other" \
        "$(field "$line" up_wire_bytes_per_msg) $(field "$line" down_wire_bytes_per_msg)" \
        "$(field "$line" up_ratio) $(field "$line" down_ratio) $hwm $syscalls" \
        "$(field "$line" errors)" >>"$work/rows-$workload"
}

# run_handshakes ROUND WORKLOAD SERVER: one TLS handshake run (hs_conns
# slots looping on connect, handshakes, close); appends a row to the
# workload's handshake rows file.
run_handshakes() {
    local round="$1" workload="$2" server="$3"
    wait_quiet
    start_server "$server" "${tls_args[@]}"
    echo "round $round: $server, TLS handshakes, $hs_conns at a time..." >&2
    local machine_before run_start line="" machine_after run_end
    machine_before="$(busy_ticks)"
    run_start="$(date +%s.%N)"
    if ! line="$("${pin_load[@]}" "$bin/loadgen" --url "wss://127.0.0.1:$port/" \
        --tls "$work/cert.pem" --handshakes --connections "$hs_conns" \
        --seconds "$hs_seconds" --server-pid "$server_pid" --label "$server" \
        2>"$work/loadgen.err" | grep '^RESULT')"; then
        echo "  $server handshakes FAILED:" >&2
        cat "$work/loadgen.err" >&2
        failed=1
        line=""
    fi
    machine_after="$(busy_ticks)"
    run_end="$(date +%s.%N)"
    stop_server
    [ -n "$line" ] || return 0
    local other
    other="$(other_pct "$machine_before" "$machine_after" "$run_start" "$run_end" "$line")"
    # Columns: see the handshake table.
    echo "$server tls $(field "$line" handshakes_per_s) $(field "$line" p50_us)" \
        "$(field "$line" p99_us) $(field "$line" server_user_us_per_handshake)" \
        "$(field "$line" server_sys_us_per_handshake)" \
        "$(field "$line" server_cpu_us_per_handshake) $(field "$line" server_cpu_pct)" \
        "$(field "$line" loadgen_cpu_pct) $other $(field "$line" errors)" \
        >>"$work/handshakes-$workload"
}

# run_idle ROUND KIND SERVER: one idle test (KIND plain or deflate); appends
# "SERVER DEFLATE BEFORE AFTER THREADS" to the kind's rows file.
run_idle() {
    local round="$1" kind="$2" server="$3"
    local flags=()
    if [ "$kind" = deflate ]; then
        flags=(--json --size "$deflate_idle_size" --idle-messages 1)
        [ "$server" = weir-mio-off ] || flags+=(--deflate)
    fi
    wait_quiet
    start_server "$server"
    echo "round $round: idle test ($kind) $server, $idle connections..." >&2
    sleep 0.3
    local before after="" threads agreed warmup=0
    before="$(status_kib VmRSS)"
    if [ "$kind" = deflate ]; then
        # Warm-up: one connection makes the same exchange and closes, so
        # that what a server allocates once (per-thread compressor pools,
        # code paths run for the first time) is not spread over the idle
        # connections; reported apart.
        if ! "${pin_load[@]}" "$bin/loadgen" --url "ws://127.0.0.1:$port/" --idle 1 \
            --seconds 0 "${flags[@]}" </dev/null >/dev/null 2>"$work/loadgen.err"; then
            echo "  $server: warm-up FAILED:" >&2
            cat "$work/loadgen.err" >&2
            failed=1
        fi
        sleep 0.5
        warmup="$before"
        before="$(status_kib VmRSS)"
        warmup=$((before - warmup))
    fi
    rm -f "$work/fifo" "$work/idle.out"
    mkfifo "$work/fifo"
    "${pin_load[@]}" "$bin/loadgen" --url "ws://127.0.0.1:$port/" --idle "$idle" \
        --seconds 120 "${flags[@]}" <"$work/fifo" >"$work/idle.out" 2>"$work/loadgen.err" &
    local loadgen_pid=$!
    extra_pids=("$loadgen_pid")
    exec 3>"$work/fifo"
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
    extra_pids=()
    threads="$(awk '$1 == "Threads:" { print $2 }' "/proc/$server_pid/status")"
    stop_server
    if [ -z "$after" ]; then
        echo "  $server: idle connections FAILED:" >&2
        cat "$work/loadgen.err" >&2
        failed=1
        return 0
    fi
    agreed="$(tr ' ' '\n' <"$work/idle.out" | sed -n 's/^deflate=//p' | head -1)"
    echo "$server ${agreed:-off} $before $after $threads $warmup" >>"$work/idle-$kind"
}

for round in $(seq "$rounds"); do
    for workload in "${workloads[@]}"; do
        case "$workload" in
            *:deflate@*) servers=("${deflate_servers[@]}") ;;
            *:tls@*) servers=("${tls_servers[@]}") ;;
            *) servers=("${plain_servers[@]}") ;;
        esac
        for server in "${servers[@]}"; do
            selected "$server" || continue
            run_load "$round" "$workload" "$server"
        done
        if [[ "$workload" == *:tls@* ]]; then
            for server in "${servers[@]}"; do
                selected "$server" || continue
                run_handshakes "$round" "$workload" "$server"
            done
        fi
    done
    if [ "$idle" -gt 0 ] && [ "$plain_idle" = 1 ]; then
        for server in "${plain_servers[@]}"; do
            selected "$server" || continue
            run_idle "$round" plain "$server"
        done
    fi
    if [ "$idle" -gt 0 ] && [ "$deflate_idle" = 1 ]; then
        for server in weir-mio-off "${deflate_servers[@]}"; do
            selected "$server" || continue
            run_idle "$round" deflate "$server"
        done
    fi
done

range_note=""
[ "$rounds" -gt 1 ] && range_note=", medians of $rounds rounds"
for workload in "${workloads[@]}"; do
    IFS=: read -r conns size mode <<<"${workload%@*}"
    case "${mode:-}" in
        "") what="binary messages" ;;
        json) what="JSON text messages, no compression offered" ;;
        deflate) what="JSON text messages, permessage-deflate" ;;
        tls) what="binary messages over TLS (rustls, ring)" ;;
    esac
    echo "### $conns connections x $size B $what, ${workload#*@} in flight per connection, $seconds s$range_note"
    echo
    [ -f "$work/rows-$workload" ] || { echo "(no successful run)"; echo; continue; }
    # Row columns: server deflate | msgs p50 p99 user sys total srv% lg%
    # other up down up_ratio down_ratio hwm syscalls errors | runs lo hi (of
    # total).
    medians 6 <"$work/rows-$workload" | awk '
        NR == 1 { base_rate = $3; base_cpu = $8 }
        function ratio(v, b) { return (b > 0 && v != "na") ? sprintf("%.2f", v / b) : "-" }
        BEGIN {
            print "| server | deflate agreed | msgs/s | vs weir-mio | p50 ms | p99 ms | server user us/msg | server sys us/msg | server CPU us/msg | vs weir-mio | CPU us/msg min-max (runs) | syscalls/msg | server CPU % | loadgen CPU % | other CPU % | wire B/msg up | wire B/msg down | payload/wire up | payload/wire down | peak RSS MiB | errors |"
            print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        }
        {
            printf "| %s | %s | %d | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %.2f-%.2f (%d) | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %.1f | %d |\n",
                $1, $2, $3, ratio($3, base_rate), $4 / 1000, $5 / 1000, $6, $7, $8,
                ratio($8, base_cpu), $20, $21, $19, ($17 + 0 > 0 ? sprintf("%.2f", $17) : "-"),
                $9, $10, $11, $12, $13, $14, $15, $16 / 1024, $18
        }'
    echo
    [ "${mode:-}" = tls ] || continue
    echo "### TLS handshakes: $hs_conns at a time, each a loop of connect, TLS handshake (full), WebSocket handshake, close; $hs_seconds s$range_note"
    echo
    [ -f "$work/handshakes-$workload" ] || { echo "(no successful run)"; echo; continue; }
    # Row columns: server tls | rate p50 p99 user sys total srv% lg% other
    # errors | runs lo hi (of total).
    medians 6 <"$work/handshakes-$workload" | awk '
        NR == 1 { base_rate = $3; base_cpu = $8 }
        function ratio(v, b) { return (b > 0 && v != "na") ? sprintf("%.2f", v / b) : "-" }
        BEGIN {
            print "| server | handshakes/s | vs weir-mio | p50 ms | p99 ms | server user us/handshake | server sys us/handshake | server CPU us/handshake | vs weir-mio | CPU us/handshake min-max (runs) | server CPU % | loadgen CPU % | other CPU % | errors |"
            print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        }
        {
            printf "| %s | %d | %s | %.2f | %.2f | %.1f | %.1f | %.1f | %s | %.1f-%.1f (%d) | %.0f | %.0f | %.0f | %d |\n",
                $1, $3, ratio($3, base_rate), $4 / 1000, $5 / 1000, $6, $7, $8,
                ratio($8, base_cpu), $14, $15, $13, $9, $10, $11, $12
        }'
    echo
done

if [ "$idle" -gt 0 ] && [ -f "$work/idle-plain" ]; then
    echo "### $idle idle connections (after the handshake), no compression: VmRSS growth$range_note"
    echo
    # Rows: server deflate | before after threads | (worst) runs lo hi.
    awk -v n="$idle" '{ print $1, $2, $3, $4, $5, ($4 - $3) / n, 0 }' "$work/idle-plain" \
        | medians 4 | awk '
        BEGIN {
            print "| server | VmRSS before KiB | VmRSS with idle conns KiB | KiB per idle connection | min-max (runs) | vs weir-mio |"
            print "|---|---:|---:|---:|---:|---:|"
        }
        NR == 1 { base = $6 }
        {
            printf "| %s | %d | %d | %.2f | %.2f-%.2f (%d) | %s |\n", $1, $3, $4, $6,
                $9, $10, $8, (base > 0 ? sprintf("%.2f", $6 / base) : "-")
        }'
    echo
fi
if [ "$idle" -gt 0 ] && [ -f "$work/idle-deflate" ]; then
    echo "### $idle idle connections, each after one $deflate_idle_size-byte JSON echo: VmRSS growth$range_note"
    echo
    echo "weir-mio-off: weir-mio with compression not offered (same exchange, uncompressed)."
    echo "\"warm-up\": VmRSS growth from one connection making the same exchange and"
    echo "closing, before the idle ones open (\"before\" is measured after it)."
    echo
    # Rows: server deflate | before after threads warmup per | (0) runs lo hi.
    awk -v n="$idle" '{ print $1, $2, $3, $4, $5, $6, ($4 - $3) / n, 0 }' "$work/idle-deflate" \
        | medians 5 | awk '
        BEGIN {
            print "| server | deflate agreed | warm-up KiB | VmRSS before KiB | VmRSS with idle conns KiB | KiB per idle connection | min-max (runs) | vs weir-mio-off, KiB |"
            print "|---|---|---:|---:|---:|---:|---:|---:|"
        }
        $1 == "weir-mio-off" { base = $7; have = 1 }
        {
            printf "| %s | %s | %d | %d | %d | %.2f | %.2f-%.2f (%d) | %s |\n", $1, $2, $6, $3,
                $4, $7, $10, $11, $9, (have ? sprintf("%+.2f", $7 - base) : "-")
        }'
    echo
fi
busy="$(busy_processes)"
if [ -n "$busy" ]; then
    echo "WARNING: other busy processes at the end: $busy"
fi
if [ "$quick" = 1 ]; then
    echo "(--quick: $seconds s runs, $idle idle connections: a smoke test, not a measurement)"
fi
exit "$failed"
