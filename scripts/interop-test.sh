#!/usr/bin/env bash
# Real peers, compression negotiated both ways: installs Python `websockets`
# (pinned in tests/interop/requirements.txt, into target/interop-venv) and
# Node `ws` (tests/interop/package-lock.json, `npm ci`), then runs
# tests/interop_peers/: the peers' clients against weir's servers and
# weir's clients against the peers' servers, with permessage-deflate on;
# and tests/interop_tls.rs: Python over wss:// against weir-std both ways.
# Run from anywhere: `bash scripts/interop-test.sh`.
#
# WEIR_INTEROP=1 makes those tests fail, not skip, when a peer is missing, so
# this script cannot pass without really talking to them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=target/interop-venv
requirements=tests/interop/requirements.txt
# Reinstall when the pinned requirements change.
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
    echo "== python venv $venv (websockets from $requirements)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
fi

lock=tests/interop/package-lock.json
if [ ! -d tests/interop/node_modules/ws ] || ! cmp -s "$lock" tests/interop/node_modules/.weir-lock; then
    echo "== npm ci (tests/interop)"
    (cd tests/interop && npm ci --no-audit --no-fund)
    cp "$lock" tests/interop/node_modules/.weir-lock
fi

echo "== cargo test --test interop_peers --test interop_tls (WEIR_INTEROP=1)"
WEIR_INTEROP=1 cargo test --test interop_peers --test interop_tls -- --nocapture
