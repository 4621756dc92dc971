#!/usr/bin/env bash
# The cluster tests: weir-mio servers sharing rooms, broadcasts and sends
# over a real Redis, through a Redis outage and back, and a node killed
# outright (crates/weir-mio/tests/cluster.rs, feature `redis`; the chat
# example is that node). Run from anywhere:
# `bash scripts/cluster-test.sh`.
#
# Installs Debian's redis-server if missing (as root), and stops the
# service the package starts: each test runs a redis-server of its own on a
# free loopback port, without persistence, and kills it when done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v redis-server >/dev/null; then
    echo "== installing Debian's redis-server"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y redis-server
    $sudo service redis-server stop >/dev/null 2>&1 || true
fi

echo "== cargo clippy -p weir-mio --features redis"
cargo clippy -p weir-mio --all-targets --features redis -- -D warnings

echo "== cargo build -p weir-mio --features redis --example chat (a node the tests kill)"
cargo build -p weir-mio --features redis --example chat

echo "== cargo test -p weir-mio --features redis --test cluster ($(redis-server --version | cut -d' ' -f1-3))"
cargo test -p weir-mio --features redis --test cluster
