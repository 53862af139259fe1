#!/usr/bin/env bash
# Builds a stampede script written in C into a component.
#
#   examples/c-quickstart/build.sh [SCRIPT.c] [OUT.wasm]
#
# Tools (Debian 12):
#   apt-get install -y clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32
#   cargo install wit-bindgen-cli@0.63.0 --locked --no-default-features --features c
#   rustup (for wasm-component-ld, the linker Rust itself uses for wasm32-wasip2)
#
# Steps:
#   1. wit-bindgen c   the world `script` -> gen/script.{h,c} and gen/script_component_type.o
#                      (the world's type, in a custom section the linker reads)
#   2. clang-19        C -> a wasm32-wasi (WASI preview1) reactor module, linked by
#                      wasm-component-ld, which adapts it to WASI 0.2 and wraps it into a
#                      component in the same step. (Debian's wasi-libc has no wasm32-wasip2
#                      sysroot, hence preview1 plus the adapter.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SRC=${1:-$here/quickstart.c}
OUT=${2:-${SRC%.c}.wasm}
WIT=${WIT:-$here/../../host-api/wit}
CC=${CC:-clang-19}
GEN=$(mktemp -d)
trap 'rm -rf "$GEN"' EXIT

LINKER=$(find "$(rustc --print sysroot)/lib/rustlib" -name wasm-component-ld -type f | head -n 1)
if [ -z "$LINKER" ]; then
    echo "wasm-component-ld not found in the Rust toolchain: update Rust (1.82 or later)" >&2
    exit 1
fi
if ! command -v wit-bindgen >/dev/null; then
    echo "wit-bindgen not found: cargo install wit-bindgen-cli@0.63.0 --locked --no-default-features --features c" >&2
    exit 1
fi

wit-bindgen c "$WIT" --world script --out-dir "$GEN" >/dev/null 2>&1 || wit-bindgen c "$WIT" --world script --out-dir "$GEN"
# -mexec-model=reactor links crt1-reactor.o (an _initialize export, no _start): the component
# is a library whose exports stampede calls.
"$CC" --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra \
    -I"$GEN" "$SRC" "$GEN/script.c" "$GEN/script_component_type.o" \
    -fuse-ld="$LINKER" -Wl,--strip-debug -o "$OUT"
echo "built $OUT ($(stat -c %s "$OUT") bytes)"
