#!/usr/bin/env bash
# The hostile-input suite and the parsers' tests under AddressSanitizer and
# UndefinedBehaviorSanitizer: a separate build in build-asan (the service binary the
# end-to-end tests start is sanitized too), any finding fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
# Only what the suites below run: the service and the tests (no benches, tools or fuzzers).
BUILD_DIR=build-asan TARGETS="connector connector_tests" scripts/build.sh -DCONNECTOR_SANITIZE=ON
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
suites='hostile_input.*:listener_security.*:events_e2e.*:intake.*'
suites+=':OutboundMessage*:ChangeEvents.*:WebhookSignature.*:RestWire*:Ispring*:SalesforceIds.*'
build-asan/tests/connector_tests --gtest_filter="$suites" --gtest_brief=1
