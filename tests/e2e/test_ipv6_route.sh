#!/bin/bash
# IPv6 routed with sessions by one router (docs/ipv6.md § IPv6 routing and sessions):
#   c (2001:db8:71::10, guest 2001:db8:71::1:10) — r1 lan 2001:db8:71::1/64
#     r1 wan0 2001:db8:70::1/64 — m 2001:db8:70::2 | 2001:db8:72::1 — s 2001:db8:72::10
# m is a plain Linux IPv6 router, so r1 reaches the server's /64 by its static route via
# m (the gateway is resolved with Neighbor Discovery, not the server). The client's
# tenant may reach the service 2001:db8:72::/64; the guest's may not (deny by default).
# usage: test_ipv6_route.sh [WORKERS]   (default 2: replies must reach the session's worker)
# Checks: --check accepts an IPv6 service with next_peer; ping -6; curl -6 5 MiB byte-exact;
# iperf3 -6 TCP and UDP; the guest denied and counted; hop limit 1 answered with Time
# Exceeded from r1; r1's REST stats count the IPv6 sessions; while a UDP flow runs,
# GET /api/v1/sessions?addr= and `wpctl sessions --addr` list it with its IPv6 addresses, and
# r1's IPFIX export (captured on its loopback, decoded by tshark) has template 257 and a record
# whose IEs 27/28 (and 281/282) are the flow's addresses; r1 stops cleanly.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WORKERS=${1:-2}
WPCTL=${WPCTL:-$WP_REPO/build/tools/wpctl}
P_IPFIX=4739  # nobody listens: the capture on r1's lo is the collector
wp_init "wpe2e-r6-"
echo "== test_ipv6_route: 1 router, $WORKERS worker(s), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi
CLI=2001:db8:71::10
GUEST=2001:db8:71::1:10
SRV=2001:db8:72::10

topo() {
  wp_ns_add c r1 m s || return 1
  wp_veth c c0 r1 r1l && wp_veth r1 r1w m m0 && wp_veth m m1 s s0 || return 1
  wp_v6on c c0 && wp_v6on m m0 m1 && wp_v6on s s0 || return 1
  ip -n "$(wp_ns c)" -6 addr add "$CLI/64" dev c0 nodad || return 1
  ip -n "$(wp_ns c)" -6 addr add "$GUEST/64" dev c0 nodad || return 1
  ip -n "$(wp_ns c)" -6 route add 2001:db8:72::/64 via 2001:db8:71::1 src "$CLI" || return 1
  ip -n "$(wp_ns m)" -6 addr add 2001:db8:70::2/64 dev m0 nodad || return 1
  ip -n "$(wp_ns m)" -6 addr add 2001:db8:72::1/64 dev m1 nodad || return 1
  wp_exec m sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null || return 1
  ip -n "$(wp_ns m)" -6 route add 2001:db8:71::/64 via 2001:db8:70::1 || return 1
  ip -n "$(wp_ns s)" -6 addr add "$SRV/64" dev s0 nodad || return 1
  ip -n "$(wp_ns s)" -6 route add default via 2001:db8:72::1
}
wp_check "topology" topo || wp_finish

cat >"$WP_TMP/r1.yaml" <<YAML
router:
  name: r1
  lan: {name: lan, device: net_af_packet0, address: 10.1.0.1/24, ipv6_addresses: ["2001:db8:71::1/64"]}
  wan:
    - {name: wan0, device: net_af_packet1, address: 172.16.0.1/24, ipv6_addresses: ["2001:db8:70::1/64"]}
routes:
  - {prefix: "2001:db8:72::/64", next_hop: "2001:db8:70::2", interface: wan0}
tenants:
  - {name: v6, ipv6_prefixes: ["2001:db8:71::/112"]}
  - {name: guests, ipv6_prefixes: ["2001:db8:71::1:0/112"]}
services:
  - {name: srv6, prefixes: ["2001:db8:72::/64"]}
policies:
  - {tenant: v6, service: srv6}
dataplane: {workers: $WORKERS, max_sessions: 65536}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
ipfix: {collectors: ["127.0.0.1:$P_IPFIX"], active_timeout: 2, template_refresh: 5}
YAML
wp_check "waypointd --check accepts r1.yaml" wp_check_config "$WP_TMP/r1.yaml"
sed 's|{name: srv6, prefixes: \["2001:db8:72::/64"\]}|{name: srv6, prefixes: ["2001:db8:72::/64"], next_peer: r2}\npeers:\n  - {name: r2, waypoints: [172.16.0.2], key: "'"$(wp_keygen)"'"}|' \
  "$WP_TMP/r1.yaml" >"$WP_TMP/bad.yaml"
# IPv6 sessions between IPv4 waypoints (docs/ipv6.md; tests/e2e/test_svr6.sh runs them).
wp_check "an IPv6 service with next_peer is accepted" wp_check_config "$WP_TMP/bad.yaml"

wp_check "HTTP and iperf3 servers on [$SRV] (5 MiB file)" wp_servers_start "$SRV" 5242880 || wp_finish

wp_check "capture r1's IPFIX on its lo" wp_cap_start r1 lo "$WP_TMP/ipfix6.pcap" -s 1500 -f "udp port $P_IPFIX"
wp_router_start r1 "$WP_TMP/r1.yaml" "$WORKERS" r1l r1w
wp_check "r1 ready" wp_wait_ready r1 || wp_finish

ping6_ok() { wp_exec c ping -6 -c 1 -W 1 -I "$CLI" "$SRV" >/dev/null 2>&1; }
wp_check "ping -6 $SRV (ND for r1 and for the gateway; DAD of r1's addresses first)" wp_until 30 ping6_ok
wp_check "ping -6 -c 5 again" wp_exec c ping -6 -c 5 -i 0.2 -W 2 -q -I "$CLI" "$SRV"
wp_check "curl -6 5 MiB routed by r1, sha256 matches" wp_http6_ok
wp_check "the server saw the client's own address" grep -q "^$CLI .*\"GET /file.bin" "$WP_TMP/http.log"

wp_check "iperf3 -6 TCP 3 s" wp_iperf6 tcp -t 3
wp_check "iperf3 -6 UDP 2 s at 20 Mbit/s (1200-byte datagrams: no fragments)" wp_iperf6 udp -u -b 20M -l 1200 -t 2

before=$(wp_stat r1 drops.policy_deny)
guest_denied() { ! wp_fetch c "http://[$SRV]/file.bin" "$WP_TMP/guest.bin" 3 -g -6 --interface "$GUEST"; }
wp_check "the guest ($GUEST) cannot fetch" guest_denied
wp_expect "r1 drops.policy_deny grows (the guest's tenant has no policy)" \
  "$(wp_wait_stat r1 drops.policy_deny $((before + 1)))" -gt "$before"
wp_check "the server never saw the guest" bash -c "! grep -q '^$GUEST ' '$WP_TMP/http.log'"

hop1() {
  wp_exec c ping -6 -c 1 -W 1 -t 1 -I "$CLI" "$SRV" >"$WP_TMP/ping-hop1.log" 2>&1
  grep -q "From 2001:db8:71::1 .*Time exceeded" "$WP_TMP/ping-hop1.log"
}
wp_check "ping -6 -t 1: Time Exceeded from r1's 2001:db8:71::1" wp_until 10 hop1
wp_expect "r1 counters.ipv6_icmp6_time_exceeded >= 1" "$(wp_stat r1 counters.ipv6_icmp6_time_exceeded)" -ge 1

# IPv6 sessions in REST, wpctl and IPFIX (issue #19), while a UDP flow runs.
wp_bg c "$WP_TMP/iperf-live.log" timeout 20 iperf3 -6 -c "$SRV" -B "$CLI" -u -b 1M -l 1000 -t 5
LIVE_PID=$WP_BG_PID; WP_PIDS+=("$LIVE_PID")
rest_has_flow() {
  wp_exec r1 curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/sessions?addr=$CLI&limit=1000" \
    >"$WP_TMP/sessions6.json" || return 1
  "$WP_PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if any(s["family"] == "ipv6" and s["original"]["src"] == sys.argv[2] and s["original"]["dst"] == sys.argv[3]
                  and s["original"]["protocol"] == "udp" and s["original"]["dport"] == 5201 and s["egress"] == "wan0"
                  and s["ingress"] == "lan" and s["next_hop"] == "2001:db8:70::2" and s["tenant"] == "v6"
                  for s in d["sessions"]) else 1)' "$WP_TMP/sessions6.json" "$CLI" "$SRV"
}
wp_check "GET /api/v1/sessions?addr=$CLI lists the running UDP flow (ipv6, $CLI -> $SRV:5201 via wan0)" \
  wp_until 10 rest_has_flow
wpctl_has_flow() {
  wp_exec r1 "$WPCTL" --url "http://127.0.0.1:$WP_MGMT_PORT" sessions --addr "$SRV" >"$WP_TMP/wpctl6.txt" 2>&1 &&
    grep -q "\[$CLI\]:[0-9]* > \[$SRV\]:5201 udp" "$WP_TMP/wpctl6.txt"
}
wp_check "wpctl sessions --addr $SRV shows it" wp_until 10 wpctl_has_flow
# active_timeout 2 s: update records while the flow runs; 0.1 s export flush.
ipfix_v6_record() {
  tshark -r "$WP_TMP/ipfix6.pcap" -d "udp.port==$P_IPFIX,cflow" -T fields -E occurrence=a -E aggregator='|' \
    -e cflow.srcaddrv6 -e cflow.dstaddrv6 -e cflow.post_nat_source_ipv6_address \
    -e cflow.post_nat_destination_ipv6_address -e cflow.dstport -e cflow.protocol \
    -Y "cflow.srcaddrv6 == $CLI && cflow.dstaddrv6 == $SRV" 2>/dev/null >"$WP_TMP/ipfix6.tsv"
  "$WP_PY" -c '
import sys
cli, srv = sys.argv[2], sys.argv[3]
for line in open(sys.argv[1]):
    cols = [c.split("|") for c in line.rstrip("\n").split("\t")]
    for rec in zip(*cols):  # one record per position
        if rec[0] == cli and rec[1] == srv and rec[2] == cli and rec[3] == srv and rec[4] == "5201" and rec[5] == "17":
            sys.exit(0)
sys.exit(1)' "$WP_TMP/ipfix6.tsv" "$CLI" "$SRV"
}
wp_check "the UDP flow ends" wp_until 20 wp_dead "$LIVE_PID"
wp_cap_stop
wp_check "tshark: r1 sent IPFIX template 257" \
  bash -c "tshark -r '$WP_TMP/ipfix6.pcap' -d udp.port==$P_IPFIX,cflow -V 2>/dev/null | grep -q 'Template Id: 257'"
wp_check "tshark: an IPFIX record with IEs 27/28 = $CLI/$SRV, 281/282 the same, UDP port 5201" ipfix_v6_record
wp_expect "r1 no malformed IPFIX" \
  "$(tshark -r "$WP_TMP/ipfix6.pcap" -d udp.port==$P_IPFIX,cflow -V 2>&1 | grep -ci malformed)" -eq 0
wp_expect "r1 dropped no session events" "$(wp_stat r1 counters.ipfix_events_dropped)" -eq 0

wp_expect "r1 REST sessions6.created >= 4 (echo, http, iperf3 control and data)" \
  "$(wp_stat r1 sessions6.created)" -ge 4
wp_expect "r1 REST sessions6.active >= 1" "$(wp_stat r1 sessions6.active)" -ge 1
wp_expect "r1 counters.ipv6_forwarded > 3000 (5 MiB)" "$(wp_stat r1 counters.ipv6_forwarded)" -gt 3000
wp_expect "r1 drops.ipv6_no_route = 0" "$(wp_stat r1 drops.ipv6_no_route)" -eq 0
wp_expect "r1 drops.ipv6_table_full = 0" "$(wp_stat r1 drops.ipv6_table_full)" -eq 0
wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
wp_finish
