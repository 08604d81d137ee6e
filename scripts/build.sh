#!/usr/bin/env bash
# Configures and builds into build/ (or $BUILD_DIR) with Ninja and ccache.
# Extra arguments go to CMake, e.g. scripts/build.sh -DCONNECTOR_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
jobs="${JOBS:-$(nproc)}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
# Paths relative to the checkout, so clones and worktrees elsewhere share cache hits.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
# TARGETS (space-separated) builds only those, e.g. TARGETS="connector connector_tests".
# shellcheck disable=SC2086
cmake --build "$build_dir" -j "$jobs" ${TARGETS:+--target $TARGETS}
