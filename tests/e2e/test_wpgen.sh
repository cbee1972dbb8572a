#!/bin/bash
# wpgen (issue #8) through two real waypointd on net_memif:
#   wpgen client end -- r1 (branch) -- WAN -- r2 (headend) -- wpgen server end
# Checks that wpgen and the routers agree: N sessions established (a reply
# seen for each), every reply and every request at the server end carries the
# addresses the plan says (r2 restored them), no loss, each router created
# exactly N sessions and r1 sent metadata for them, r2 received it; wpgen's
# request count matches what reached the server end; the steady phase runs on
# the fast path (r1 fast_path_packets grows). Then a deliberately broken plan
# (replies checked against a service port the routers do not use) must be
# reported as no sessions established, proving the checks can fail.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WORKERS=${1:-1}
N=${WPGEN_SESSIONS:-3000}
wp_init "wpe2e-wpgen-"
echo "== test_wpgen: $N sessions, $WORKERS worker(s)"
for b in "$WAYPOINTD" "$WPGEN"; do [ -x "$b" ] || { wp_fail "missing $b"; wp_finish; }; done

OUT=$WP_TMP/wpgen.out
wp_check "wpgen starts (memif servers listening)" wp_wpgen_start "$OUT" "$WORKERS" --sessions "$N" --clients 50 \
  --services 4 --rate 20000 --duration 1 --size imix --window 512 --label e2e || wp_finish
wp_check "r1 and r2 up on net_memif" wp_bench_pair_start "$WORKERS" 65536 || wp_finish
wp_check "wpgen run completes (exit 0)" wp_wpgen_wait 120
cat "$OUT" | grep -v '^{' | sed 's/^/  /'
f() { wp_json_field "$OUT" "$1"; }
wp_expect "wpgen opened $N sessions" "$(f opened)" -eq "$N"
wp_expect "wpgen saw a reply on every session (established)" "$(f established)" -eq "$N"
wp_expect "no reply with wrong addresses at the client end" "$(f reply_mismatch)" -eq 0
wp_expect "no request with wrong addresses at the server end (r2 restored them)" "$(f server_mismatch)" -eq 0
wp_expect "no packet lost" "$(f lost)" -eq 0
wp_expect "every request reached the server end" "$(f server_rx)" -eq "$(f requests)"
wp_expect "steady phase sent requests beyond the first packets" "$(f steady_requests)" -gt 0
wp_expect "r1 created exactly $N sessions" "$(wp_stat r1 sessions.created)" -eq "$N"
wp_expect "r2 created exactly $N sessions" "$(wp_stat r2 sessions.created)" -eq "$N"
wp_expect "r1 sent forward metadata at least once per session" "$(wp_stat r1 counters.metadata_sent)" -ge "$N"
wp_expect "r2 received metadata for every session" "$(wp_stat r2 counters.metadata_received)" -ge "$N"
wp_expect "r1 forwarded steady-phase packets on the fast path" "$(wp_stat r1 counters.fast_path_packets)" -gt 0
echo "  drops: r1 $(wp_nonzero_drops r1); r2 $(wp_nonzero_drops r2)"
# tx_full: the gratuitous ARP each router announces at start may meet a memif
# peer that is not connected yet; nothing else may be dropped.
for r in r1 r2; do
  wp_expect "$r dropped nothing but start-up announcements" \
    "$(($(wp_stat $r drops_total) - $(wp_stat $r drops.tx_full)))" -eq 0
  wp_expect "$r start-up tx_full drops at most 2" "$(wp_stat $r drops.tx_full)" -le 2
done

# A plan the routers cannot satisfy: services on port 5202, which no policy
# allows. wpgen must report zero established and every request lost.
wp_check "r1, r2 exit 0 on SIGTERM" wp_bench_pair_stop
BAD=$WP_TMP/wpgen-bad.out
wp_wpgen_start "$BAD" "$WORKERS" --sessions 100 --clients 10 --services 1 --service-port 5202 --drain-ms 300 \
  --window 64 --label e2e-deny && wp_bench_pair_start "$WORKERS" 65536 && wp_wpgen_wait 60
wp_expect "denied service: wpgen reports 0 established" "$(wp_json_field "$BAD" established)" -eq 0
wp_expect "denied service: wpgen reports all 100 requests lost" "$(wp_json_field "$BAD" lost)" -eq 100
wp_expect "denied service: r1 dropped each one as no_service" "$(wp_stat r1 drops.no_service)" -eq 100

wp_check "r1, r2 exit 0 on SIGTERM again" wp_bench_pair_stop
wp_finish
