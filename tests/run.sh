#!/usr/bin/env bash
# The full test suite, from a fresh machine: installs what the tests need, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."

# Scripts are WebAssembly components built for wasm32-wasip2.
rustup target add wasm32-wasip2 >/dev/null

cargo test --workspace --locked "$@"
