#!/bin/bash
# NAT46 (docs/ipv6.md § NAT46): IPv4 clients reach an IPv6-only server through r1. One router:
#   c (10.1.0.10, guest 10.1.0.200) — r1 lan 10.1.0.1/24
#     r1 wan0 172.16.0.1/24 + 2001:db8:46::1/64 — s 2001:db8:46::a2e:a (IPv6 only)
# The clients use 10.46.0.10, which stands for 2001:db8:46::a2e:a (server_prefix
# 2001:db8:46::/96, RFC 6052); r1 writes the client 10.1.0.10 as 2001:db8:4646::a01:a
# (source_prefix), which s routes back to r1. Both links have a 1500-byte MTU, so a 1500-byte
# IPv4 packet with DF is 1520 once translated: r1 answers Fragmentation Needed (MTU 1480). (TCP
# does not meet it: the server's SYN-ACK announces MSS 1440, which the client keeps to.)
# r1's LAN says MTU 1400 (its veth stays at 1500, so the client announces MSS 1460): the server's
# 1500-byte segments are 1480 once translated, and r1 sends it Packet Too Big (MTU 1420), which
# the download needs to complete.
# usage: test_nat46.sh [WORKERS]   (default 2: replies are handed to the session's owner)
# Checks: ping, curl 4 MiB byte-exact (server -> client) through the server's Packet Too Big,
# Fragmentation Needed for a DF ping
# 20 bytes too big once translated, the guest denied and counted, iperf3 -t 3 (client -> server), tshark on the server's link (only the client's IPv6 form under
# the source prefix, nothing IPv4), counters and the REST gauge.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WORKERS=${1:-2}
wp_init "wpe2e-n46-"
echo "== test_nat46: 1 router, $WORKERS worker(s), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi
SRV=10.46.0.10
SRV6=2001:db8:46::a2e:a
CLI6=2001:db8:4646::a01:a  # 10.1.0.10 under the source prefix

topo() {
  wp_ns_add c r1 s || return 1
  wp_veth c c0 r1 r1l && wp_veth r1 r1w s s0 || return 1
  wp_addr c c0 10.1.0.10/24 && wp_addr c c0 10.1.0.200/24 && wp_gw c 10.1.0.1 || return 1
  wp_v6on s s0 || return 1  # the server is IPv6 only
  ip -n "$(wp_ns s)" -6 addr add "$SRV6/64" dev s0 nodad || return 1
  ip -n "$(wp_ns s)" -6 route add 2001:db8:4646::/96 via 2001:db8:46::1
}
wp_check "topology" topo || wp_finish

cat >"$WP_TMP/r1.yaml" <<YAML
router:
  name: r1
  lan: {name: lan, device: net_af_packet0, address: 10.1.0.1/24, mtu: 1400}
  wan:
    - {name: wan0, device: net_af_packet1, address: 172.16.0.1/24, ipv6_addresses: ["2001:db8:46::1/64"]}
tenants:
  - {name: lan, prefixes: [10.1.0.0/25]}
  - {name: guests, prefixes: [10.1.0.128/25]}
services:
  - name: v6srv
    prefixes: [10.46.0.0/24]
    nat46: {interface: wan0, server_prefix: "2001:db8:46::/96", source_prefix: "2001:db8:4646::/96"}
policies:
  - {tenant: lan, service: v6srv}
dataplane: {workers: $WORKERS, max_sessions: 65536}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
YAML
wp_check "waypointd --check accepts r1.yaml" wp_check_config "$WP_TMP/r1.yaml"

wp_check "http and iperf3 servers on $SRV6 start" wp_servers_start "$SRV6" 4194304 || wp_finish
wp_router_start r1 "$WP_TMP/r1.yaml" "$WORKERS" r1l r1w
wp_check "r1 ready (waypointd starts with a NAT46 service)" wp_wait_ready r1 || wp_finish
wp_cap_start s s0 "$WP_TMP/s.pcap" || { wp_fail "capture start (s0)"; wp_finish; }

ping_ok() { wp_exec c ping -c 1 -W 1 "$@" >/dev/null 2>&1; }
wp_check "ping $SRV (ICMP echo <-> ICMPv6 echo, Neighbor Discovery toward the server)" wp_until 20 ping_ok "$SRV"
http_ok() {
  wp_fetch c "http://$SRV/file.bin" "$WP_TMP/got.bin" 30 -4 --interface 10.1.0.10 &&
    [ "$(wp_sha "$WP_TMP/got.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "curl 4 MiB from the IPv6-only server through NAT46, sha256 matches" http_ok
wp_check "the server saw the client as $CLI6" grep -q "^$CLI6 .*\"GET /file.bin" "$WP_TMP/http.log"
wp_expect "r1 nat46.sessions (REST stats) >= 1" "$(wp_stat r1 nat46.sessions)" -ge 1
wp_expect "r1 counters.nat46_icmp6_too_big >= 1 (the server's 1500-byte segments)" \
  "$(wp_stat r1 counters.nat46_icmp6_too_big)" -ge 1
wp_check "the server cached MTU 1420 toward $CLI6 (the LAN's 1400 + 20)" \
  bash -c "ip -n '$(wp_ns s)' -6 route get $CLI6 | grep -q 'mtu 1420'"

# --- a DF packet that would exceed the server's link once translated: 1472 bytes of ping data
# are 1500 of IPv4 and 1520 of IPv6, so r1 answers Fragmentation Needed with MTU 1480 (the
# link's 1500 - 20). The reply of a ping that fits both ways (1352 bytes: 1380 of IPv4, within
# the LAN's 1400) comes back.
frag_needed() {
  wp_exec c ping -c 1 -W 1 -s 1472 -M do "$SRV" >"$WP_TMP/ping-df.log" 2>&1
  grep -q -E "From 10.1.0.1 .*mtu = 1480|mtu=1480" "$WP_TMP/ping-df.log"  # the error, or the PMTU it left
}
wp_check "ping -s 1472 -M do: Fragmentation Needed (mtu = 1480) from r1" wp_until 10 frag_needed
wp_expect "r1 counters.nat46_icmp4_frag_needed >= 1" "$(wp_stat r1 counters.nat46_icmp4_frag_needed)" -ge 1
wp_check "ping -s 1352 -M do fits (1400 bytes of IPv6, 1380 of IPv4 back)" wp_until 10 ping_ok -s 1352 -M do "$SRV"

before=$(wp_stat r1 drops.nat46_policy_deny)
guest_denied() { ! wp_exec c ping -c 1 -W 1 -I 10.1.0.200 "$SRV" >/dev/null 2>&1; }
wp_check "the guest (10.1.0.200) ping fails" guest_denied
wp_expect "r1 drops.nat46_policy_deny grows" "$(wp_wait_stat r1 drops.nat46_policy_deny $((before + 1)))" -gt "$before"
wp_cap_stop

# iperf3 after the capture (hundreds of thousands of packets tshark need not read).
WP_IPERF_SERVER=$SRV wp_check "iperf3 -t 3 TCP client -> server through NAT46" wp_iperf up -t 3 -B 10.1.0.10
count() { tshark -r "$1" -Y "$2" 2>/dev/null | wc -l; }
wp_expect "server link: TCP from $CLI6 to $SRV6 port 80" \
  "$(count "$WP_TMP/s.pcap" "ipv6.src == $CLI6 && ipv6.dst == $SRV6 && tcp.dstport == 80")" -gt 0
wp_expect "server link: echo requests from $CLI6" "$(count "$WP_TMP/s.pcap" "ipv6.src == $CLI6 && icmpv6.type == 128")" -ge 1
wp_expect "server link: every IPv6 packet to the server is from the source prefix (or r1's ND)" \
  "$(count "$WP_TMP/s.pcap" "ipv6.dst == $SRV6 && !(ipv6.src == 2001:db8:4646::/96) && !icmpv6")" -eq 0
wp_expect "server link: no guest source (2001:db8:4646::a01:c8)" "$(count "$WP_TMP/s.pcap" "ipv6.src == 2001:db8:4646::a01:c8")" -eq 0
wp_expect "server link: nothing IPv4" "$(count "$WP_TMP/s.pcap" "ip")" -eq 0

wp_expect "r1 counters.nat46_out > 1000" "$(wp_stat r1 counters.nat46_out)" -gt 1000
wp_expect "r1 counters.nat46_in > 2800 (4 MiB)" "$(wp_stat r1 counters.nat46_in)" -gt 2800
wp_expect "r1 counters.nat46_sessions_created >= 3" "$(wp_stat r1 counters.nat46_sessions_created)" -ge 3
wp_expect "r1 drops.nat46_no_session = 0" "$(wp_stat r1 drops.nat46_no_session)" -eq 0
wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
wp_finish
