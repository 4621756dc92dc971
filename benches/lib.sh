# Shell helpers shared by the load-test scripts (echo.sh, broadcast.sh,
# callgrind.sh): sourced, never run. After `source "$here/lib.sh"` (with
# `here` the benches/ directory), a script calls `set_up` (or the three
# steps it runs), then the others as it needs them.
#
# Variables a script may read after the calls: bin (the release binaries),
# work (a temporary directory, removed at exit), pin_server / pin_load /
# pinning (CPU pinning), port (the last port handed out), server_pid,
# node_note (why Node's ws is missing, if it is).

# set_up: build_bins, set_up_pinning and set_up_work.
set_up() {
    build_bins
    set_up_pinning
    set_up_work
}

# build_bins: builds benches/echo in release (every server and generator)
# and sets bin to the directory of the binaries.
build_bins() {
    echo "building benches/echo (release)..." >&2
    (cd "$here" && cargo build --release -q -p weir-bench-echo)
    local target_dir
    target_dir="$(cd "$here" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
        | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    bin="${target_dir:-$here/target}/release"
}

# set_up_pinning: the server on CPU 0 and the load generator on CPU 1
# (`taskset -c`) when the machine has two CPUs or more; sets pin_server,
# pin_load (command prefixes, maybe empty) and pinning (a description).
set_up_pinning() {
    if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
        pin_server=(taskset -c 0)
        pin_load=(taskset -c 1)
        pinning="server on CPU 0, load generator on CPU 1"
    else
        pin_server=()
        pin_load=()
        pinning="none (fewer than 2 CPUs or no taskset)"
    fi
}

# set_up_work: a temporary directory in work, and an exit trap that stops
# the server (server_pid) and any other process whose pid is in
# extra_pids, closes fd 3 and removes the directory.
set_up_work() {
    work="$(mktemp -d)"
    server_pid=""
    extra_pids=()
    trap clean_up EXIT
}

clean_up() {
    local pid
    for pid in "${extra_pids[@]}" "$server_pid"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    exec 3>&- 2>/dev/null || true
    rm -rf "$work"
}

# install_node_ws: Node's ws, installed the first time from benches/node's
# lock file (`npm ci`). Returns 0 when `node` and ws are there; otherwise
# sets node_note to the reason, prints it on stderr, and returns 1.
install_node_ws() {
    node_note=""
    if ! command -v node >/dev/null; then
        node_note="node-ws skipped: node is not installed"
    elif [ ! -d "$here/node/node_modules/ws" ]; then
        echo "installing Node's ws (npm ci in benches/node)..." >&2
        if ! (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error >&2); then
            node_note="node-ws skipped: npm ci failed in benches/node"
        fi
    fi
    [ -z "$node_note" ] && return 0
    echo "$node_note" >&2
    return 1
}

# node_versions: "node vX, ws Y" when node is installed.
node_versions() {
    command -v node >/dev/null || return 0
    echo "node $(node --version)$( [ -f "$here/node/node_modules/ws/package.json" ] \
        && sed -n 's/^ *"version": "\([^"]*\)".*/, ws \1/p' "$here/node/node_modules/ws/package.json")"
}

# install_perf: makes sure `perf` can count system calls (the
# raw_syscalls:sys_enter tracepoint), installing linux-perf with apt-get
# when perf is missing. Returns 0 if it can.
install_perf() {
    if ! command -v perf >/dev/null && command -v apt-get >/dev/null; then
        echo "installing linux-perf (apt-get), to count system calls..." >&2
        local as_root=()
        [ "$(id -u)" = 0 ] || as_root=(sudo -n)
        "${as_root[@]}" apt-get install -y -qq linux-perf >&2 \
            || { "${as_root[@]}" apt-get update -qq >&2 \
                && "${as_root[@]}" apt-get install -y -qq linux-perf >&2; } || true
    fi
    perf stat -x, -e raw_syscalls:sys_enter -o /dev/null -- true 2>/dev/null
}

# set_up_syscall_counting SECONDS PER: sets syscall_counting (1 if perf
# can count system calls and SECONDS is not 0, installing it if need be)
# and syscall_note, which describes the counted runs (SECONDS each, one
# PER, e.g. "server and workload").
set_up_syscall_counting() {
    syscall_counting=0
    syscall_note="not counted (--syscall-seconds 0)"
    [ "$1" != 0 ] || return 0
    if install_perf; then
        syscall_counting=1
        syscall_note="perf stat -e raw_syscalls:sys_enter, in a separate $1 s run per $2"
    else
        syscall_note="not counted: perf cannot count the raw_syscalls:sys_enter tracepoint here"
    fi
}

# count_syscalls_of PID COMMAND...: runs COMMAND while perf counts the
# system calls of process PID (all its threads); prints COMMAND's output,
# then a line "SYSCALLS n" (n = "na" if perf counted nothing).
count_syscalls_of() {
    local pid="$1"
    shift
    rm -f "$work/perf.out"
    perf stat -x, -e raw_syscalls:sys_enter -p "$pid" -o "$work/perf.out" &
    local perf_pid=$!
    sleep 0.2 # perf attaches to the server's threads
    "$@" || true
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    awk -F, '$3 ~ /raw_syscalls:sys_enter/ { print "SYSCALLS", $1; found = 1 }
        END { if (!found) print "SYSCALLS na" }' "$work/perf.out" 2>/dev/null \
        || echo "SYSCALLS na"
}

# syscalls_per KEY OUTPUT: from the OUTPUT of count_syscalls_of around a
# generator, the system calls per unit of the RESULT line's KEY (e.g.
# messages), or "na".
syscalls_per() {
    local result calls
    result="$(grep '^RESULT' <<<"$2")" || true
    calls="$(sed -n 's/^SYSCALLS //p' <<<"$2")"
    awk -v c="$calls" -v m="$(field "$result" "$1")" \
        'BEGIN { if (c != "na" && c != "" && m > 0) printf "%.2f\n", c / m; else print "na" }'
}

# next_free_port: sets port to the first port above the current one (or
# above a random start in 20000-39999) that nothing listens on.
next_free_port() {
    port=$(( ${port:-$((20000 + RANDOM % 20000))} + 1 ))
    while (exec 9<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        port=$((port + 1))
    done
}

# launch_server TRIES COMMAND...: starts COMMAND (the server, told its
# port) pinned as the server, its output in $work/server.log, and waits
# (TRIES x 0.1 s at most) until it says it is listening; sets server_pid.
# Exits the script if it does not start.
launch_server() {
    local tries="$1"
    shift
    # Emptied first: the background job may open (and truncate) it only
    # after wait_listening has read the previous server's "listening".
    : >"$work/server.log"
    "${pin_server[@]}" "$@" >"$work/server.log" 2>&1 &
    server_pid=$!
    wait_listening "$work/server.log" "$server_pid" "$tries" || exit 1
}

# stop_server: stops the server (SIGTERM) and waits for it to end.
stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

# wait_listening LOG PID TRIES: waits until the server PID has written
# "listening" to LOG, checking every 0.1 s at most TRIES times. Returns 1
# (after printing LOG) if it did not, or if the server died.
wait_listening() {
    local log="$1" pid="$2" tries="$3"
    for _ in $(seq "$tries"); do
        grep -q listening "$log" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "the server did not start:" >&2
    cat "$log" >&2
    return 1
}

# field LINE KEY: the value of KEY=value in a RESULT line.
field() {
    tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}

# busy_ticks: CPU time used by the whole machine so far, in clock ticks.
busy_ticks() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# other_pct BUSY_BEFORE BUSY_AFTER START END LINE: the CPU % the rest of
# the machine used during a run (all CPUs, minus the server and the load
# generator, as the RESULT line LINE reports them in server_cpu_pct and
# loadgen_cpu_pct).
other_pct() {
    awk -v a="$1" -v b="$2" -v s="$3" -v e="$4" -v hz="$(getconf CLK_TCK)" \
        -v srv="$(field "$5" server_cpu_pct)" -v lg="$(field "$5" loadgen_cpu_pct)" \
        'BEGIN { o = (b - a) * 100 / hz / (e - s) - srv - lg; printf "%.0f", o < 0 ? 0 : o }'
}

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

# wait_quiet: waits (at most 30 s) until no other process uses over 10 % of
# a CPU, so that runs do not overlap other work on the machine; not when
# quick is 1.
wait_quiet() {
    [ "${quick:-0}" = 1 ] && return 0
    for _ in $(seq 30); do
        [ -z "$(busy_processes)" ] && return 0
        sleep 1
    done
    echo "  (machine still busy; measuring anyway)" >&2
}

# machine_header: date, CPUs and kernel, and the load average, for the top
# of a report.
machine_header() {
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
        "kernel $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# medians RANGE_COL: the median and range of columns, per server, over the
# rounds: reads rows "SERVER TEXT NUM NUM ...", prints "SERVER TEXT
# MEDIANS... WORST RUNS MIN MAX" where MIN and MAX are those of column
# RANGE_COL (1-based, numeric columns counted from 3) and WORST the largest
# value of the last column (errors), in the order servers first appear.
# Text fields are taken from the first row.
medians() {
    awk -v range_col="$1" '
        function median(list,    n, v, i, j, t) {
            n = split(list, v, " ")
            for (i = 2; i <= n; i++) {
                t = v[i] + 0
                for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
                v[j + 1] = t
            }
            if (n % 2) return v[(n + 1) / 2]
            return (v[n / 2] + v[n / 2 + 1]) / 2
        }
        {
            if (!($1 in runs)) { order[++count] = $1; text[$1] = $2; width = NF }
            runs[$1]++
            for (c = 3; c <= NF; c++) values[$1, c] = values[$1, c] " " $c
            v = $(range_col + 2) + 0
            if (runs[$1] == 1 || v < lo[$1]) lo[$1] = v
            if (runs[$1] == 1 || v > hi[$1]) hi[$1] = v
            if ($NF + 0 > worst[$1] + 0) worst[$1] = $NF
        }
        END {
            for (k = 1; k <= count; k++) {
                s = order[k]
                line = s " " text[s]
                for (c = 3; c < width; c++) line = line " " median(values[s, c])
                line = line " " (worst[s] + 0) " " runs[s] " " lo[s] " " hi[s]
                print line
            }
        }'
}
