#!/usr/bin/env bash
# The soak test of the weir-mio server (tools/soak): churning clients that
# connect, exchange random messages and leave cleanly or abruptly, a flooding
# client and a latency probe for DURATION seconds, then a flooding peer that
# must not hold a probe's echo on the same worker, then a server run out of
# file descriptors that must recover by itself. Exits non-zero on FAIL.
#
#   bash scripts/soak.sh [--duration SECS] [any other flag of the driver]
#
# Default duration 600 s (CI runs 60 s from scripts/test.sh). Needs only
# cargo and Linux (/proc); the rest of the driver's flags (`--clients`,
# `--seed`, `--fd-limit`, `--p99-bound-ms`, ...) are listed by
# `target/release/soak --help`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration=600
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration="$2"; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done

cargo build --release -p weir-soak --bins
exec target/release/soak --duration "$duration" "${args[@]}"
