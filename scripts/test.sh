#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit, property and doc tests (with
# and without permessage-deflate in the core), the Autobahn testsuite, the
# real-peer interop tests, the cluster tests over Redis, a 60 s soak of the
# server API, the headless-browser chat test, and the fuzzing and benchmark
# smokes. Run from anywhere:
# `bash scripts/test.sh`.
#
# The Autobahn run takes the longest (wstest, single-threaded Python 2, is its
# bottleneck) and needs little of this script's CPU, so it runs in the
# background, from right after the cargo tests, while the other suites run;
# its log is printed when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

autobahn_pid=
stop_autobahn() {
    if [ -n "$autobahn_pid" ] && kill -0 "$autobahn_pid" 2>/dev/null; then
        kill -TERM "$autobahn_pid" 2>/dev/null || true
        wait "$autobahn_pid" 2>/dev/null || true
    fi
}
trap stop_autobahn EXIT

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings (workspace; weir-proto also without deflate, and with every feature)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p weir-proto --all-targets -- -D warnings
cargo clippy -p weir-proto --all-targets --all-features -- -D warnings

echo "== cargo test (workspace; weir-proto also without deflate, and its unit tests with every feature)"
cargo test --workspace
cargo test -p weir-proto
cargo test -p weir-proto --all-features --lib

mkdir -p target
autobahn_log=target/autobahn.log
echo "== Autobahn testsuite, both roles, in the background (log: $autobahn_log)"
echo "   all 517 cases for the weir-mio server and the weir-std client; sections 1-10"
echo "   and a sample of 12 and 13 for the weir-std server, the weir-mio server over"
echo "   TLS (wss://), the weir-mio client, and the weir-tokio server and client"
bash autobahn/run.sh >"$autobahn_log" 2>&1 &
autobahn_pid=$!

echo "== interop with real peers: Python websockets and Node ws, compression on (installs them if missing)"
bash scripts/interop-test.sh

echo "== cluster: two servers sharing rooms over a real Redis, through an outage (installs redis-server if missing)"
bash scripts/cluster-test.sh

echo "== soak: 60 s of churning clients, a flood and a latency probe against the server API, then a low fd limit"
bash scripts/soak.sh --duration 60

echo "== headless Chromium: two tabs chat through the chat example (installs chromium if missing)"
bash scripts/browser-test.sh

echo "== fuzzing smoke: every cargo-fuzz target for 20 s (installs cargo-fuzz if missing)"
bash fuzz/run.sh 20

echo "== benchmark smoke: every codec bench once, and a short echo load test against weir and the peers"
(cd benches && cargo bench -p weir-bench-codec -- --test)
bash benches/echo.sh --quick
bash benches/broadcast.sh --quick
bash benches/fanout.sh --quick

echo "== waiting for the Autobahn testsuite"
status=0
wait "$autobahn_pid" || status=$?
autobahn_pid=
cat "$autobahn_log"
if [ "$status" -ne 0 ]; then
    echo "Autobahn testsuite failed (status $status)" >&2
    exit "$status"
fi
echo "== all suites passed"
