#!/usr/bin/env bash
# Installs the library from a build tree into a temporary prefix, then configures, builds and
# runs a tiny consumer project that finds it with find_package(Axon).
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
cmake --install "$root/$build" --prefix "$prefix" >/dev/null
cmake -S "$root/tests/install/consumer" -B "$work" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work" >/dev/null
"$work/consumer"
echo "install test: 1 passed, 0 failed"
