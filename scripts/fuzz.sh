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
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCONNECTOR_FUZZ=ON -DCONNECTOR_BUILD_TESTS=OFF >/dev/null
# Only the fuzz targets: they link the pure parsers, not the whole service.
targets=()
for source in tests/fuzz/*.cpp; do targets+=("$(basename "$source" .cpp)"); done
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]}"
mkdir -p build-fuzz/crashes
status=0
for name in "${targets[@]}"; do
  target="build-fuzz/tests/$name"
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
