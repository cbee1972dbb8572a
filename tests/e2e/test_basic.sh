#!/bin/bash
# Two routers, canonical topology (lib.sh wp_topo_basic):
#   client/guest — r1 (branch) — WAN bridge — r2 (headend) — server
# usage: test_basic.sh [WORKERS]   (default 1; run_all.sh runs 1 and 2)
# Checks: crafted WAN packets are dropped for the right reason (and a valid one
# is delivered), byte-exact HTTP through SVR, the server sees the client's
# address, guests are denied by policy, iperf3 UDP/TCP, the WAN shows only
# waypoint addresses, proper waypoint ports, metadata only on session setup
# and HMAC trailers that verify, cookie false positives survive, SIGUSR1 dumps
# stats, routers exit 0 on SIGTERM.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WORKERS=${1:-1}
wp_init "wpe2e-basic-"
echo "== test_basic: 2 routers, $WORKERS worker(s), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi

KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" "$WORKERS" "$KEY"
wp_check "waypointd --check accepts r1.yaml" wp_check_config "$WP_TMP/r1.yaml"
wp_check "waypointd --check accepts r2.yaml" wp_check_config "$WP_TMP/r2.yaml"

wp_basic_up

wp_pair_start "$WORKERS"
wp_expect "r1 reports $WORKERS workers" "$(wp_stat r1 workers)" -eq "$WORKERS"

# --- crafted WAN packets to r2's waypoint, sent into the WAN bridge. They go first:
# no real UDP session exists yet whose port pair they could hit, and they stay out of
# the capture. The accepted (d) packet uses ports far above what r1 allocates.
R2MAC=$(wp_mac r2 r2w)
craft() { wp_exec wan "$WP_PY" "$WP_E2E/craft.py" "$@" --iface br0 --dmac "$R2MAC" --key "$KEY" >>"$WP_TMP/craft.log" 2>&1; }
crafted_drop() {  # DESC MODE SPORT DPORT COUNTER
  local before after
  before=$(wp_stat r2 "$5")
  craft "$2" --sport "$3" --dport "$4" || { wp_fail "$1: craft.py failed"; return; }
  after=$(wp_wait_stat r2 "$5" $((before + 1)))
  wp_expect "$1: r2 $5 increments" "$after" -gt "$before"
}
crafted_drop "(a) UDP without metadata or session" plain 16384 16385 drops.no_session
crafted_drop "(b) metadata with a wrong HMAC" badhmac 16386 16387 drops.bad_hmac
crafted_drop "(c) correct HMAC, TLV runs past its section" badtlv 16388 16389 drops.bad_metadata
# (d) Control: a complete block with a correct HMAC is accepted and delivered to the
# server with the original client address (proves craft.py's block and HMAC match the
# router's, so (b) and (c) are dropped for the reason they claim). A UDP sink stands in
# for the server on 5201 (stopped before iperf3 needs the port).
wp_bg s "$WP_TMP/udp_sink.log" "$WP_PY" -u "$WP_E2E/udp_echo.py" sink 10.2.0.10 5201
SINK_PID=$WP_BG_PID; WP_PIDS+=("$SINK_PID")
wp_check "UDP sink listening" wp_until 20 wp_log_has "$WP_TMP/udp_sink.log" "^listening"
before_md=$(wp_stat r2 counters.metadata_received)
before_hmac=$(wp_stat r2 drops.bad_hmac)
craft valid --sport 65000 --dport 65001 --count 1
wp_expect "(d) valid crafted metadata: r2 counters.metadata_received increments" \
  "$(wp_wait_stat r2 counters.metadata_received $((before_md + 1)))" -gt "$before_md"
wp_expect "(d) valid crafted metadata: no new bad_hmac" "$(wp_stat r2 drops.bad_hmac)" -eq "$before_hmac"
wp_check "(d) valid crafted metadata: server got the data from 10.1.0.10:40000, block stripped" \
  wp_until 10 wp_log_has "$WP_TMP/udp_sink.log" '^from 10\.1\.0\.10:40000 12$'
wp_kill "$SINK_PID" TERM

# --- capture the WAN from here on
CAP=$WP_TMP/wan.pcap
wp_cap_start wan br0 "$CAP" || { wp_fail "tshark start"; wp_finish; }

# --- HTTP, byte-exact
http_ok() {
  wp_fetch c http://10.2.0.10/file.bin "$WP_TMP/got.bin" 20 &&
    [ "$(wp_sha "$WP_TMP/got.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "curl 1 MiB through r1->r2 (after the crafted packets), sha256 matches" http_ok
wp_check "server saw the client address 10.1.0.10" grep -q '^10\.1\.0\.10 .*"GET /file.bin' "$WP_TMP/http.log"

# --- ICMP echo to the routers' own addresses (control thread), ARP included
wp_check "client pings r1's LAN address 10.1.0.1" wp_exec c ping -c 2 -i 0.2 -W 2 -q 10.1.0.1
wp_check "server pings r2's LAN address 10.2.0.1" wp_exec s ping -c 2 -i 0.2 -W 2 -q 10.2.0.1

# --- guests have no policy: the router says why their curl got no answer
guest_denied() { ! wp_fetch g http://10.2.0.10/file.bin "$WP_TMP/guest.bin" 1 2>/dev/null; }
wp_check "guest (10.1.0.200) curl fails" guest_denied
wp_expect "r1 drops.policy_deny > 0" "$(wp_wait_stat r1 drops.policy_deny 1)" -gt 0

# --- iperf3 UDP (captured; its session must show metadata on setup only)
wp_check "iperf3 UDP -b 50M -t 5 -l 1200" wp_iperf iperf-udp -u -b 50M -t 5 -l 1200

# --- the WAN capture
wp_cap_stop
wp_capcheck "$CAP" "$KEY" 172.16.0.1 172.16.0.2

# --- iperf3 TCP, outside the capture (bulk TCP at full speed would make it huge);
# the check is that bulk TCP flows, 2 s of it is hundreds of MB
wp_check "iperf3 TCP -t 2" wp_iperf iperf-tcp -t 2

wp_check "curl still works at the end" http_ok

# --- cookie false positive (docs/svr-wire-format.md § Metadata block): data that itself begins with the
# cookie crosses the WAN inside a bare 12-byte block and arrives unchanged, both ways.
wp_udp_echo_start 5201
fp_before1=$(wp_stat r1 counters.cookie_marker_stripped)
fp_before2=$(wp_stat r2 counters.cookie_marker_stripped)
wp_check "UDP data starting with the SVR cookie echoes back unchanged (3 round trips)" \
  wp_exec c "$WP_PY" "$WP_E2E/udp_echo.py" send 10.2.0.10 5201 hex:4c48dbc6ddf6670c0102030405 5 3
wp_expect "r2 counters.cookie_marker_stripped increments (forward: r1 added the marker)" \
  "$(wp_wait_stat r2 counters.cookie_marker_stripped $((fp_before2 + 1)))" -gt "$fp_before2"
wp_expect "r1 counters.cookie_marker_stripped increments (reverse)" \
  "$(wp_wait_stat r1 counters.cookie_marker_stripped $((fp_before1 + 1)))" -gt "$fp_before1"

# --- counters
wp_expect "r1 sessions_created > 0" "$(wp_stat r1 counters.sessions_created)" -gt 0
wp_expect "r1 metadata_sent > 0" "$(wp_stat r1 counters.metadata_sent)" -gt 0
wp_expect "r2 metadata_received > 0" "$(wp_stat r2 counters.metadata_received)" -gt 0
wp_expect "r2 sessions_created > 0" "$(wp_stat r2 counters.sessions_created)" -gt 0
wp_stats_json r1 >"$WP_TMP/stats-r1.log"; wp_stats_json r2 >"$WP_TMP/stats-r2.log"
usr1_dump() {  # SIGUSR1 prints the stats JSON on stderr (our log)
  local before
  before=$(grep -c '"policy_deny"' "${WP_ROUTER_LOG[r1]}")
  kill -USR1 "${WP_ROUTER_PID[r1]}"
  wp_until 10 wp_log_has "${WP_ROUTER_LOG[r1]}" '"policy_deny"' $((before + 1))
}
wp_check "SIGUSR1 makes r1 print its stats JSON on stderr" usr1_dump

# --- shutdown
wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
wp_check "r2 exits 0 on SIGTERM" wp_router_stop r2
wp_finish
