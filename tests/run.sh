#!/usr/bin/env bash
# The full test suite, from a fresh machine: installs what the tests need, then runs them.
# `tests/run.sh --install-only` installs and stops (CI does that before building anything).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Scripts are WebAssembly components built for wasm32-wasip2.
rustup target add wasm32-wasip2 >/dev/null

# C for wasm: Debian's clang and wasi-libc. The JavaScript engine (QuickJS, built by build.rs)
# needs them, and so do C scripts, which also need wit-bindgen's C generator.
if ! command -v clang-19 >/dev/null || ! command -v llvm-ar-19 >/dev/null || [ ! -f /usr/lib/wasm32-wasi/crt1-reactor.o ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y clang-19 lld-19 llvm-19 wasi-libc libclang-rt-19-dev-wasm32
fi
if ! wit-bindgen --version 2>/dev/null | grep -q '0\.63\.'; then
    cargo install wit-bindgen-cli@0.63.0 --locked --no-default-features --features c
fi
# Python scripts: stampede installs componentize-py (PyPI) into its cache on first use; it needs
# python3 with venv.
command -v python3 >/dev/null && python3 -c 'import venv' || as_root apt-get install -y python3 python3-venv

if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi
cargo test --workspace --locked "$@"
