#!/bin/bash
# Session crypto benchmark (perf/bench_crypto.cc): builds build/ if needed,
# runs wp_bench_crypto pinned to one CPU, appends its JSON lines (one per size
# and direction) to perf/results/crypto.json unless NO_APPEND=1.
#   perf/run_crypto.sh [--seconds S] [--burst N] [--rounds R]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
[ -x "$build/perf/wp_bench_crypto" ] || { cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null && nice ninja -C "$build" perf/wp_bench_crypto; }
cpu=${CPU:-1}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
taskset -c "$cpu" "$build/perf/wp_bench_crypto" "$@" | tee "$out"
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "${NO_APPEND:-0}" != 1 ]; then
  grep '^{' "$out" | sed "s/}\$/,\"commit\":\"$commit\",\"date\":\"$(date -u +%FT%TZ)\"}/" >>"$root/perf/results/crypto.json"
  echo "appended $(grep -c '^{' "$out") lines to perf/results/crypto.json"
fi
