#!/usr/bin/env bash
# Headless-browser test of weir-mio's chat example: builds and starts the
# example on a free loopback port, then drives two Chromium tabs through it
# (tests/browser/chat.test.mjs). Run from anywhere: `bash scripts/browser-test.sh`.
# Installs Debian's Chromium if missing (as root) and playwright-core from
# tests/browser/package-lock.json. Screenshots go to target/browser-test/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x /usr/bin/chromium ]; then
    echo "== installing Debian's chromium"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium
fi

echo "== npm ci (tests/browser)"
(cd tests/browser && npm ci --no-audit --no-fund)

echo "== cargo build --release -p weir-mio --example chat"
cargo build --release -p weir-mio --example chat

port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
mkdir -p target/browser-test
log=target/browser-test/server.log
echo "== starting the chat example on 127.0.0.1:$port (log: $log)"
target/release/examples/chat "127.0.0.1:$port" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

for _ in $(seq 100); do
    if ! kill -0 "$server" 2>/dev/null; then
        echo "the chat example exited before accepting connections:" >&2
        cat "$log" >&2
        exit 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "the chat example does not accept on 127.0.0.1:$port after 10 s" >&2
    cat "$log" >&2
    exit 1
fi

echo "== node tests/browser/chat.test.mjs http://127.0.0.1:$port/"
status=0
node tests/browser/chat.test.mjs "http://127.0.0.1:$port/" || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- server log ($log) ---"
    cat "$log"
fi
exit "$status"
