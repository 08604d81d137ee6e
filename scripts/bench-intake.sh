#!/usr/bin/env bash
# Builds and runs the intake benchmark: the real service over TLS, 16 keep-alive
# connections, 1- and 100-notification User messages. Arguments go to intake_bench, e.g.
#   scripts/bench-intake.sh --seconds 15
#   scripts/bench-intake.sh --seconds 10 --db-dir /dev/shm   # CPU cost without the disk
#   scripts/bench-intake.sh --json > intake.json
# Other processes on the machine (builds, tests) distort the figures: the table shows how
# long each server thread waited for a CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
if [[ ! -f "$build_dir/build.ninja" ]]; then
  scripts/build.sh
else
  cmake --build "$build_dir" --target connector intake_bench
fi
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
exec "$build_dir/tests/intake_bench" "$@"
