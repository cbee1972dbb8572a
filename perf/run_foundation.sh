#!/bin/bash
# Foundation benchmark (perf/README.md): builds wp_bench_foundation if needed,
# runs it (it starts dpdk-testpmd itself, before and after the fast path, as
# the same-run baseline) and appends its JSON line to perf/results/foundation.json.
#
#   perf/run_foundation.sh [bench options] [-- EAL args]
#   BUILD_DIR=build-perf perf/run_foundation.sh --sessions 1000000
#
# Environment: BUILD_DIR (default build), RESULTS (default
# perf/results/foundation.json), TESTPMD (default dpdk-testpmd), NO_APPEND=1
# to only print. Needs root (DPDK EAL) and a quiet machine: both hot loops run
# on CPU 1 (ours: EAL -l 1; testpmd: -l 0-1, forwarding lcore 1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
results=${RESULTS:-$root/perf/results/foundation.json}
bin="$build/perf/wp_bench_foundation"

if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DWP_BENCH=ON
fi
cmake --build "$build" --target wp_bench_foundation

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit+dirty"; fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "load before run: $(cut -d' ' -f1-3 /proc/loadavg) (2-core VM: expect +-40% noise; compare ratios)" >&2
set +e
"$bin" --testpmd "${TESTPMD:-dpdk-testpmd}" --commit "$commit" "$@" | tee "$out"
rc=${PIPESTATUS[0]}
set -e
line=$(grep '^{"scenario":"foundation"' "$out" | tail -n 1 || true)
if [ -z "$line" ]; then
  echo "run_foundation: no JSON line (exit $rc)" >&2
  exit 1
fi
if [ "${NO_APPEND:-0}" != 1 ]; then
  mkdir -p "$(dirname "$results")"
  echo "$line" >>"$results"
  echo "appended to $results" >&2
fi
exit "$rc"
