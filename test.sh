#!/usr/bin/env bash
# Runs every Waypoint test and closes with one line "N passed, N failed":
#   1. unit tests (ctest, Release build in build/)
#   2. end-to-end tests through real waypointd processes in network namespaces
#   3. unit tests again under AddressSanitizer + UBSan (build-asan/), and the
#      basic end-to-end test through the sanitized waypointd
#   4. each libFuzzer target for WP_FUZZ_SECONDS (default 30) (build-fuzz/, clang-14)
# Exit status is non-zero when anything failed. Set WP_SKIP_E2E=1, WP_SKIP_ASAN=1
# or WP_SKIP_FUZZ=1 to skip a stage while iterating locally (CI runs all).
set -uo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
JOBS=${JOBS:-2}
FUZZ_SECONDS=${WP_FUZZ_SECONDS:-30}
passed=0
failed=0
failures=()

note() { printf '\n=== %s ===\n' "$*"; }
record() {  # record NAME PASSED FAILED
  passed=$((passed + $2))
  failed=$((failed + $3))
  [ "$3" -eq 0 ] || failures+=("$1")
}

# ctest's summary "X% tests passed, F tests failed out of T" -> passed/failed counts.
run_ctest() {  # run_ctest NAME BUILD_DIR
  local log
  log=$(mktemp)
  (cd "$2" && ctest --output-on-failure -j "$JOBS" 2>&1) | tee "$log"
  local line total fail
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -1)
  if [ -z "$line" ]; then
    record "$1" 0 1
  else
    fail=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
    record "$1" $((total - fail)) "$fail"
  fi
  rm -f "$log"
}

build() {  # build DIR "TARGETS" CMAKE_ARGS...   (TARGETS empty = all)
  local dir=$1 targets=$2
  shift 2
  # shellcheck disable=SC2086
  cmake -S "$ROOT" -B "$dir" -G Ninja "$@" >/dev/null && ninja -C "$dir" $targets
}

note "build (Release)"
if build build "" -DCMAKE_BUILD_TYPE=Release; then
  note "unit tests"
  run_ctest unit build
else
  record build 0 1
fi

if [ "${WP_SKIP_E2E:-0}" != 1 ] && [ -x build/tools/waypointd ]; then
  note "end-to-end tests"
  log=$(mktemp)
  WAYPOINTD="$ROOT/build/tools/waypointd" bash tests/e2e/run_all.sh 2>&1 | tee "$log"
  line=$(grep -E "^e2e: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
  if [ -n "$line" ]; then
    record e2e "$(sed -E 's/e2e: ([0-9]+) passed.*/\1/' <<<"$line")" "$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
  else
    record e2e 0 1
  fi
  rm -f "$log"
fi

if [ "${WP_SKIP_ASAN:-0}" != 1 ]; then
  note "unit tests under ASan + UBSan"
  if build build-asan "" -DCMAKE_BUILD_TYPE=Debug -DWP_SANITIZE=ON -DWP_BENCH=OFF; then
    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 run_ctest asan build-asan
    if [ "${WP_SKIP_E2E:-0}" != 1 ]; then
      note "end-to-end basic test with the ASan + UBSan waypointd"
      if ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
        WAYPOINTD="$ROOT/build-asan/tools/waypointd" bash tests/e2e/test_basic.sh 1; then
        record e2e-asan 1 0
      else
        record e2e-asan 0 1
      fi
    fi
  else
    record asan-build 0 1
  fi
fi

if [ "${WP_SKIP_FUZZ:-0}" != 1 ]; then
  note "fuzzing (${FUZZ_SECONDS}s per target)"
  fuzzers=$(for f in tests/fuzz/fuzz_*.cc; do basename "$f" .cc; done | tr '\n' ' ')
  if CC=clang-14 CXX=clang++-14 build build-fuzz "$fuzzers" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWP_FUZZ=ON -DWP_BENCH=OFF; then
    for f in build-fuzz/tests/fuzz_*; do
      [ -x "$f" ] || continue
      name=$(basename "$f")
      corpus=$(mktemp -d)
      seeds="$ROOT/tests/fuzz/corpus/${name#fuzz_}"
      [ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/ 2>/dev/null
      if "$f" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "$corpus" >"$corpus.log" 2>&1; then
        echo "fuzz $name: ok ($(grep -E 'stat::number_of_executed_units' "$corpus.log" | awk '{print $2}') runs)"
        record "$name" 1 0
      else
        echo "fuzz $name: FAILED"
        tail -40 "$corpus.log"
        record "$name" 0 1
      fi
      rm -rf "$corpus" "$corpus.log"
    done
  else
    record fuzz-build 0 1
  fi
fi

echo
[ ${#failures[@]} -eq 0 ] || echo "failed stages: ${failures[*]}"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
