#!/usr/bin/env bash
# Validates Kubernetes manifests against the API's OpenAPI schemas with PyPI's
# kubernetes-validate (strict: unknown fields are errors), from a virtual environment of its
# own made on first use in target/k8s-validate-venv.
#
#   tests/k8s-validate.sh [-k KUBERNETES_VERSION] FILE...    (no FILE: just install it)
set -euo pipefail
venv="${STAMPEDE_K8S_VENV:-$(cd "$(dirname "$0")/.." && pwd)/target/k8s-validate-venv}"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'kubernetes-validate==1.37.0'
fi
[ "$#" -eq 0 ] && exit 0
exec "$venv/bin/kubernetes-validate" --strict "$@"
