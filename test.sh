#!/usr/bin/env bash
# Runs every Waypoint test and closes with one line "N passed, N failed":
#   1. unit tests (ctest, Release build in build/)
#   2. end-to-end tests through real waypointd processes in network namespaces
#   3. one clang-14 build (build-san/: ASan + UBSan everywhere, libFuzzer
#      coverage, -O1) for stages 4 and 5
#   4. unit tests again under AddressSanitizer + UBSan (a few processes per
#      test binary, not one per test: run_unit_groups), and the basic
#      end-to-end test through the sanitized waypointd (both from build-san/)
#   5. each libFuzzer target for WP_FUZZ_SECONDS (default 30), JOBS (2) at a time
#      (build-san/); logs of the last run in build-san/fuzz-logs/
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

# Each stage's start, in seconds since test.sh began: the closing lines list
# how long each stage took, so a CI log shows where the suite's time goes.
stage_names=()
stage_starts=()
note() {
  printf '\n=== %s === (%d s)\n' "$*" "$SECONDS"
  stage_names+=("$*")
  stage_starts+=("$SECONDS")
}
stage_times() {
  local i end
  echo "time per stage (${SECONDS} s in all):"
  for i in "${!stage_names[@]}"; do
    end=${stage_starts[$((i + 1))]:-$SECONDS}
    printf '  %5d s  %s\n' "$((end - stage_starts[i]))" "${stage_names[i]}"
  done
}
record() {  # record NAME PASSED FAILED
  passed=$((passed + $2))
  failed=$((failed + $3))
  [ "$3" -eq 0 ] || failures+=("$1")
}

# ctest's summary "X% tests passed, F tests failed out of T" -> passed/failed counts.
run_ctest() {  # run_ctest NAME BUILD_DIR [CTEST ARGS...]
  local log name=$1 dir=$2
  shift 2
  log=$(mktemp)
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" "$@" 2>&1) | tee "$log"
  local line total fail
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -1)
  if [ -z "$line" ]; then
    record "$name" 0 1
  else
    fail=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
    record "$name" $((total - fail)) "$fail"
  fi
  rm -f "$log"
}

# The unit tests of the sanitizer stage, without a process per test. ctest
# (run_ctest, the Release stage) starts each TEST in a process of its own, and
# an ASan + UBSan test binary costs ~0.3 CPU-s to start (its 40-60 MB mapped
# and initialised, DPDK's EAL for the tests that need mbufs), more than most
# tests take. Here each group binary's tests (tests/CMakeLists.txt,
# BUILD_DIR/tests/unit_groups.txt) are split round-robin into WP_UNIT_CHUNKS lists,
# one process per list, JOBS at a time. Every test still runs and counts as one;
# a list whose process fails (a failed test, a sanitizer report, a crash,
# a timeout) or runs fewer tests than it names is run again one test per
# process, as ctest would, and each test counts by its own result there.
UNIT_CHUNKS=${WP_UNIT_CHUNKS:-4}
unit_chunk() {  # unit_chunk BINARY LIST: runs LIST's tests in one process -> LIST.log, LIST.rc
  timeout --kill-after=10 900 "$1" --gtest_filter="$(paste -sd: "$2")" >"$2.log" 2>&1
  echo $? >"$2.rc"
}
run_unit_groups() {  # run_unit_groups NAME BUILD_DIR
  local name=$1 dir=$2 logs=$2/unit-logs group list n ran t ok bad
  rm -rf "$logs"
  mkdir -p "$logs"
  for group in $(cut -d' ' -f1 "$dir/tests/unit_groups.txt" | sort -u); do
    # "Suite." lines, then "  Test" lines (parameterised: "  Test/0  # GetParam() = ...").
    if ! "$dir/tests/$group" --gtest_list_tests >"$logs/$group.list" 2>&1; then
      echo "$name $group: FAILED (cannot list its tests)"
      cat "$logs/$group.list"
      record "$name/$group" 0 1
      continue
    fi
    awk '/^[^ ]/ { suite = $1 } /^  / { print suite $1 }' "$logs/$group.list" >"$logs/$group.tests"
    split -n "r/$UNIT_CHUNKS" -d "$logs/$group.tests" "$logs/$group.chunk"
  done
  for list in "$logs"/*.chunk*; do
    [ -s "$list" ] || continue
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    group=$(basename "$list")
    unit_chunk "$dir/tests/${group%.chunk*}" "$list" &
  done
  wait
  for list in "$logs"/*.chunk*; do
    case $list in *.log | *.rc) continue ;; esac
    [ -s "$list" ] || continue
    group=$(basename "$list")
    group=${group%.chunk*}
    n=$(wc -l <"$list")
    ran=$(sed -nE 's/^\[==========\] ([0-9]+) tests? from .* ran\..*/\1/p' "$list.log" | tail -1)
    if [ "$(cat "$list.rc")" = 0 ] && [ "${ran:-0}" -eq "$n" ]; then
      echo "$name $(basename "$list"): $n tests passed in one process"
      record "$name/$group" "$n" 0
      continue
    fi
    echo "$name $(basename "$list"): exit $(cat "$list.rc"), ${ran:-no} of $n tests ran; each again in a process of its own:"
    ok=0
    bad=0
    while read -r t; do
      if timeout --kill-after=10 300 "$dir/tests/$group" --gtest_filter="$t" >"$logs/one.log" 2>&1; then
        ok=$((ok + 1))
      else
        bad=$((bad + 1))
        echo "FAILED: $group $t"
        tail -60 "$logs/one.log"
        record "$name/$group/$t" 0 1
      fi
    done <"$list"
    echo "$name $(basename "$list"): $ok passed, $bad failed, one process each"
    record "$name/$group" "$ok" 0
  done
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
  # Kept for the closing lines: a long run's tail must still say which check failed.
  # With the lines before each FAIL: a check's diagnostics are printed just above it.
  e2e_failures=$(grep -E -B3 "^(FAIL: |=================== .*: FAILED)" "$log" | grep -vE "^(PASS: |--$)" | tail -60)
  if [ -n "$line" ]; then
    record e2e "$(sed -E 's/e2e: ([0-9]+) passed.*/\1/' <<<"$line")" "$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
  else
    record e2e 0 1
  fi
  cp "$log" build/e2e-last.log 2>/dev/null  # the whole run, for a failure's details
  rm -f "$log"
fi

# The sanitizer stages share one build: clang-14 with ASan + UBSan and
# libFuzzer's coverage in every object (CMakeLists.txt: WP_FUZZ implies
# WP_SANITIZE), so the library compiles once for the ASan unit tests, the
# sanitized waypointd and the fuzz targets. -O1 runs the tests and the fuzzers
# faster than -O0; line tables are all a sanitizer report needs.
SAN=build-san
san_flags="-O1 -gline-tables-only"
if [ "${WP_SKIP_ASAN:-0}" != 1 ] || [ "${WP_SKIP_FUZZ:-0}" != 1 ]; then
  note "build (clang-14: ASan + UBSan + libFuzzer)"
  # -k 0: one target that does not compile must not hide how the others fare
  # (the fuzz stage asks for each of its targets again, alone).
  if cmake -S "$ROOT" -B "$SAN" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="$san_flags" -DCMAKE_CXX_FLAGS_DEBUG="$san_flags" \
    -DWP_SANITIZE=ON -DWP_FUZZ=ON -DWP_BENCH=OFF >/dev/null && ninja -C "$SAN" -k 0; then
    san_built=1
  else
    san_built=0
    record san-build 0 1
  fi
fi

if [ "${WP_SKIP_ASAN:-0}" != 1 ] && [ "$san_built" = 1 ]; then
  note "unit tests under ASan + UBSan"
  # The GoogleTest tests in a few processes per binary (run_unit_groups), the
  # other ctest tests (the link and docs checks) by ctest.
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 run_unit_groups asan "$SAN"
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 run_ctest asan "$SAN" -LE '^unit$'
  if [ "${WP_SKIP_E2E:-0}" != 1 ]; then
    note "end-to-end basic test with the ASan + UBSan waypointd"
    if ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
      WAYPOINTD="$ROOT/$SAN/tools/waypointd" bash tests/e2e/test_basic.sh 1; then
      record e2e-asan 1 0
    else
      record e2e-asan 0 1
    fi
  fi
fi

# How test.sh runs a libFuzzer target: our defaults, then the flags its
# source names on a "// fuzz flags:" line; UBSan reports are fatal.
fuzz_cmd() {  # fuzz_cmd NAME -> a command line to append inputs and flags to
  echo "env UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $SAN/tests/$1 -timeout=10 -rss_limit_mb=2048" \
    "$(sed -n 's|^// fuzz flags:||p' "tests/fuzz/$1.cc")"
}

# One libFuzzer target: its seeds (read only) plus a scratch corpus.
# Leaves LOG_DIR/NAME.log, LOG_DIR/NAME.rc and, on a crash, LOG_DIR/NAME-crash-*.
fuzz_one() {  # fuzz_one NAME LOG_DIR
  local name=$1 logs=$2 scratch
  scratch=$(mktemp -d)
  # shellcheck disable=SC2046
  $(fuzz_cmd "$name") -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -artifact_prefix="$logs/$name-" \
    "$scratch" "tests/fuzz/corpus/${name#fuzz_}" >"$logs/$name.log" 2>&1
  echo $? >"$logs/$name.rc"
  rm -rf "$scratch"
}

# A target passes only when it built from the current sources, had seeds,
# exited 0 (no crash, leak, sanitizer report or timeout) and executed inputs.
# libFuzzer's timeout is wall-clock time, and a shared machine can stall every
# process for a minute: a timeout counts only if its input, run again alone,
# is still slow. The targets are deterministic, so a real hang is.
fuzz_verdict() {  # fuzz_verdict NAME LOG_DIR
  local name=$1 logs=$2 rc units slow note=""
  rc=$(cat "$logs/$name.rc" 2>/dev/null || echo missing)
  units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$name.log" 2>/dev/null | tail -1)
  slow=$(find "$logs" -name "$name-timeout-*" | head -1)
  if [ "$rc" != 0 ] && [ -n "$slow" ] && grep -q "ERROR: libFuzzer: timeout" "$logs/$name.log"; then
    # shellcheck disable=SC2046
    if $(fuzz_cmd "$name") "$slow" >"$logs/$name.replay.log" 2>&1; then
      rc=0
      note="; its timeout did not recur when $slow ran again ($logs/$name.replay.log)"
    fi
  fi
  if [ "$rc" = 0 ] && [ "${units:-0}" -gt 0 ]; then
    echo "fuzz $name: ok ($units runs$note)"
    record "$name" 1 0
    return
  fi
  echo "fuzz $name: FAILED (exit $rc, ${units:-no} executed units; log $logs/$name.log)"
  tail -40 "$logs/$name.log"
  record "$name" 0 1
}

if [ "${WP_SKIP_FUZZ:-0}" != 1 ]; then
  note "fuzzing (${FUZZ_SECONDS}s per target, ${JOBS} at a time)"
  fuzzers=$(for f in tests/fuzz/fuzz_*.cc; do basename "$f" .cc; done | tr '\n' ' ')
  # Built above with everything else in $SAN.
  logs="$ROOT/$SAN/fuzz-logs"
  rm -rf "$logs"
  mkdir -p "$logs"
  # The seed writer is not run here, but must keep compiling for make_corpus.py.
  if ! ninja -C "$SAN" wp_fuzz_seeds >"$logs/wp_fuzz_seeds.build.log" 2>&1; then
    echo "fuzz wp_fuzz_seeds: FAILED (did not build; $logs/wp_fuzz_seeds.build.log)"
    record wp_fuzz_seeds 0 1
  fi
  runnable=()
  for name in $fuzzers; do
    # Asked again alone, ninja fails unless the binary is built from the
    # sources as they are now: one left from an earlier build does not count.
    if ! ninja -C "$SAN" "$name" >"$logs/$name.build.log" 2>&1 || [ ! -x "$SAN/tests/$name" ]; then
      echo "fuzz $name: FAILED (did not build; $logs/$name.build.log)"
      grep -E "error:|^FAILED:" "$logs/$name.build.log" | head -20
      record "$name" 0 1
    elif [ -z "$(ls -A "tests/fuzz/corpus/${name#fuzz_}" 2>/dev/null)" ]; then
      echo "fuzz $name: FAILED (no seeds in tests/fuzz/corpus/${name#fuzz_}; see tests/fuzz/README.md)"
      record "$name" 0 1
    else
      runnable+=("$name")
    fi
  done
  for name in "${runnable[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    fuzz_one "$name" "$logs" &
  done
  wait
  for name in "${runnable[@]}"; do fuzz_verdict "$name" "$logs"; done
fi

echo
stage_times
if [ -n "${e2e_failures:-}" ]; then
  echo "end-to-end failures (from the e2e stage above):"
  sed 's/^/  /' <<<"$e2e_failures"
fi
[ ${#failures[@]} -eq 0 ] || echo "failed stages: ${failures[*]}"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
