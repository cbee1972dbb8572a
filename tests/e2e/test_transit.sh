#!/bin/bash
# Three routers in a chain (SVR multi-hop: r2 re-NATs to r3 and keeps the metadata):
#   c (10.1.0.10) — r1 — wan1 bridge 172.16.0.0/24 — r2 — wan2 bridge 172.17.0.0/24 — r3 — s (10.2.0.10)
# r2's LAN (10.3.0.0/24) leads to an idle stub namespace.
# usage: test_transit.sh [WORKERS]   (default 1)
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WORKERS=${1:-1}
wp_init "wpe2e-transit-"
echo "== test_transit: r1 -> r2 -> r3, $WORKERS worker(s), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi

K12=$(wp_keygen)
K23=$(wp_keygen)
wp_conf_router r1 10.1.0.1/24 "$WORKERS" r2 wan0:172.16.0.1/24 -- "r2:172.16.0.2:$K12" >"$WP_TMP/r1.yaml"
wp_conf_router r2 10.3.0.1/24 "$WORKERS" r3 wan0:172.16.0.2/24 wan1:172.17.0.1/24 -- \
  "r1:172.16.0.1:$K12" "r3:172.17.0.2:$K23" >"$WP_TMP/r2.yaml"
wp_conf_router r3 10.2.0.1/24 "$WORKERS" "" wan0:172.17.0.2/24 -- "r2:172.17.0.1:$K23" >"$WP_TMP/r3.yaml"
for r in r1 r2 r3; do wp_check "waypointd --check accepts $r.yaml" wp_check_config "$WP_TMP/$r.yaml"; done

topo() {
  wp_ns_add c r1 wan1 r2 x wan2 r3 s || return 1
  wp_veth c c0 r1 r1l || return 1
  wp_veth r1 r1w wan1 w1 && wp_veth r2 r2a wan1 w2 && wp_bridge wan1 br0 w1 w2 || return 1
  wp_veth r2 r2l x x0 || return 1
  wp_veth r2 r2b wan2 w2 && wp_veth r3 r3w wan2 w3 && wp_bridge wan2 br0 w2 w3 || return 1
  wp_veth r3 r3l s s0 || return 1
  wp_addr c c0 10.1.0.10/24 && wp_gw c 10.1.0.1 || return 1
  wp_addr x x0 10.3.0.10/24 || return 1
  wp_addr s s0 10.2.0.10/24 && wp_gw s 10.2.0.1
}
topo || { wp_fail "topology setup"; wp_finish; }
wp_servers_start || { wp_fail "servers start"; wp_finish; }
wp_udp_echo_start 5201

wp_router_start r1 "$WP_TMP/r1.yaml" "$WORKERS" r1l r1w
wp_router_start r2 "$WP_TMP/r2.yaml" "$WORKERS" r2l r2a r2b
wp_router_start r3 "$WP_TMP/r3.yaml" "$WORKERS" r3l r3w
for r in r1 r2 r3; do
  wp_check "$r ready (stats endpoint answers)" wp_wait_ready "$r" || wp_finish
done

if ! wp_cap_start wan1 br0 "$WP_TMP/wan1.pcap" || ! wp_cap_start wan2 br0 "$WP_TMP/wan2.pcap"; then
  wp_fail "tshark start"; wp_finish
fi

http_ok() {
  wp_fetch c http://10.2.0.10/file.bin "$WP_TMP/got.bin" 20 &&
    [ "$(wp_sha "$WP_TMP/got.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "curl 1 MiB through r1->r2->r3, sha256 matches" http_ok
wp_check "server saw the client address 10.1.0.10 (http)" grep -q '^10\.1\.0\.10 .*"GET /file.bin' "$WP_TMP/http.log"

udp_ok() { wp_exec c "$WP_PY" "$WP_E2E/udp_echo.py" send 10.2.0.10 5201 "svr-transit-$$" 5 3; }
wp_check "UDP echo through r1->r2->r3, 3 round trips on one session" udp_ok
wp_check "server saw the client address 10.1.0.10 (udp)" grep -q '^from 10\.1\.0\.10:' "$WP_TMP/udp_echo.log"

wp_cap_stop
wp_capcheck "$WP_TMP/wan1.pcap" "$K12" 172.16.0.1 172.16.0.2
wp_capcheck "$WP_TMP/wan2.pcap" "$K23" 172.17.0.1 172.17.0.2
same_uuids() {  # the global session id (TLV 6) is the same on both legs
  local u1 u2
  u1=$("$WP_PY" "$WP_E2E/capcheck.py" "$WP_TMP/wan1.pcap" --uuids)
  u2=$("$WP_PY" "$WP_E2E/capcheck.py" "$WP_TMP/wan2.pcap" --uuids)
  echo "  session UUIDs on wan1: ${u1//$'\n'/ }, on wan2: ${u2//$'\n'/ }"
  [ -n "$u1" ] && [ "$u1" = "$u2" ] && [ "$(echo "$u1" | wc -l)" -eq 2 ]
}
wp_check "same 2 session UUIDs (TLV 6) on both WAN legs" same_uuids

wp_expect "r1 metadata_sent > 0" "$(wp_stat r1 counters.metadata_sent)" -gt 0
wp_expect "r2 metadata_received > 0" "$(wp_stat r2 counters.metadata_received)" -gt 0
wp_expect "r2 metadata_sent > 0 (keeps metadata toward r3)" "$(wp_stat r2 counters.metadata_sent)" -gt 0
wp_expect "r3 metadata_received > 0" "$(wp_stat r3 counters.metadata_received)" -gt 0
for r in r1 r2 r3; do
  wp_expect "$r sessions_created >= 2" "$(wp_stat $r counters.sessions_created)" -ge 2
  wp_stats_json $r >"$WP_TMP/stats-$r.log"
done

for r in r1 r2 r3; do wp_check "$r exits 0 on SIGTERM" wp_router_stop $r; done
wp_finish
