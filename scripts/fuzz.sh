#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each for a bounded time
# (default 20 s) on a copy of the fixture corpus. A crash fails the run; its input is kept
# in build-fuzz/crashes/ to be committed as a regression fixture.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not installed, skipping" >&2
  exit 0
fi
CC=clang CXX=clang++ BUILD_DIR=build-fuzz scripts/build.sh -DCONNECTOR_FUZZ=ON \
  -DCONNECTOR_BUILD_TESTS=ON -DCONNECTOR_BUILD_BENCH=OFF
mkdir -p build-fuzz/crashes
status=0
for target in build-fuzz/tests/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus="build-fuzz/corpus/$name"
  mkdir -p "$corpus"
  cp -r tests/fixtures/. "$corpus/" 2>/dev/null || true
  echo "fuzz: $name for ${seconds}s"
  if ! "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="build-fuzz/crashes/$name-" "$corpus" >"build-fuzz/$name.log" 2>&1; then
    echo "fuzz: $name FAILED; see build-fuzz/$name.log" >&2
    tail -n 40 "build-fuzz/$name.log" >&2
    status=1
  else
    tail -n 1 "build-fuzz/$name.log"
  fi
done
exit $status
