#!/bin/bash
# Run every end-to-end test (root). test_basic.sh and test_transit.sh run with
# 1 and 2 workers, test_ipsec_ha.sh over IPv4 and IPv6 outer addresses, any other
# test_*.sh once. WAYPOINTD=path overrides build/tools/waypointd.
# usage: sudo tests/e2e/run_all.sh [FILTER]   (FILTER: substring of the test name)
set -u
here=$(cd "$(dirname "$0")" && pwd)
export WAYPOINTD=${WAYPOINTD:-$(cd "$here/../.." && pwd)/build/tools/waypointd}
if [ ! -x "$WAYPOINTD" ]; then echo "e2e: waypointd not found at $WAYPOINTD (build it or set WAYPOINTD)" >&2; exit 2; fi
filter=${1:-}
passed=0 failed=0 failed_names=()
run() {  # NAME CMD...
  local name=$1 start rc; shift
  [ -z "$filter" ] || [[ $name == *"$filter"* ]] || return 0
  start=$(date +%s)
  echo "=================== $name"
  timeout --kill-after=10 600 "$@"; rc=$?
  echo "=================== $name: $([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)") in $(( $(date +%s) - start )) s"
  if [ $rc -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failed_names+=("$name"); fi
}
for t in "$here"/test_*.sh; do
  name=$(basename "$t" .sh)
  if [ "$name" = test_basic ] || [ "$name" = test_transit ]; then
    run "$name/1-worker" "$t" 1
    run "$name/2-workers" "$t" 2
  elif [ "$name" = test_ipsec_ha ]; then  # IPv4 and IPv6 outer addresses (docs/ipsec.md § HA)
    run "$name" env -u IPSEC_HA_FAMILY "$t"
    run "$name/ipv6" env IPSEC_HA_FAMILY=6 "$t"
  else
    run "$name" "$t"
  fi
done
echo "e2e: $passed passed, $failed failed${failed_names[*]:+ (${failed_names[*]})}"
[ "$failed" -eq 0 ]
