#!/bin/bash
# Three routers in a chain (SVR multi-hop: r2 re-NATs to r3 and keeps the metadata):
#   c (10.1.0.10) — r1 — wan1 bridge 172.16.0.0/24 — r2 — wan2 bridge 172.17.0.0/24 — r3 — s (10.2.0.10)
# r2's LAN (10.3.0.0/24) leads to an idle stub namespace.
# IPv6 step (docs/ipv6.md § IPv6 sessions between IPv4 waypoints, **Transit**): c (2001:db8:71::10)
# fetches 2 MiB from s (2001:db8:72::10) over the same IPv4 waypoints; r2 is the transit hop of
# an IPv6 session (TLV 3 kept, re-signed), r3 restores it; no IPv6 header on either WAN leg.
# ICMP error carriers through the transit hop (issue #19;
# docs/svr-wire-format.md § ICMP errors through the session, **Transit**): c sends UDP to a closed
# port of s (10.2.0.11:5201, [2001:db8:72::10]:5201) from port 40719; s's Port Unreachable
# (ICMPv6 Destination Unreachable code 4) is carried by r3 (TLV 20 / TLV 21), sent on re-signed by
# r2, and reaches c from s's address quoting c's own datagram (its socket gets ECONNREFUSED;
# tshark on c0: outer s -> c, inner c:40719 -> s:5201, checksum good); r2 counts
# svr_icmp4_errors_transited and svr6_icmp6_errors_transited, no svr_icmp_transit_invalid.
# usage: test_transit.sh [WORKERS]   (default 1)
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WORKERS=${1:-1}
CLOSED_LPORT=40719  # the client's source port toward the closed ports (the ICMP error step)
wp_init "wpe2e-transit-"
echo "== test_transit: r1 -> r2 -> r3, $WORKERS worker(s), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi

K12=$(wp_keygen)
K23=$(wp_keygen)
wp_conf_router r1 10.1.0.1/24 "$WORKERS" r2 wan0:172.16.0.1/24 -- "r2:172.16.0.2:$K12" >"$WP_TMP/r1.yaml"
wp_conf_router r2 10.3.0.1/24 "$WORKERS" r3 wan0:172.16.0.2/24 wan1:172.17.0.1/24 -- \
  "r1:172.16.0.1:$K12" "r3:172.17.0.2:$K23" >"$WP_TMP/r2.yaml"
wp_conf_router r3 10.2.0.1/24 "$WORKERS" "" wan0:172.17.0.2/24 -- "r2:172.17.0.1:$K23" >"$WP_TMP/r3.yaml"
# The IPv6 steps' LAN addresses, tenant, services (next_peer as for IPv4) and policies.
conf_v6() {  # FILE LAN6 [NEXT_PEER]
  local np=${3:+, next_peer: $3}
  sed -i -e "s|^  lan: {\(.*\)}\$|  lan: {\1, ipv6_addresses: [\"$2\"]}|" \
    -e "/^tenants:/a\\  - {name: v6, ipv6_prefixes: [\"2001:db8:71::/112\"]}" \
    -e "/^services:/a\\  - {name: web6, prefixes: [\"2001:db8:72::/64\"], protocol: tcp, ports: [\"80\"]$np}" \
    -e "/^services:/a\\  - {name: udp6, prefixes: [\"2001:db8:72::/64\"], protocol: udp, ports: [\"5201\"]$np}" \
    -e "/^policies:/a\\  - {tenant: v6, service: web6}" -e "/^policies:/a\\  - {tenant: v6, service: udp6}" "$1"
}
conf_v6 "$WP_TMP/r1.yaml" 2001:db8:71::1/64 r2
conf_v6 "$WP_TMP/r2.yaml" 2001:db8:73::1/64 r3
conf_v6 "$WP_TMP/r3.yaml" 2001:db8:72::1/64
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
  wp_addr s s0 10.2.0.10/24 && wp_addr s s0 10.2.0.11/24 && wp_gw s 10.2.0.1 || return 1
  wp_v6on c c0 && wp_v6on s s0 || return 1
  ip -n "$(wp_ns c)" -6 addr add 2001:db8:71::10/64 dev c0 nodad || return 1
  ip -n "$(wp_ns c)" -6 route add 2001:db8:72::/64 via 2001:db8:71::1 || return 1
  ip -n "$(wp_ns s)" -6 addr add 2001:db8:72::10/64 dev s0 nodad || return 1
  ip -n "$(wp_ns s)" -6 route add default via 2001:db8:72::1
}
topo || { wp_fail "topology setup"; wp_finish; }
wp_servers_start || { wp_fail "servers start"; wp_finish; }
wp_udp_echo_start 5201
head -c 2097152 /dev/urandom >"$WP_TMP/www/file6.bin"
wp_check "HTTP server on [2001:db8:72::10]:80" wp_http_start s 2001:db8:72::10 80 "$WP_TMP/http6.log" || wp_finish

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

# The first try also waits for ND at r1 (the client) and r3 (the server).
http6_ok() {
  wp_fetch c "http://[2001:db8:72::10]/file6.bin" "$WP_TMP/got6.bin" 20 -g -6 &&
    [ "$(wp_sha "$WP_TMP/got6.bin")" = "$(wp_sha "$WP_TMP/www/file6.bin")" ]
}
wp_check "curl -6 2 MiB through r1->r2->r3 (IPv6 session, r2 transit), sha256 matches" wp_until 30 http6_ok
wp_check "server saw the client address 2001:db8:71::10" grep -q '^2001:db8:71::10 .*"GET /file6.bin' "$WP_TMP/http6.log"

wp_cap_stop
no_v6_on() { [ "$(tshark -r "$1" -Y ipv6 2>/dev/null | wc -l)" -eq 0 ]; }
wp_check "tshark: no IPv6 header on wan1" no_v6_on "$WP_TMP/wan1.pcap"
wp_check "tshark: no IPv6 header on wan2" no_v6_on "$WP_TMP/wan2.pcap"
wp_capcheck "$WP_TMP/wan1.pcap" "$K12" 172.16.0.1 172.16.0.2
wp_capcheck "$WP_TMP/wan2.pcap" "$K23" 172.17.0.1 172.17.0.2
same_uuids() {  # the global session id (TLV 6) is the same on both legs
  local u1 u2
  u1=$("$WP_PY" "$WP_E2E/capcheck.py" "$WP_TMP/wan1.pcap" --uuids)
  u2=$("$WP_PY" "$WP_E2E/capcheck.py" "$WP_TMP/wan2.pcap" --uuids)
  echo "  session UUIDs on wan1: ${u1//$'\n'/ }, on wan2: ${u2//$'\n'/ }"
  [ -n "$u1" ] && [ "$u1" = "$u2" ] && [ "$(echo "$u1" | wc -l)" -eq 3 ]
}
wp_check "same 3 session UUIDs (TLV 6) on both WAN legs (http, udp, http over IPv6)" same_uuids

# ICMP errors through the transit hop: nothing listens on 10.2.0.11:5201 (the echo server is
# bound to 10.2.0.10) nor on UDP [2001:db8:72::10]:5201.
closed_refused() { wp_exec c "$WP_PY" "$WP_E2E/udp_echo.py" refused "$1" 5201 "$CLOSED_LPORT" 5; }
unreach_to_client() {  # FILTER: tshark's count of such frames on c0 >= 1
  [ "$(tshark -r "$WP_TMP/unreach-c.pcap" -Y "$1" 2>/dev/null | wc -l)" -ge 1 ]
}
wp_check "capture Port Unreachable on the client's link" wp_cap_start c c0 "$WP_TMP/unreach-c.pcap" -s 1500 \
  -f "(icmp and icmp[0] == 3 and icmp[1] == 3) or (icmp6 and ip6[40] == 1 and ip6[41] == 4)"
wp_check "UDP to closed 10.2.0.11:5201 through r1->r2->r3: the client's socket is refused" closed_refused 10.2.0.11
wp_check "UDP to closed [2001:db8:72::10]:5201 through r1->r2->r3: the client's socket is refused" \
  closed_refused 2001:db8:72::10
wp_cap_stop
wp_check "tshark: the client got Port Unreachable from 10.2.0.11 quoting 10.1.0.10:$CLOSED_LPORT -> 10.2.0.11:5201" \
  unreach_to_client "ip.src#1 == 10.2.0.11 && ip.dst#1 == 10.1.0.10 && icmp.type == 3 && icmp.code == 3 && icmp.checksum.status == 1 && ip.src#2 == 10.1.0.10 && ip.dst#2 == 10.2.0.11 && udp.srcport == $CLOSED_LPORT && udp.dstport == 5201"
wp_check "tshark: the client got ICMPv6 Port Unreachable from 2001:db8:72::10 quoting its own datagram" \
  unreach_to_client "ipv6.src#1 == 2001:db8:72::10 && ipv6.dst#1 == 2001:db8:71::10 && icmpv6.type == 1 && icmpv6.code == 4 && icmpv6.checksum.status == 1 && ipv6.src#2 == 2001:db8:71::10 && ipv6.dst#2 == 2001:db8:72::10 && udp.srcport == $CLOSED_LPORT && udp.dstport == 5201"
wp_expect "r3 svr_icmp4_errors_carried >= 1" "$(wp_stat r3 counters.svr_icmp4_errors_carried)" -ge 1
wp_expect "r2 svr_icmp4_errors_transited >= 1" "$(wp_stat r2 counters.svr_icmp4_errors_transited)" -ge 1
wp_expect "r2 svr6_icmp6_errors_transited >= 1" "$(wp_stat r2 counters.svr6_icmp6_errors_transited)" -ge 1
wp_expect "r1 svr_icmp4_errors_relayed >= 1" "$(wp_stat r1 counters.svr_icmp4_errors_relayed)" -ge 1
wp_expect "r1 svr6_icmp6_errors_relayed >= 1" "$(wp_stat r1 counters.svr6_icmp6_errors_relayed)" -ge 1
for d in svr_icmp_transit_invalid svr_icmp_not_transited; do
  wp_expect "r2 drops.$d = 0" "$(wp_stat r2 drops.$d)" -eq 0
done

wp_expect "r1 metadata_sent > 0" "$(wp_stat r1 counters.metadata_sent)" -gt 0
wp_expect "r2 metadata_received > 0" "$(wp_stat r2 counters.metadata_received)" -gt 0
wp_expect "r2 metadata_sent > 0 (keeps metadata toward r3)" "$(wp_stat r2 counters.metadata_sent)" -gt 0
wp_expect "r3 metadata_received > 0" "$(wp_stat r3 counters.metadata_received)" -gt 0
wp_expect "r1 svr6_sessions_created >= 1" "$(wp_stat r1 counters.svr6_sessions_created)" -ge 1
wp_expect "r2 svr6_transit_sessions >= 1" "$(wp_stat r2 counters.svr6_transit_sessions)" -ge 1
wp_expect "r2 svr6_sessions_created = 0 (no IPv6 side at the transit hop)" "$(wp_stat r2 counters.svr6_sessions_created)" -eq 0
wp_expect "r3 svr6_sessions_created >= 1" "$(wp_stat r3 counters.svr6_sessions_created)" -ge 1
for r in r1 r2 r3; do
  wp_expect "$r sessions_created >= 3" "$(wp_stat $r counters.sessions_created)" -ge 3
  wp_stats_json $r >"$WP_TMP/stats-$r.log"
done

for r in r1 r2 r3; do wp_check "$r exits 0 on SIGTERM" wp_router_stop $r; done
wp_finish
