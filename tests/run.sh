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
# Outputs and reports are tested against their real consumers: Prometheus (remote-write),
# Chromium (the HTML report), xmllint (JUnit against junit-10.xsd, which the tests take from
# pytest's source distribution on PyPI with pip).
missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || missing+=(chromium)
command -v xmllint >/dev/null || missing+=(libxml2-utils)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" || {
        as_root apt-get update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    }
fi

# TLS tests: nginx (a client-certificate-checking server) and openssl (legacy-encrypted keys);
# the capacity tests use nginx's limit_req as a service of known capacity.
command -v nginx >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light
command -v openssl >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y openssl
# Running on many machines: the container image is built with podman (the runc runtime, and a
# build image made with debootstrap: no registry is needed), and rendered Kubernetes
# manifests are checked with PyPI's kubernetes-validate (in a venv of its own).
for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] \
        || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$tool"
done
tests/k8s-validate.sh

if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi
cargo test --workspace --locked "$@"

# The capacity searches hold steady load for seconds and judge the generator's own timing
# along with the service's: they run alone, one at a time, after the rest.
cargo test --locked --test all capacity -- --ignored --test-threads 1
