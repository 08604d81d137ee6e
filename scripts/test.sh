#!/usr/bin/env bash
# README command 2: install what is missing, build, and run the whole test suite:
# unit, integration and end-to-end tests (ctest), the hostile-input suite and the parsers
# under AddressSanitizer and UndefinedBehaviorSanitizer, the .deb on a clean Debian root,
# then a short bounded fuzzing run. First, cheaply, the house rule of issue 18: no function
# body in src/ or include/ longer than 80 lines.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/check-function-length --self-test
scripts/check-function-length
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600)
scripts/sanitize.sh
scripts/package-test.sh  # the .deb installed on a clean Debian root (root only)
scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
