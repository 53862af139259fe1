#!/usr/bin/env bash
# A short run of every cargo-fuzz target (libFuzzer, coverage-guided) on the default toolchain.
# Stable Rust has no sanitizers, so this builds with `-s none`: it finds panics, overflows
# (debug assertions are on), hangs and runaway memory, not undefined behaviour; for that, run a
# target under nightly with AddressSanitizer (see the README). Exits non-zero on any finding,
# which libFuzzer leaves in fuzz/artifacts/TARGET/.
#
#   fuzz/smoke.sh [SECONDS per target, default 20]
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-20}"

if ! cargo fuzz --version 2>/dev/null | grep -q '^cargo-fuzz 0\.13\.'; then
    cargo install cargo-fuzz@0.13.2 --locked
fi
cargo fuzz build -s none
for target in $(cargo fuzz list); do
    echo "== fuzzing $target for ${secs}s"
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: runaway memory.
    cargo fuzz run -s none "$target" -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
done
