#!/usr/bin/env bash
# Builds stampede's container image from the Containerfile with podman, without a registry,
# and prints its name: `tests/container.sh [TAG]`.
#
# No container registry is reachable from the machines the tests run on, so the image to
# build in is made here: a Debian bookworm root filesystem from debootstrap (Debian's own
# mirror) with a C compiler, and the Rust toolchain and crate cache of this machine mounted
# into the build, which runs with --network=none and `cargo build --offline`. The image's
# build directory is kept in target/container, so a second build only rebuilds what changed.
# The JavaScript engine is the one this machine's build made (build.rs builds it into
# target/guests), handed in as a file (the Containerfile's JS_ENGINE): the build image needs no
# clang for wasm, and the engine is not built a second time.
#
# The podman flags suit a VM whose cgroups are hybrid and whose root may not raise rlimits:
# the runc runtime, and limits no higher than this shell's.
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${1:-localhost/stampede:test}"
base=localhost/stampede-build-base:bookworm
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

nofile=$(ulimit -n)
podman_flags=(--runtime runc --ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)
export PODMAN_FLAGS="${podman_flags[*]}"

if ! podman image exists "$base"; then
    rootfs=$(mktemp -d /var/tmp/stampede-rootfs.XXXXXX)
    echo "making $base with debootstrap (once)..." >&2
    as_root debootstrap --variant=minbase --include=gcc,libc6-dev bookworm "$rootfs" \
        http://deb.debian.org/debian >&2
    as_root tar -C "$rootfs" -c . | podman import - "$base" >&2
    as_root rm -rf "$rootfs"
fi

rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
# Every crate the build needs, into the cache the build reads (a no-op when already there).
cargo fetch --locked >&2
# The engine, as build.rs builds it (a no-op when it is up to date): the same command, without
# the variables of a cargo this may run under (`cargo test`).
guests="$(realpath -m "${CARGO_TARGET_DIR:-target}")/guests"
unset_outer=()
for var in $(env | sed -n 's/^\(CARGO_[A-Za-z0-9_]*\|RUSTC[A-Za-z0-9_]*\|RUSTFLAGS\|RUSTDOC\)=.*/\1/p'); do
    [ "$var" = CARGO_HOME ] || unset_outer+=(-u "$var")
done
if [ ! -f guest-sdk/js-engine/patched/rquickjs-sys/.stampede-patch ]; then
    echo "tests/container.sh: the engine's QuickJS is made by stampede's build (src/quickjs_patch.rs):" \
        "run \`cargo build\` once first" >&2
    exit 1
fi
(cd guest-sdk/js-engine && env "${unset_outer[@]}" \
    cargo build --release --target wasm32-wasip2 --target-dir "$guests" >&2) || {
    echo "tests/container.sh: building the JavaScript engine failed: it needs clang-19, llvm-19," \
        "wasi-libc and rustup's wasm32-wasip2 target (tests/run.sh --install-only installs them)" >&2
    exit 1
}
engine="$guests/wasm32-wasip2/release/stampede_js_engine.wasm"
mkdir -p target/container
podman build "${podman_flags[@]}" --network=none \
    --build-arg RUST_IMAGE="$base" --build-arg CARGO_FLAGS=--offline \
    --volume "$engine:/js-engine/stampede_js_engine.wasm:ro" \
    --build-arg JS_ENGINE=/js-engine/stampede_js_engine.wasm \
    --volume "$rustup_home:/usr/local/rustup:ro" \
    --volume "$cargo_home/bin:/usr/local/cargo/bin:ro" \
    --volume "$cargo_home/registry:/usr/local/cargo/registry" \
    --volume "$PWD/target/container:/src/target" \
    --tag "$tag" --file Containerfile . >&2
echo "$tag"
