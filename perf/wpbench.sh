#!/bin/bash
# wpbench: the perf lab in one command. Runs the scenarios below on
# this machine, prints a table per scenario plus one JSON line per result,
# appends the JSON lines to perf/results/<scenario>.json and draws
# perf/results/scale.png (gnuplot) of setup rate and fast path vs sessions
# and perf/results/peers.png (perf/plot_peers.py): Waypoint beside each peer.
#
#   sudo perf/wpbench.sh [--quick] [SCENARIO...]      (default: all, in order)
#
#   vdev      0. which inter-process vdev wpgen should use (perf/vdev_compare.sh)
#   setup     1. session setup rate and fast-path Mpps per worker:
#                in-process (perf/run_foundation.sh, 1 worker, net_null) and
#                end to end: wpgen -> r1 -> r2 -> wpgen, real waypointd
#                processes on net_memif, 1 and 2 workers
#   baseline  2. the same against baselines measured in this run (the
#                nftables part alone: "nft"):
#                dpdk-testpmd io-fwd between wpgen's two memif ports (ratio of
#                the SVR pair's Mpps) and Linux nftables conntrack + masquerade
#                in a namespace vs the SVR pair, both driven by wpgen over
#                net_af_packet on veth (ratio of setup rates)
#   memory    3. bytes per session and RSS, setup and fast path at 1k, 100k,
#                1M and 10M sessions in table (10M only with enough free memory)
#   fill      3. end to end: wpgen keeps 7M concurrent sessions open through
#                r1 -> r2 (perf/wpbench_fill.sh): RSS, bytes/session, setup
#                rate while filling (FILL_SESSIONS=N, FILL_WAYPOINTS addresses
#                per router, default 2: 4 waypoint pairs; 10M runs with them)
#   overhead  4. WAN bytes of one workload under SVR (captured from real
#                waypointd) vs ESP tunnel, GRE, VXLAN (perf/wire_overhead.py)
#   peers     6. the same job done by the peers a user would run instead, one
#                router each, same wpgen load, same ports (perf/wpbench_peers.sh):
#                waypointd breakout vs OVS-DPDK ct(commit,nat) on net_memif, and
#                vs Linux nftables masquerade on af_packet/veth: new sessions/s,
#                Mpps at 64 B, Gbit/s at 1400 B, sessions held, bytes/session
#   extended  5. encrypted throughput (SVR pair, aes256-cbc policy vs default,
#                64 and 1400 B), offload cycles/packet (wp_bench_offload), HA
#                sync rate (perf/bench_ha.sh); a missing binary: "not available"
#
# Environment: BUILD_DIR (default build), RESULTS_DIR (perf/results),
# NO_APPEND=1 (print only). Each scenario's wall time goes to
# perf/results/wpbench-durations.tsv, from which the next run's ETA comes. Needs root. The machine is a shared 2-core VM:
# the routers, wpgen and the baselines share the same two CPUs, so end-to-end
# numbers are for comparison within one run, never absolutes.
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
export WAYPOINTD=$build/tools/waypointd WPGEN=$build/tools/wpgen
results=${RESULTS_DIR:-$root/perf/results}
QUICK=0
scenarios=()
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    vdev | setup | baseline | nft | memory | overhead | extended | fill | peers) scenarios+=("$a") ;;
    *) echo "wpbench: unknown argument $a" >&2; exit 1 ;;
  esac
done
[ ${#scenarios[@]} -gt 0 ] || scenarios=(vdev setup baseline memory fill overhead extended peers)

# shellcheck source=../tests/e2e/lib.sh
source "$root/tests/e2e/lib.sh"
WP_EAL_MEM=${WP_EAL_MEM:-1024}
wp_init "wpbench-"
mkdir -p "$results"
COMMIT=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE=$(date -u +%FT%TZ)
echo "wpbench: commit $COMMIT, $DATE, load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs (shared VM)"

# emit SCENARIO JSON: stamp, print and append one result line.
emit() {
  local line
  line=$("$WP_PY" -c '
import json, sys
d = json.loads(sys.argv[2]); d.setdefault("scenario", sys.argv[1])
d.update(commit=sys.argv[3], date=sys.argv[4], quick=sys.argv[5] == "1")
print(json.dumps(d, separators=(",", ":")))' "$1" "$2" "$COMMIT" "$DATE" "$QUICK")
  echo "$line"
  echo "$line" >>"$WP_TMP/run-$1.json"
  [ "${NO_APPEND:-0}" = 1 ] || echo "$line" >>"$results/$1.json"
}

source "$here/wpbench_scenarios.sh"
source "$here/wpbench_fill.sh"
source "$here/wpbench_peers.sh"

# Progress: scenario i of n, time so far, and an ETA from how long each
# remaining scenario took in the last run recorded here (same --quick).
durations=$results/wpbench-durations.tsv
last_duration() {  # SCENARIO: seconds it took last time, or nothing
  awk -v s="$1" -v q="$QUICK" '$1 == s && $2 == q {v = $3} END {if (v != "") print v}' "$durations" 2>/dev/null
}
hms() { printf '%dh%02dm%02ds' $(($1 / 3600)) $(($1 % 3600 / 60)) $(($1 % 60)); }
t_start=$(date +%s)
i=0
for s in "${scenarios[@]}"; do
  i=$((i + 1))
  left=0 unknown=()
  for r in "${scenarios[@]:i-1}"; do
    d=$(last_duration "$r")
    if [ -n "$d" ]; then left=$((left + d)); else unknown+=("$r"); fi
  done
  if [ ${#unknown[@]} -eq 0 ]; then eta="ETA $(hms "$left")"
  elif [ "$left" -eq 0 ]; then eta="ETA unknown: no earlier run of ${unknown[*]}"
  else eta="ETA $(hms "$left") + ${unknown[*]} (no earlier run)"; fi
  echo
  echo "=================== scenario $s ($i of ${#scenarios[@]}, elapsed $(hms $(($(date +%s) - t_start))), $eta)"
  t=$(date +%s)
  "scenario_$s"
  t=$(($(date +%s) - t))
  echo "=================== scenario $s took $(hms "$t")"
  [ "${NO_APPEND:-0}" = 1 ] || printf '%s\t%s\t%s\t%s\t%s\n' "$s" "$QUICK" "$t" "$COMMIT" "$DATE" >>"$durations"
done
peers_png=$results/peers.png
[ "${NO_APPEND:-0}" = 1 ] && peers_png=$WP_TMP/peers.png
"$WP_PY" "$here/plot_peers.py" --results "$results" --out "$peers_png" || echo "plot: no peer comparison yet"
echo "wpbench: ${#scenarios[@]} scenario(s) in $(hms $(($(date +%s) - t_start)))"
wp_finish
