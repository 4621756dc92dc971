#!/usr/bin/env bash
# Autobahn testsuite (RFC 6455 conformance) for weir's servers and clients.
#
#   bash autobahn/run.sh [--role server|client|both] [--testee std|mio|tokio|wss|all]
#                        [--quick | --all] [--cases 'PATTERN ...'] [--timeout SECS]
#
# Builds the testees (examples autobahn-server / autobahn-client of weir-std,
# weir-mio and weir-tokio; the weir-mio server once more over TLS, agent weir-mio-wss,
# with a certificate made for the run), runs `wstest -m fuzzingclient`
# against the servers and the
# `wstest -m fuzzingserver` (loopback only) against the clients, the two
# roles at the same time, then judges the reports with autobahn/check.py,
# which exits non-zero on any failure and rewrites the results table in
# autobahn/README.md. Everything stays on 127.0.0.1. Reports:
# autobahn/reports/{servers,clients}/. See autobahn/README.md.
#
# Sections 12 and 13 (permessage-deflate, 216 cases) are slow: wstest itself
# is the bottleneck (about 17 minutes per testee here). By default (what CI
# runs) the weir-mio server and the weir-std client run all 517 cases, and
# the weir-std server, the weir-mio server over TLS, the weir-mio client and
# the weir-tokio server and client run sections 1-10 and a sample of 31 compression cases covering every
# parameter combination (SAMPLE in check.py). --all runs every case for
# every testee.
#
# TLS (weir-mio-wss): wstest's fuzzingclient takes the wss:// URL of a
# servers entry and connects with Twisted's ssl.ClientContextFactory
# (autobahntestsuite/fuzzing.py, FuzzingClientFactory.nextServer, and
# autobahn/twisted/websocket.py, connectWS): a bare pyOpenSSL context, whose
# verify mode stays SSL_VERIFY_NONE, so the self-signed certificate made
# below is accepted unchecked, and no SNI or ALPN is sent. (A "hostname" key
# in the entry would select ssl.optionsForClientTLS(hostname) instead, which
# verifies against the system's roots and would refuse that certificate; we
# set none. It would not even hold: after the first server, connectWS is
# called without that context factory.) So this run tests weir's TLS
# transport under the suite's framing, not certificate checks, which
# crates/weir-mio/tests/tls.rs covers.
set -euo pipefail

# ---------------------------------------------------------------------------
# EXCLUDE: case patterns (wstest syntax, '*' is a wildcard) left out of every
# run. Empty: weir implements every case. --quick (or AUTOBAHN_QUICK=1) adds
# 12.* and 13.*; --all runs every case whatever this says.
EXCLUDE=()
# SAMPLED: the built-in testees that run sections 12 and 13 only in sample,
# unless --all.
SAMPLED=(weir-std weir-mio-wss weir-mio-client weir-tokio weir-tokio-client)
# ---------------------------------------------------------------------------

usage() {
    cat <<'EOF'
Usage: bash autobahn/run.sh [options]

  --role server|client|both   which side to test (default: both)
  --testee std|mio|tokio|wss|all
                              which weir testees (default: all): std, mio,
                              tokio = that adapter's server and client;
                              wss = the weir-mio
                              server over TLS (agent weir-mio-wss; server role)
  --quick                     exclude sections 12 and 13 (permessage-deflate);
                              also AUTOBAHN_QUICK=1. A fast local check.
  (neither)                   what CI runs: every case for the weir-mio server
                              and the weir-std client; sections 1-10 and a
                              sample of 12 and 13 for the other five
  --all                       run every case for every testee, ignoring
                              EXCLUDE (about an hour here, estimated)
  --cases 'PATTERN ...'       only these cases, e.g. --cases '1.* 2.*' or
                              --cases 5.19 (default: '*'); EXCLUDE still applies
  --timeout SECS              limit for each wstest run / client run (default:
                              3000, 4800 with --all, or AUTOBAHN_TIMEOUT)
  -h, --help                  this text

Environment (to run the harness against another implementation):
  AUTOBAHN_SERVER_CMD    server testee command; {port} is replaced by the port
                         to listen on (127.0.0.1). Replaces weir's servers.
  AUTOBAHN_SERVER_AGENT  its agent name (default: custom-server)
  AUTOBAHN_CLIENT_CMD    client testee command; {url} and {agent} are replaced.
                         Replaces weir's clients.
  AUTOBAHN_CLIENT_AGENT  its agent name (default: custom-client)
With either override, or with --cases, the results table goes to
autobahn/reports/results.{json,md} instead of autobahn/results.json and
autobahn/README.md.
EOF
}

ROLE=both
TESTEE=all
QUICK=${AUTOBAHN_QUICK:-0}
ALL=0
CASES=('*')
TIMEOUT=${AUTOBAHN_TIMEOUT:-}

while [[ $# -gt 0 ]]; do
    case $1 in
        --role) ROLE=${2:?--role needs a value}; shift 2 ;;
        --role=*) ROLE=${1#*=}; shift ;;
        --testee) TESTEE=${2:?--testee needs a value}; shift 2 ;;
        --testee=*) TESTEE=${1#*=}; shift ;;
        --quick) QUICK=1; shift ;;
        --all) ALL=1; shift ;;
        --cases) read -r -a CASES <<<"${2:?--cases needs a value}"; shift 2 ;;
        --cases=*) read -r -a CASES <<<"${1#*=}"; shift ;;
        --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
        --timeout=*) TIMEOUT=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

case $ROLE in server|client|both) ;; *) echo "run.sh: --role must be server, client or both" >&2; exit 2 ;; esac
case $TESTEE in
    std|mio|tokio|wss) TESTEES=("$TESTEE") ;;
    all) TESTEES=(std mio tokio wss) ;;
    *) echo "run.sh: --testee must be std, mio, tokio, wss or all" >&2; exit 2 ;;
esac
if [[ $TESTEE == wss ]]; then
    # A server testee only: weir's clients are not run over TLS (yet).
    [[ $ROLE != client ]] || { echo "run.sh: --testee wss has no client role" >&2; exit 2; }
    ROLE=server
fi
# Sections 12 and 13 of three servers in one wstest run take about an hour.
[[ -n $TIMEOUT ]] || { [[ $ALL == 1 ]] && TIMEOUT=4800 || TIMEOUT=3000; }
[[ $TIMEOUT =~ ^[0-9]+$ ]] || { echo "run.sh: --timeout must be a number of seconds" >&2; exit 2; }
[[ ${#CASES[@]} -gt 0 ]] || { echo "run.sh: --cases is empty" >&2; exit 2; }
if [[ $QUICK == 1 && $ALL == 1 ]]; then
    echo "run.sh: --quick and --all contradict each other" >&2; exit 2
fi
if [[ $ALL == 1 ]]; then
    EXCLUDE=()
    SAMPLED=()
elif [[ $QUICK == 1 ]]; then
    for p in '12.*' '13.*'; do
        [[ " ${EXCLUDE[*]-} " == *" $p "* ]] || EXCLUDE+=("$p")
    done
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
AB=$ROOT/autobahn
REPORTS=$AB/reports
# Python 2.7 for wstest: pyenv's 2.7.18, i.e. `PYENV_VERSION=2.7.18 python`,
# resolved to a path because `python` is not pyenv's shim when this script is
# started from under another pyenv-run program (pyenv exec puts that version's
# bin/ first on PATH, and PYENV_VERSION is then ignored).
PY2_BIN=
if command -v pyenv >/dev/null 2>&1; then
    PY2_BIN=$(PYENV_VERSION=2.7.18 pyenv which python 2>/dev/null) || PY2_BIN=
fi
if [[ -n $PY2_BIN ]]; then PY2=("$PY2_BIN"); else PY2=(env PYENV_VERSION=2.7.18 python); fi

# --- background processes: every one is started in its own process group and
# stopped by that group's id (its PID) on exit, whatever happens.
PIDS=()
TMP=$(mktemp -d "${TMPDIR:-/tmp}/weir-autobahn.XXXXXX")

stop_pid() {
    local pid=$1 i
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}
forget_pid() {
    local keep=() p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}
cleanup() {
    local pid
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$pid"; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_bg LOG COMMAND: run COMMAND (a shell string) in the background, in a
# new session, from the repo root; sets BG_PID.
start_bg() {
    setsid bash -c "$2" </dev/null >"$1" 2>&1 &
    BG_PID=$!
    PIDS+=("$BG_PID")
}

# run_logged LOG CMD...: run CMD with its output in LOG and return its status.
# CMD runs in the background and is waited for, so that INT/TERM reach the
# traps at once (bash delays traps until a foreground child exits) and the
# cleanup stops it. Used with `timeout`, which puts itself and CMD in a new
# process group.
run_logged() {
    local log=$1 pid rc=0
    shift
    "$@" </dev/null >"$log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    forget_pid "$pid"
    return "$rc"
}

# wait_port PORT PID SECS: wait until 127.0.0.1:PORT accepts a connection,
# failing early if PID exits.
wait_port() {
    local port=$1 pid=$2 i
    for ((i = 0; i < $3 * 10; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# free_ports N: N distinct currently free loopback ports.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# json_str ARG: the argument as a JSON string.
json_str() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }

# json_list ARGS...: the arguments as a JSON array of strings.
json_list() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"; }

# fill_spec TEMPLATE OUT JSON: TEMPLATE with the keys of the JSON object replaced.
fill_spec() {
    python3 - "$@" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    spec = json.load(f)
spec.pop("_comment", None)
spec.update(json.loads(sys.argv[3]))
with open(sys.argv[2], "w") as f:
    json.dump(spec, f, indent=2)
EOF
}

# index_has_agent INDEX AGENT
index_has_agent() {
    python3 - "$1" "$2" <<'EOF' 2>/dev/null
import json, sys
with open(sys.argv[1]) as f:
    sys.exit(0 if sys.argv[2] in json.load(f) else 1)
EOF
}

# update_reports PORT AGENT: ask the fuzzingserver to write its reports, as a
# client testee does when it has run all cases (GET /updateReports?agent=).
update_reports() {
    python3 - "$1" "$2" <<'EOF'
import base64, os, socket, sys, urllib.parse
port, agent = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=120)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /updateReports?agent=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n" % (urllib.parse.quote(agent), port, key)).encode())
data = b""
while True:  # the server writes the reports, then sends a close frame
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
    head, sep, rest = data.partition(b"\r\n\r\n")
    if sep and len(rest) >= 2:
        s.sendall(b"\x88\x80" + os.urandom(4))  # masked empty close frame
        break
s.close()
sys.exit(0 if data.startswith(b"HTTP/1.1 101") else 1)
EOF
}

ERRORS=()
error() { echo "!! $*" >&2; ERRORS+=("$*"); }
log_tail() { echo "---- last lines of $1:" >&2; tail -n 20 "$1" >&2 || true; echo "----" >&2; }

# --- wstest (Python 2): install it when missing.
if ! "${PY2[@]}" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' >/dev/null 2>&1; then
    echo "run.sh: the Autobahn testsuite (wstest) needs Python 2.7, run here as" >&2
    echo "        'PYENV_VERSION=2.7.18 python', and that does not work on this machine:" >&2
    echo "        install pyenv's CPython 2.7.18 first ('pyenv install 2.7.18')." >&2
    exit 2
fi
WSTEST="$("${PY2[@]}" -m site --user-base)/bin/wstest"
if [[ ! -x $WSTEST ]] || ! "${PY2[@]}" -c 'import autobahntestsuite' >/dev/null 2>&1; then
    echo "== installing wstest: PYENV_VERSION=2.7.18 python -m pip install --user autobahntestsuite"
    "${PY2[@]}" -m pip install --user autobahntestsuite
fi
[[ -x $WSTEST ]] || { echo "run.sh: wstest not found at $WSTEST after installing" >&2; exit 2; }

# --- testees: parallel arrays of agent name, command template and (servers)
# URL scheme.
S_AGENTS=() S_CMDS=() S_SCHEMES=() C_AGENTS=() C_CMDS=()
BUILD=()
if [[ $ROLE != client ]]; then
    if [[ -n ${AUTOBAHN_SERVER_CMD:-} ]]; then
        S_AGENTS=("${AUTOBAHN_SERVER_AGENT:-custom-server}") S_CMDS=("$AUTOBAHN_SERVER_CMD")
        S_SCHEMES=(ws)
    else
        for t in "${TESTEES[@]}"; do
            if [[ $t == wss ]]; then
                # The weir-mio server over TLS, with the certificate made below.
                S_AGENTS+=(weir-mio-wss) S_SCHEMES+=(wss)
                S_CMDS+=("'$TMP/bin/mio-server' {port} --tls '$TMP/tls/cert.pem' '$TMP/tls/key.pem'")
                [[ " ${BUILD[*]-} " == *" mio "* ]] || BUILD+=(mio)
                continue
            fi
            S_AGENTS+=("weir-$t") S_CMDS+=("'$TMP/bin/$t-server' {port}") S_SCHEMES+=(ws)
            [[ " ${BUILD[*]-} " == *" $t "* ]] || BUILD+=("$t")
        done
    fi
fi
if [[ $ROLE != server ]]; then
    if [[ -n ${AUTOBAHN_CLIENT_CMD:-} ]]; then
        C_AGENTS=("${AUTOBAHN_CLIENT_AGENT:-custom-client}") C_CMDS=("$AUTOBAHN_CLIENT_CMD")
    else
        for t in "${TESTEES[@]}"; do
            [[ $t != wss ]] || continue # weir-mio's client has no TLS yet
            C_AGENTS+=("weir-$t-client") C_CMDS+=("'$TMP/bin/$t-client' {url} {agent}")
            [[ " ${BUILD[*]-} " == *" $t "* ]] || BUILD+=("$t")
        done
    fi
fi

ALL_AGENTS=("${S_AGENTS[@]+"${S_AGENTS[@]}"}" "${C_AGENTS[@]+"${C_AGENTS[@]}"}")
# Per-agent exclusions: the compression cases outside the sample, for the
# sampled built-in testees that take part in this run.
AGENT_EXCLUDES='{}'
CHECK_AGENT_EXCLUDES=()
SAMPLE_EXCLUDED=$(python3 "$AB/check.py" --sample-excludes)
for agent in "${SAMPLED[@]+"${SAMPLED[@]}"}"; do
    [[ " ${ALL_AGENTS[*]} " == *" $agent "* ]] || continue
    [[ -z ${AUTOBAHN_SERVER_CMD:-}${AUTOBAHN_CLIENT_CMD:-} ]] || continue
    read -r -a ids <<<"$SAMPLE_EXCLUDED"
    AGENT_EXCLUDES=$(python3 -c 'import json, sys
d = json.loads(sys.argv[1]); d[sys.argv[2]] = sys.argv[3:]; print(json.dumps(d))' \
        "$AGENT_EXCLUDES" "$agent" "${ids[@]}")
    CHECK_AGENT_EXCLUDES+=(--agent-exclude "$agent" "${ids[@]}")
done
echo "== Autobahn: role=$ROLE testees: ${ALL_AGENTS[*]}"
echo "   cases: ${CASES[*]}   excluded: ${EXCLUDE[*]:-(none)}   timeout: ${TIMEOUT}s"
[[ $AGENT_EXCLUDES == '{}' ]] ||
    echo "   sections 12 and 13 in sample only for: $(python3 -c 'import json, sys; print(" ".join(json.loads(sys.argv[1])))' "$AGENT_EXCLUDES")"

# --- build. The packages' example binaries share names, so build one package
# at a time and copy its binaries out before building the next.
if [[ ${#BUILD[@]} -gt 0 ]]; then
    TARGET=$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    mkdir -p "$TMP/bin"
    for t in "${BUILD[@]}"; do
        echo "== cargo build --release -p weir-$t --examples"
        cargo build --release -p "weir-$t" --examples
        for kind in server client; do
            bin=$TARGET/release/examples/autobahn-$kind
            if [[ ! -x $bin ]]; then
                echo "run.sh: weir-$t built no example autobahn-$kind ($bin)" >&2; exit 2
            fi
            cp "$bin" "$TMP/bin/$t-$kind"
        done
    done
fi

# --- TLS: a self-signed certificate for 127.0.0.1, made for this run in the
# temporary directory (removed on exit; no key is ever committed). An
# end-entity certificate (CA:FALSE), as rustls wants; wstest does not check it
# (see the top of this file).
if [[ " ${S_AGENTS[*]-} " == *" weir-mio-wss "* ]]; then
    command -v openssl >/dev/null 2>&1 ||
        { echo "run.sh: openssl is needed to make the weir-mio-wss certificate" >&2; exit 2; }
    mkdir -p "$TMP/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -addext "basicConstraints=critical,CA:FALSE" \
        -keyout "$TMP/tls/key.pem" -out "$TMP/tls/cert.pem" >"$TMP/tls/openssl.log" 2>&1 ||
        { cat "$TMP/tls/openssl.log" >&2; echo "run.sh: openssl req failed" >&2; exit 2; }
fi

# --- servers: start every server testee, then one fuzzingclient run tests them
# all (so that reports/servers/index.json holds every server agent).
run_servers() {
    local out=$REPORTS/servers i
    rm -rf "$out" && mkdir -p "$out"
    local ports
    read -r -a ports <<<"$(free_ports "${#S_AGENTS[@]}")"
    local pids=() started=() entries=()
    for i in "${!S_AGENTS[@]}"; do
        local agent=${S_AGENTS[$i]} port=${ports[$i]}
        local cmd=${S_CMDS[$i]//\{port\}/$port}
        local log=$out/testee-$agent.log
        echo "== server testee $agent on 127.0.0.1:$port: $cmd"
        start_bg "$log" "$cmd"
        pids+=("$BG_PID")
        if wait_port "$port" "$BG_PID" 60; then
            entries+=("$agent" "${S_SCHEMES[$i]}://127.0.0.1:$port")
            started+=(1)
        else
            started+=(0)
            error "server testee $agent never accepted connections on 127.0.0.1:$port"
            log_tail "$log"
        fi
    done
    if [[ ${#entries[@]} -gt 0 ]]; then
        local servers
        servers=$(python3 -c '
import json, sys
a = sys.argv[1:]
print(json.dumps([{"agent": a[i], "url": a[i + 1]} for i in range(0, len(a), 2)]))' "${entries[@]}")
        fill_spec "$AB/fuzzingclient.json" "$TMP/fuzzingclient.json" "{
            \"outdir\": $(json_str "$out"),
            \"servers\": $servers,
            \"cases\": $(json_list "${CASES[@]}"),
            \"exclude-cases\": $(json_list "${EXCLUDE[@]+"${EXCLUDE[@]}"}"),
            \"exclude-agent-cases\": $AGENT_EXCLUDES}"
        echo "== wstest -m fuzzingclient (log: ${out#"$ROOT"/}/wstest.log)"
        local rc=0 t0=$SECONDS
        run_logged "$out/wstest.log" \
            timeout -k 10 "$TIMEOUT" "$WSTEST" -m fuzzingclient -s "$TMP/fuzzingclient.json" || rc=$?
        if [[ $rc == 124 || $rc == 137 ]]; then
            error "wstest fuzzingclient timed out after ${TIMEOUT}s"
        elif [[ $rc != 0 ]]; then
            error "wstest fuzzingclient exited with status $rc"; log_tail "$out/wstest.log"
        fi
        echo "   done in $((SECONDS - t0))s"
    fi
    for i in "${!pids[@]}"; do
        if [[ ${started[$i]} == 1 ]] && ! kill -0 "${pids[$i]}" 2>/dev/null; then
            error "server testee ${S_AGENTS[$i]} exited during the run (crash?)"
            log_tail "$out/testee-${S_AGENTS[$i]}.log"
        fi
        stop_pid "${pids[$i]}"
    done
}

# --- clients: one fuzzingserver (loopback only); each client testee runs
# against it in turn; its reports accumulate in reports/clients/index.json.
run_clients() {
    local out=$REPORTS/clients port
    rm -rf "$out" && mkdir -p "$out"
    port=$(free_ports 1)
    fill_spec "$AB/fuzzingserver.json" "$TMP/fuzzingserver.json" "{
        \"url\": \"ws://127.0.0.1:$port\",
        \"outdir\": $(json_str "$out"),
        \"cases\": $(json_list "${CASES[@]}"),
        \"exclude-cases\": $(json_list "${EXCLUDE[@]+"${EXCLUDE[@]}"}"),
        \"exclude-agent-cases\": $AGENT_EXCLUDES}"
    echo "== wstest -m fuzzingserver on 127.0.0.1:$port (log: ${out#"$ROOT"/}/wstest.log)"
    start_bg "$out/wstest.log" \
        "exec $(printf '%q ' "${PY2[@]}")'$AB/wstest_loopback.py' -m fuzzingserver -s '$TMP/fuzzingserver.json' -u 0"
    local server=$BG_PID
    if ! wait_port "$port" "$server" 60; then
        error "the fuzzingserver never accepted connections on 127.0.0.1:$port"
        log_tail "$out/wstest.log"
        stop_pid "$server"
        return
    fi
    local i
    for i in "${!C_AGENTS[@]}"; do
        local agent=${C_AGENTS[$i]}
        local cmd=${C_CMDS[$i]//\{url\}/ws://127.0.0.1:$port}
        cmd=${cmd//\{agent\}/$agent}
        local log=$out/testee-$agent.log rc=0 t0=$SECONDS
        echo "== client testee $agent: $cmd"
        run_logged "$log" timeout -k 10 "$TIMEOUT" bash -c "$cmd" || rc=$?
        if [[ $rc == 124 || $rc == 137 ]]; then
            error "client testee $agent timed out after ${TIMEOUT}s"; log_tail "$log"
        elif [[ $rc != 0 ]]; then
            echo "   (client testee $agent exited with status $rc; log: ${log#"$ROOT"/})"
        fi
        echo "   done in $((SECONDS - t0))s"
        if ! kill -0 "$server" 2>/dev/null; then
            error "the fuzzingserver died during $agent's run"; log_tail "$out/wstest.log"
            break
        fi
        if ! index_has_agent "$out/index.json" "$agent"; then
            error "client testee $agent did not call /updateReports?agent=$agent; the harness asks for the report itself"
            update_reports "$port" "$agent" || error "could not get the fuzzingserver to write reports for $agent"
        fi
    done
    stop_pid "$server"
}

# run_role NAME FUNCTION: runs one role in a background subshell that stops
# its own processes on exit and hands its harness errors back in a file.
ROLE_PIDS=()
run_role() {
    (
        PIDS=()
        ERRORS=()
        trap 'exit 143' TERM INT
        trap 'for pid in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$pid"; done
              printf "%s\n" "${ERRORS[@]+"${ERRORS[@]}"}" >"$TMP/errors-$1"' EXIT
        "$2"
    ) &
    ROLE_PIDS+=("$!")
    PIDS+=("$!")
}
[[ $ROLE == client ]] || run_role servers run_servers
[[ $ROLE == server ]] || run_role clients run_clients
for pid in "${ROLE_PIDS[@]}"; do
    wait "$pid" || true
    forget_pid "$pid"
done
for name in servers clients; do
    [[ -s $TMP/errors-$name ]] || continue
    while IFS= read -r line; do
        [[ -z $line ]] || ERRORS+=("$line")
    done <"$TMP/errors-$name"
done

# --- judge.
CHECK=(python3 "$AB/check.py" --cases "${CASES[@]}" --exclude "${EXCLUDE[@]+"${EXCLUDE[@]}"}"
    "${CHECK_AGENT_EXCLUDES[@]+"${CHECK_AGENT_EXCLUDES[@]}"}")
if [[ ${#S_AGENTS[@]} -gt 0 ]]; then
    CHECK+=(--report server "$REPORTS/servers/index.json" "$(IFS=,; echo "${S_AGENTS[*]}")")
fi
if [[ ${#C_AGENTS[@]} -gt 0 ]]; then
    CHECK+=(--report client "$REPORTS/clients/index.json" "$(IFS=,; echo "${C_AGENTS[*]}")")
fi
if [[ -n ${AUTOBAHN_SERVER_CMD:-}${AUTOBAHN_CLIENT_CMD:-} || ${CASES[*]} != '*' ]]; then
    # Not weir, or not a full run: keep the committed results out of it.
    CHECK+=(--results "$REPORTS/results.json" --readme "$REPORTS/results.md")
fi
echo "== python3 autobahn/check.py"
rc=0
"${CHECK[@]}" || rc=$?
[[ ${#S_AGENTS[@]} == 0 ]] || echo "Server reports: ${REPORTS#"$ROOT"/}/servers/index.html"
[[ ${#C_AGENTS[@]} == 0 ]] || echo "Client reports: ${REPORTS#"$ROOT"/}/clients/index.html"
if [[ ${#ERRORS[@]} -gt 0 ]]; then
    echo "Harness problems:" >&2
    printf '  %s\n' "${ERRORS[@]}" >&2
    [[ $rc != 0 ]] || rc=1
fi
exit "$rc"
