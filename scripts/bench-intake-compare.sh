#!/usr/bin/env bash
# Compares intake throughput of this tree against an earlier revision, the way issue 7's
# "no more than 5% slower" was measured:
#   scripts/bench-intake-compare.sh REV [PAIRS] [intake_bench options...]
#   scripts/bench-intake-compare.sh b9a6caa 8 --seconds 15 --scenario 100
# REV is built once in a git worktree under build-compare/ (ccache makes it quick the second
# time). The two builds then run in ABBA order (base, new, new, base, ...), so neither always
# runs first after the other's files were deleted; one run's noise on two cores is ±15%, so
# several pairs are needed. Prints each run and, per scenario, the mean and median
# notifications/s, server CPU per notification and disk kB per message, and the change.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 || "$1" == -* ]]; then
  echo "usage: $0 REV [PAIRS] [intake_bench options...]" >&2
  exit 2
fi
rev="$1"
shift
pairs=4
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
  pairs="$1"
  shift
fi
commit="$(git rev-parse --verify "$rev^{commit}")"
root="$PWD/build-compare"
base_tree="$root/tree-$commit"
new_build="${BUILD_DIR:-build}"

if [[ ! -d "$base_tree" ]]; then
  mkdir -p "$root"
  git worktree add --detach "$base_tree" "$commit" >&2
fi
echo "building $commit and this tree (connector, intake_bench)..." >&2
(cd "$base_tree" && BUILD_DIR=build TARGETS="connector intake_bench" scripts/build.sh >&2)
BUILD_DIR="$new_build" TARGETS="connector intake_bench" scripts/build.sh >&2

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
run() {  # run NAME BUILD_DIR INDEX ARGS...
  local name="$1" dir="$2" index="$3"
  shift 3
  "$dir/tests/intake_bench" --json "$@" >"$results/$name-$index.json"
  python3 - "$name" "$results/$name-$index.json" <<'EOF' >&2
import json, sys
for s in json.load(open(sys.argv[2]))["scenarios"]:
    print(f"{sys.argv[1]:>4} {s['notifications_per_message']:>3}/msg "
          f"{s['notifications_per_second']:>9.0f} notif/s "
          f"{s['server_cpu_us_per_notification']:6.1f} us/notif "
          f"{s['server_disk_write_kb_per_message']:7.1f} kB/msg")
EOF
}
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
for ((i = 0; i < pairs; i++)); do
  if ((i % 2 == 0)); then
    run base "$base_tree/build" "$i" "$@"
    run new "$new_build" "$i" "$@"
  else
    run new "$new_build" "$i" "$@"
    run base "$base_tree/build" "$i" "$@"
  fi
done

python3 - "$results" "$commit" <<'EOF'
import glob, json, os, statistics, sys
runs = {"base": {}, "new": {}}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    name = os.path.basename(path).split("-")[0]
    for s in json.load(open(path))["scenarios"]:
        runs[name].setdefault(s["notifications_per_message"], []).append(s)
print(f"base {sys.argv[2][:10]} against this tree")
for size in sorted(runs["new"]):
    b, n = runs["base"].get(size, []), runs["new"][size]
    if not b:
        continue
    def stat(rows, key):
        values = [r[key] for r in rows]
        return statistics.mean(values), statistics.median(values)
    print(f"{size} notification(s) per message, {len(n)} runs each:")
    for key, label in [("notifications_per_second", "notifications/s"),
                       ("server_cpu_us_per_notification", "server CPU us/notification"),
                       ("server_disk_write_kb_per_message", "disk kB/message")]:
        bm, bmed = stat(b, key)
        nm, nmed = stat(n, key)
        print(f"  {label:<28} base mean {bm:10.1f} median {bmed:10.1f} | "
              f"new mean {nm:10.1f} median {nmed:10.1f} | "
              f"{100 * (nm / bm - 1):+5.1f}% (mean) {100 * (nmed / bmed - 1):+5.1f}% (median)")
EOF
