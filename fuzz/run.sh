#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each, one after the other.
#
#   bash fuzz/run.sh SECONDS [TARGET...]
#
# Installs cargo-fuzz if missing, builds all targets once (release, debug
# assertions, AddressSanitizer: cargo-fuzz's defaults), then runs each target
# on a working copy of its committed seeds (fuzz/target/corpus/<target>, so
# fuzz/corpus keeps only the seed-* files) with the dictionary ws.dict.
# Prints one summary line per target; exits non-zero if any target crashed
# (the failing input is under fuzz/artifacts/<target>/, its log under
# fuzz/target/logs/<target>.log).
set -uo pipefail

SECONDS_EACH=${1:?usage: run.sh SECONDS [TARGET...]}
shift
ALL_TARGETS=(frame_server frame_client handshake_request handshake_response roundtrip utf8
    deflate_frames deflate_negotiation)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi

cd "$(dirname "$0")"
TOOLCHAIN=${FUZZ_TOOLCHAIN:-+nightly}

# cargo-fuzz needs nightly for -Zsanitizer (the machine image has it). If it
# is missing, install it; where no toolchain can be fetched, fall back to
# stable with RUSTC_BOOTSTRAP=1, which accepts the same -Z flags.
if ! cargo "$TOOLCHAIN" --version >/dev/null 2>&1; then
    echo "run.sh: no $TOOLCHAIN toolchain: installing nightly" >&2
    if rustup toolchain install nightly --profile minimal >&2; then
        TOOLCHAIN=+nightly
    else
        echo "run.sh: could not install nightly: using stable with RUSTC_BOOTSTRAP=1" >&2
        TOOLCHAIN=+stable
        export RUSTC_BOOTSTRAP=1
    fi
fi

if ! cargo "$TOOLCHAIN" fuzz --version >/dev/null 2>&1; then
    echo "run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || exit 1
fi

echo "run.sh: building ${#ALL_TARGETS[@]} targets" >&2
mkdir -p target/logs
if ! cargo "$TOOLCHAIN" fuzz build >target/logs/build.log 2>&1; then
    tail -40 target/logs/build.log >&2
    echo "run.sh: build failed" >&2
    exit 1
fi

# Read sizes up to 4064 bytes are describable; allow inputs a bit larger
# than libFuzzer's default of 4096 so several frames fit.
MAX_LEN=${FUZZ_MAX_LEN:-8192}
failed=()
summary=()
for t in "${TARGETS[@]}"; do
    corpus=target/corpus/$t
    mkdir -p "$corpus" "artifacts/$t"
    cp corpus/"$t"/seed-* "$corpus"/ 2>/dev/null || true
    log=target/logs/$t.log
    echo "run.sh: $t for ${SECONDS_EACH}s" >&2
    cargo "$TOOLCHAIN" fuzz run "$t" "$corpus" -- \
        -dict=ws.dict \
        -max_total_time="$SECONDS_EACH" \
        -max_len="$MAX_LEN" \
        -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    covline=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$log" | tail -1)
    cov=$(echo "$covline" | awk '{print $2}')
    ft=$(echo "$covline" | awk '{print $4}')
    corp=$(echo "$covline" | awk '{print $6}')
    if [ $rc -eq 0 ]; then status=ok; else status="CRASH (exit $rc)"; failed+=("$t"); fi
    line=$(printf '%-20s %-16s execs=%-9s cov=%-6s ft=%-6s corpus=%s' \
        "$t" "$status" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")
    summary+=("$line")
    echo "$line"
    if [ $rc -ne 0 ]; then
        grep -m1 -A3 'panicked at' "$log" | sed 's/^/    /'
        grep -m1 -o 'Test unit written to [^ ]*' "$log" | sed 's/^Test unit written to /    input: /'
    fi
done

echo
echo "=== fuzz summary (${SECONDS_EACH}s per target) ==="
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all ${#TARGETS[@]} targets ran without a crash"
