#!/bin/bash
# benchmark (perf/bench_ha.cc): two wp_bench_ha nodes in two network
# namespaces, each beside its own corosync (token 400 / consensus 500, the
# settings test_ha.sh and README document), over one veth.
#   sudo perf/bench_ha.sh [SYNC_SESSIONS] [RESYNC_SESSIONS] [RAW_MESSAGES]
# Prints a table and one JSON line; with WP_BENCH_OUT=FILE also appends it
# there (one line per run, with the commit and date). BENCH_SENDER=1 waits for
# the sender too and prints its counters (messages, bytes, CPG send retries) on stderr.
# BENCH=PATH runs another build; BENCH_COMMIT=TEXT then names it in the JSON line.
set -u -o pipefail
source "$(dirname "$0")/../tests/e2e/lib.sh"
BENCH=${BENCH:-$WP_REPO/build/perf/wp_bench_ha}
SYNC_N=${1:-300000}
RESYNC_N=${2:-1000000}
RAW_N=${3:-2000}
wp_init "wpbench-ha-"
wp_ns_add h1 h2 || exit 2
wp_veth h1 hx1 h2 hx2 && wp_addr h1 hx1 10.77.0.1/24 && wp_addr h2 hx2 10.77.0.2/24 || exit 2
wp_corosync_conf 10.77.0.1 10.77.0.2 >"$WP_TMP/corosync.conf"
wp_corosync_start cs1 h1 "$WP_TMP/corosync.conf"
wp_corosync_start cs2 h2 "$WP_TMP/corosync.conf"
for ns in h1 h2; do
  for ((i = 0; i < 50; i++)); do wp_exec $ns corosync-quorumtool -s 2>/dev/null | grep -q "Quorate: *Yes" && break; sleep 0.2; done
done

eal() { echo "--no-huge --no-pci -m $2 --no-shconf --file-prefix wpbha-$1-$$ -l 0 --log-level=error"; }
one() {  # MODE N MEM: receiver in h2 (background), sender in h1; prints the receiver's JSON
  local mode=$1 n=$2 mem=$3 rpid start=()
  # A binary that takes --start-file times sync from the sender's first post (bench_ha.cc).
  "$BENCH" --help 2>/dev/null | grep -q -- --start-file && start=(--start-file "$WP_TMP/start-$mode")
  # shellcheck disable=SC2046
  wp_bg h2 "$WP_TMP/recv-$mode.log" "$BENCH" ${BENCH_ARGS:-} --mode "$mode" --role receiver --sessions "$n" --group "wpb-$mode" "${start[@]}" -- $(eal r "$mem")
  rpid=$WP_BG_PID; WP_PIDS+=("$rpid")
  [ "$mode" = resync ] && sleep 0 || true
  # shellcheck disable=SC2046
  wp_bg h1 "$WP_TMP/send-$mode.log" "$BENCH" ${BENCH_ARGS:-} --mode "$mode" --role sender --sessions "$n" --group "wpb-$mode" "${start[@]}" -- $(eal s "$mem")
  WP_PIDS+=("$WP_BG_PID")
  wait "$rpid"
  [ -n "${BENCH_SENDER:-}" ] && { wait "$WP_BG_PID"; grep '^{"bench"' "$WP_TMP/send-$mode.log" | tail -n 1 >&2; }
  [ -n "${BENCH_SENDER:-}" ] && grep '^{"bench"' "$WP_TMP/recv-$mode.log" | tail -n 1 >&2
  grep '^{"bench"' "$WP_TMP/recv-$mode.log" | tail -n 1
}
MODES=${MODES:-raw sync resync}
RAW=""; SYNC=""; RESYNC=""
[[ $MODES == *raw* ]] && RAW=$(one raw "$RAW_N" 256)
[[ $MODES == *sync* && $MODES != resync ]] && SYNC=$(one sync "$SYNC_N" 1024)
[[ $MODES == *resync* ]] && RESYNC=$(one resync "$RESYNC_N" 2048)
COMMIT=$(git -C "$WP_REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$WP_REPO" status --porcelain --untracked-files=no -- . ":!perf/results" 2>/dev/null)" ] && COMMIT="$COMMIT+dirty"
# BENCH=another build: say which commit it is (BENCH_COMMIT), or the line names this checkout's.
COMMIT=${BENCH_COMMIT:-$COMMIT}
export COMMIT
"$WP_PY" - "$RAW" "$SYNC" "$RESYNC" <<'PY'
import json, sys, os
def load(s):
    try: return json.loads(s)
    except Exception: return {}
raw, sync, resync = (load(s) for s in sys.argv[1:4])
print(f"{'measure':44} {'value':>14}")
print(f"{'raw CPG, same-size messages (baseline)':44} {raw.get('messages_per_s', 0):>10.0f} msg/s  {raw.get('mbytes_per_s', 0):.1f} MB/s")
print(f"{'sync: sessions replicated':44} {sync.get('sessions_per_s', 0):>10.0f} sessions/s ({sync.get('messages_per_s', 0):.0f} msg/s)")
if sync.get('decoded_s'):
    print(f"{'sync: timed from':44} {sync.get('from', 'first_applied'):>14}; {sync.get('seconds', 0):.3f} s (first to last applied {sync.get('applied_span_s', 0):.3f} s; all decoded after {sync['decoded_s']:.3f} s); {sync.get('wire_bytes_per_session', 0):.1f} B/session on the wire")
print(f"{'resync of %d sessions' % resync.get('sessions', 0):44} {resync.get('seconds', 0):>10.2f} s ({resync.get('sessions_per_s', 0):.0f} sessions/s)")
sync_mbs = sync.get('bytes', 0) / sync['seconds'] / 1e6 if sync.get('seconds') else 0
ratio = sync_mbs / raw['mbytes_per_s'] if raw.get('mbytes_per_s') else 0
print(f"{'sync bytes/s vs raw CPG bytes/s (same run)':44} {ratio:>10.2f}")
out = {"bench": "ha", "sync_sessions_per_s": sync.get("sessions_per_s"), "sync_messages_per_s": sync.get("messages_per_s"),
       "sync_sessions": sync.get("sessions"), "sync_applied": sync.get("applied"),
       "resync_1m_s": resync.get("seconds") if resync.get("sessions") == 1000000 else None,
       "resync_sessions": resync.get("sessions"), "resync_applied": resync.get("applied"), "resync_s": resync.get("seconds"),
       "raw_cpg_messages_per_s": raw.get("messages_per_s"), "raw_cpg_mbytes_per_s": raw.get("mbytes_per_s"),
       "sync_vs_raw_bytes_ratio": round(ratio, 3), "commit": os.environ.get("COMMIT", "unknown"),
       "date": __import__("datetime").datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
line = json.dumps(out)
print(line)
if os.environ.get("WP_BENCH_OUT"):
    open(os.environ["WP_BENCH_OUT"], "a").write(line + "\n")
PY
