#!/usr/bin/env bash
# stampede's benchmark, one command: builds what it needs, then runs bench/bench.py.
# Options are passed on, e.g. `bench/run.sh --reps 5` or `bench/run.sh --soak 600`.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null
# wrk (HTTP/1.1) and h2load (HTTP/2) are the yardsticks and nginx the target; without them the
# benchmark runs stampede alone against its built-in target.
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null || ! command -v h2load >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y wrk nginx-light nghttp2-client openssl >/dev/null || true
    fi
fi
cargo build --release --locked
# Partial results of a split test, for the scale figures.
cargo build --release --locked -p stampede-runtime --example make_partials
(cd bench/guest && cargo build --release --target-dir ../../target/guests)
exec python3 bench/bench.py "$@"
