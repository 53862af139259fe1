#!/usr/bin/env bash
# stampede's benchmark, one command: builds what it needs, then runs bench/bench.py.
# Options are passed on, e.g. `bench/run.sh --reps 5` or `bench/run.sh --soak 600`.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null
# wrk (HTTP/1.1) and h2load (HTTP/2) are the yardsticks, valgrind counts instructions, perf
# samples where the CPU goes and nginx is the target; without them the benchmark runs stampede
# alone against its built-in target.
# k6 joins the table when `k6` is on the PATH (or $K6 names it).
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null || ! command -v h2load >/dev/null \
    || ! command -v valgrind >/dev/null || ! command -v perf >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y wrk nginx-light nghttp2-client openssl valgrind linux-perf >/dev/null || true
    fi
fi
# oha (a Rust load generator on tokio and hyper, no script) is the same-run table's Rust anchor:
# installed from crates.io into cargo's bin directory, outside the repository, when missing.
if [ -z "${OHA:-}" ] && ! command -v oha >/dev/null && [ ! -x "$HOME/.cargo/bin/oha" ]; then
    cargo install oha --version 1.16.0 --locked >/dev/null 2>&1 || echo "oha not installed: the table runs without it" >&2
fi
cargo build --release --locked
# Partial results of a split test, for the scale figures.
cargo build --release --locked -p stampede-runtime --example make_partials
target="${CARGO_TARGET_DIR:-$PWD/target}"
(cd bench/guest && cargo build --release --target-dir "$target/guests")
exec python3 bench/bench.py "$@"
