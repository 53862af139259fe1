#!/usr/bin/env bash
# What the streaming outputs cost (json, csv, remote-write, OTLP, all four) against none:
# instructions per request (callgrind) and CPU per request, with ratios; `--soak 600` adds a
# 10-minute run with all four on, its RSS every 10 s. Options are passed on to bench/outputs.py,
# e.g. `bench/outputs.sh --only instr` or `bench/outputs.sh --only cpu --soak 600`.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in nginx valgrind; do
    command -v $tool >/dev/null || echo "$tool is missing: apt-get install nginx-light valgrind" >&2
done
rustup target add wasm32-wasip2 >/dev/null
cargo build --release --locked
target="${CARGO_TARGET_DIR:-$PWD/target}"
(cd bench/guest && cargo build --release --target-dir "$target/guests")
exec python3 bench/outputs.py "$@"
