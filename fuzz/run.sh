#!/usr/bin/env bash
# Runs every libFuzzer target of a sanitizer build for a few seconds each, starting from the
# committed seed corpus. Usage: fuzz/run.sh BUILD_DIR SECONDS
set -euo pipefail
build=${1:?build dir}
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
for target in npy_fuzzer npz_fuzzer safetensors_fuzzer onnx_fuzzer; do
  bin="$root/$build/fuzz/$target"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin is missing (build with -DAXON_BUILD_FUZZ=ON and clang)" >&2
    failed=$((failed + 1))
    continue
  fi
  corpus=$(mktemp -d)
  cp -r "$root/fuzz/corpus/$target/." "$corpus/" 2>/dev/null || true
  if "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 "$corpus" \
      > "$corpus.log" 2>&1; then
    echo "fuzz: $target ran ${seconds}s clean ($(grep -c . "$corpus.log") log lines)"
    passed=$((passed + 1))
  else
    echo "fuzz: $target FAILED" >&2
    tail -n 40 "$corpus.log" >&2
    failed=$((failed + 1))
  fi
  rm -rf "$corpus" "$corpus.log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
