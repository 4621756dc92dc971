#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit, property and doc tests.
# Run from anywhere: `bash scripts/test.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test"
cargo test --workspace

echo "== Autobahn testsuite, both roles, sections 1-10 (installs wstest if missing)"
bash autobahn/run.sh --quick

echo "== headless Chromium: two tabs chat through the chat example (installs chromium if missing)"
bash scripts/browser-test.sh

echo "== fuzzing smoke: every cargo-fuzz target for 20 s (installs cargo-fuzz if missing)"
bash fuzz/run.sh 20

echo "== benchmark smoke: every codec bench once, and a 2-second echo load test against weir and the peers"
(cd benches && cargo bench -p weir-bench-codec -- --test)
bash benches/echo.sh --quick
