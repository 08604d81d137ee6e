#!/usr/bin/env bash
# README command 2: install what is missing, build, and run the whole test suite:
# unit, integration and end-to-end tests (ctest), the hostile-input suite and the parsers
# under AddressSanitizer and UndefinedBehaviorSanitizer, the .deb on a clean Debian root,
# then a short bounded fuzzing run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600)
scripts/sanitize.sh
scripts/package-test.sh  # the .deb installed on a clean Debian root (root only)
scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
