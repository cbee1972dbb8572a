#!/bin/bash
# Stateful NAT64 (docs/ipv6.md § NAT64): an IPv6-only client reaches an
# IPv4-only server through r1. One router, no peer:
#   c (2001:db8:1::10, guest 2001:db8:1::1:10) — r1 lan (2001:db8:1::1/64)
#     r1 wan0 172.16.0.1/24, pool 172.16.0.64 — m 172.16.0.254 | 11.0.65.1 (MTU 1280) — s 11.0.65.10
#                                                                | 11.0.66.1 (MTU 1500) — s2 11.0.66.10
# The server is 64:ff9b::b00:410a to the client (the Well-Known Prefix; 11.0.65.10 is a
# global address, which the WKP requires). m is a plain Linux router whose server side has
# a 1280-byte MTU, so an IPv4 packet over it with DF set gets Fragmentation Needed.
# r1's LAN MTU is 1400 (the client's link 1500): s2's full-size TCP segments (1480 bytes,
# the client's MSS) are 1500 once translated, so r1 sends s2 Fragmentation Needed (MTU 1380);
# replies without DF larger than 1400 reach the client in IPv6 fragments.
# usage: test_nat64.sh [WORKERS]   (default 2: replies must reach the binding's worker)
# Checks: ping -6, curl -6 1 MiB byte-exact, a UDP exchange, a denied tenant counted, tshark
# on both sides (the server side sees only the pool address, the client side only the
# server's IPv6 address), PMTU (the client caches the Packet Too Big's MTU 1300), hop limit 1
# (r1's own Time Exceeded), IPv6 fragments reassembled and translated (byte-exact, overlaps
# dropped and counted), ping -s 1400 fragmented both ways, counters.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WORKERS=${1:-2}
wp_init "wpe2e-n64-"
echo "== test_nat64: 1 router, $WORKERS worker(s), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi
SRV=11.0.65.10
SRV6=64:ff9b::b00:410a
SRV2=11.0.66.10
SRV2_6=64:ff9b::b00:420a
POOL=172.16.0.64

topo() {
  wp_ns_add c r1 m s s2 || return 1
  wp_veth c c0 r1 r1l && wp_veth r1 r1w m m0 && wp_veth m m1 s s0 && wp_veth m m2 s2 s20 || return 1
  # The client is IPv6 only (wp_ns_add turned IPv6 off everywhere).
  wp_exec c sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.c0.disable_ipv6=0 \
    net.ipv6.conf.c0.accept_dad=0 net.ipv6.conf.c0.accept_ra=0 >/dev/null || return 1
  ip -n "$(wp_ns c)" -6 addr add 2001:db8:1::10/64 dev c0 nodad || return 1
  ip -n "$(wp_ns c)" -6 addr add 2001:db8:1::1:10/64 dev c0 nodad || return 1
  ip -n "$(wp_ns c)" -6 route add 64:ff9b::/96 via 2001:db8:1::1 src 2001:db8:1::10 || return 1
  wp_addr m m0 172.16.0.254/24 && wp_addr m m1 11.0.65.1/24 && wp_addr m m2 11.0.66.1/24 || return 1
  wp_exec m sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0 >/dev/null || return 1
  ip -n "$(wp_ns m)" link set dev m1 mtu 1280 && ip -n "$(wp_ns s)" link set dev s0 mtu 1280 || return 1
  wp_addr s s0 "$SRV/24" && wp_gw s 11.0.65.1 && wp_addr s2 s20 "$SRV2/24" && wp_gw s2 11.0.66.1
}
wp_check "topology" topo || wp_finish

cat >"$WP_TMP/r1.yaml" <<YAML
router:
  name: r1
  lan: {name: lan, device: net_af_packet0, address: 10.1.0.1/24, ipv6_addresses: ["2001:db8:1::1/64"], mtu: 1400}
  wan:
    - {name: wan0, device: net_af_packet1, address: 172.16.0.1/24}
routes:
  - {prefix: 11.0.65.0/24, next_hop: 172.16.0.254, interface: wan0}
  - {prefix: 11.0.66.0/24, next_hop: 172.16.0.254, interface: wan0}
tenants:
  - {name: v6, ipv6_prefixes: ["2001:db8:1::/112"]}
  - {name: guests, ipv6_prefixes: ["2001:db8:1::1:0/112"]}
services:
  - name: v4net
    prefixes: [11.0.65.0/24, 11.0.66.0/24]
    nat64: {interface: wan0, pool: [$POOL]}
policies:
  - {tenant: v6, service: v4net}
dataplane: {workers: $WORKERS, max_sessions: 65536}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
YAML
wp_check "waypointd --check accepts r1.yaml" wp_check_config "$WP_TMP/r1.yaml"
sed "s|pool: \[$POOL\]|pool: [172.16.1.64]|" "$WP_TMP/r1.yaml" >"$WP_TMP/bad.yaml"
bad_refused() { ! wp_check_config "$WP_TMP/bad.yaml" && grep -q 'services\[0\].nat64.pool\[0\]' "$WP_TMP/check-bad.yaml.log"; }
wp_check "a pool outside wan0's subnet is refused at services[0].nat64.pool[0]" bad_refused

mkdir -p "$WP_TMP/www"
head -c 1048576 /dev/urandom >"$WP_TMP/www/file.bin"
wp_check "http server starts" wp_http_start s "$SRV" 80 "$WP_TMP/http.log" || wp_finish
wp_check "http server on s2 starts" wp_http_start s2 "$SRV2" 80 "$WP_TMP/http2.log" || wp_finish
wp_bg s "$WP_TMP/udp_echo.log" "$WP_PY" -u "$WP_E2E/udp_echo.py" serve "$SRV" 7007
WP_PIDS+=("$WP_BG_PID")
wp_check "udp echo starts" wp_until 20 wp_log_has "$WP_TMP/udp_echo.log" "^listening" || wp_finish

wp_router_start r1 "$WP_TMP/r1.yaml" "$WORKERS" r1l r1w
wp_check "r1 ready" wp_wait_ready r1 || wp_finish

wp_cap_start c c0 "$WP_TMP/v6.pcap" || { wp_fail "capture start (c0)"; wp_finish; }
wp_cap_start m m0 "$WP_TMP/v4.pcap" || { wp_fail "capture start (m0)"; wp_finish; }

ping6_ok() { wp_exec c ping -6 -c 1 -W 1 "$@" >/dev/null 2>&1; }
wp_check "ping -6 $SRV6 (ND both ways, ARP for the pool)" wp_until 20 ping6_ok "$SRV6"
wp_check "ping -6 -c 3 again" wp_exec c ping -6 -c 3 -i 0.2 -W 2 -q "$SRV6"
http_ok() {
  wp_fetch c "http://[$SRV6]/file.bin" "$WP_TMP/got.bin" 30 -g -6 &&
    [ "$(wp_sha "$WP_TMP/got.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "curl -6 1 MiB through NAT64, sha256 matches" http_ok
wp_check "the server saw the pool address $POOL" grep -q "^${POOL//./\\.} .*\"GET /file.bin" "$WP_TMP/http.log"
wp_check "UDP exchange (5 rounds on one socket)" \
  wp_exec c "$WP_PY" "$WP_E2E/udp_echo.py" send "$SRV6" 7007 nat64 3 5
wp_check "the UDP server saw the pool address" wp_log_has "$WP_TMP/udp_echo.log" "^from ${POOL//./\\.}:"

# --- a server whose path is wider than the client's LAN: its 1480-byte DF segments would be
# 1500 bytes of IPv6 on r1's 1400-byte LAN, so r1 answers Fragmentation Needed (MTU 1380) and
# the server's PMTU discovery does the rest (docs/ipv6.md § ICMPv4 errors from the router).
fn4=$(wp_stat r1 counters.nat64_icmp4_frag_needed)
http2_ok() {
  wp_fetch c "http://[$SRV2_6]/file.bin" "$WP_TMP/got2.bin" 30 -g -6 &&
    [ "$(wp_sha "$WP_TMP/got2.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "curl -6 1 MiB from s2 (path MTU 1500, r1's LAN 1400), sha256 matches" http2_ok
wp_expect "r1 counters.nat64_icmp4_frag_needed grows" "$(wp_stat r1 counters.nat64_icmp4_frag_needed)" -gt "$fn4"
s2_pmtu() { wp_exec s2 ip route get 172.16.0.64 | grep -q 'mtu 1380'; }
wp_check "s2 caches PMTU 1380 for the pool address" wp_until 10 s2_pmtu

# --- PMTU: 1448 bytes of IPv6 become 1428 of IPv4 with DF; m's 1280-byte side refuses them
# with Fragmentation Needed (MTU 1280) to the pool, which r1 turns into Packet Too Big
# (MTU 1300) to the client, whose kernel caches it for the route.
wp_exec c ping -6 -c 1 -W 1 -s 1400 -M do "$SRV6" >"$WP_TMP/ping-big.log" 2>&1
pmtu_cached() { wp_exec c ip -6 route get "$SRV6" | grep -q 'mtu 1300'; }
wp_check "the client caches PMTU 1300 for $SRV6 (Packet Too Big honoured)" wp_until 10 pmtu_cached
pmtu_ping() { wp_exec c ping -6 -c 1 -W 1 -s 1200 -M do "$SRV6" >/dev/null 2>&1; }
wp_check "a 1248-byte ping fits the path afterwards" wp_until 10 pmtu_ping

# --- a tenant without a policy
before=$(wp_stat r1 drops.nat64_policy_deny)
guest_denied() { ! wp_exec c ping -6 -c 1 -W 1 -I 2001:db8:1::1:10 "$SRV6" >/dev/null 2>&1; }
wp_check "the guest (2001:db8:1::1:10) ping fails" guest_denied
wp_expect "r1 drops.nat64_policy_deny grows" "$(wp_wait_stat r1 drops.nat64_policy_deny $((before + 1)))" -gt "$before"

# --- hop limit 1: r1 answers Time Exceeded itself, from its LAN address (RFC 7915 5.1)
hop1() { wp_exec c ping -6 -c 1 -W 1 -t 1 "$SRV6" >"$WP_TMP/ping-hop1.log" 2>&1; grep -q "From 2001:db8:1::1 .*Time exceeded" "$WP_TMP/ping-hop1.log"; }
wp_check "ping -6 -t 1: Time Exceeded from r1's 2001:db8:1::1" wp_until 10 hop1
wp_expect "r1 counters.nat64_icmp6_time_exceeded >= 1" "$(wp_stat r1 counters.nat64_icmp6_time_exceeded)" -ge 1

# --- fragments (docs/ipv6.md § NAT64 fragments): a UDP datagram of 3000 bytes in three IPv6
# fragments, sent last first, is reassembled by r1, translated whole and sent in IPv4
# fragments with DF clear (m fragments them again for its 1280-byte side); the server's digest
# of what it received must match. Overlapping fragments (RFC 5722) drop their datagram, counted,
# and a clean one still passes. Then ping -6 -s 1400: the client fragments it (its PMTU is 1300
# by now) and the server's 1428-byte reply comes back in IPv4 fragments (s's MTU 1280), which
# the af_packet port's fanout (PACKET_FANOUT_FLAG_DEFRAG) reassembles in r1's kernel on this
# wiring: the workers' IPv4 reassembly of replies is proven by nat64_fragment_test instead.
wp_bg s "$WP_TMP/udp_digest.log" "$WP_PY" -u "$WP_E2E/udp_echo.py" digest "$SRV" 7008
WP_PIDS+=("$WP_BG_PID")
wp_check "udp digest server starts" wp_until 20 wp_log_has "$WP_TMP/udp_digest.log" "^listening"
R1MAC=$(wp_exec r1 cat /sys/class/net/r1l/address)
frag6() {
  wp_exec c "$WP_PY" "$WP_E2E/frag6_send.py" --iface c0 --dmac "$R1MAC" --src 2001:db8:1::10 --dst "$SRV6" \
    --dport 7008 "$@" | awk '/^sha256/ {print $2}'
}
reasm6=$(wp_stat r1 counters.ipv6_datagrams_reassembled)
sha=$(frag6 --id 11 --sport 40111 --len 3000)
wp_check "3000 bytes of UDP in 3 IPv6 fragments reach the server byte-exact (sha256 $sha)" \
  wp_until 10 wp_log_has "$WP_TMP/udp_digest.log" "^from ${POOL//./\\.}:[0-9]* 3000 sha256 $sha"
wp_expect "r1 counters.ipv6_datagrams_reassembled grows" \
  "$(wp_wait_stat r1 counters.ipv6_datagrams_reassembled $((reasm6 + 1)))" -gt "$reasm6"
wp_expect "r1 counters.nat64_fragments_sent >= 3" "$(wp_wait_stat r1 counters.nat64_fragments_sent 3)" -ge 3
overlap0=$(wp_stat r1 drops.ipv6_frag_overlap)
sha_ov=$(frag6 --id 12 --sport 40112 --len 3000 --mode overlap)
wp_expect "overlapping fragments: r1 drops.ipv6_frag_overlap grows" \
  "$(wp_wait_stat r1 drops.ipv6_frag_overlap $((overlap0 + 1)))" -gt "$overlap0"
sha2=$(frag6 --id 13 --sport 40113 --len 2500)
wp_check "forwarding goes on: the next fragmented datagram arrives byte-exact" \
  wp_until 10 wp_log_has "$WP_TMP/udp_digest.log" "^from ${POOL//./\\.}:[0-9]* 2500 sha256 $sha2"
wp_check "the overlapped datagram never reached the server" bash -c "! grep -q 'sha256 $sha_ov' '$WP_TMP/udp_digest.log'"
reasm6=$(wp_stat r1 counters.ipv6_datagrams_reassembled)
frag6_out=$(wp_stat r1 counters.nat64_fragments6_sent)
big_ping() { wp_exec c ping -6 -c 1 -W 1 -s 1400 "$SRV6" >/dev/null 2>&1; }
wp_check "ping -6 -s 1400: IPv6 fragments out, the reply (IPv4 fragments) back in IPv6 fragments" wp_until 10 big_ping
wp_expect "r1 counters.nat64_fragments6_sent grows (the 1448-byte reply on the 1400-byte LAN)" \
  "$(wp_stat r1 counters.nat64_fragments6_sent)" -ge $((frag6_out + 2))
wp_expect "r1 counters.ipv6_datagrams_reassembled grows (the client's fragmented request)" \
  "$(wp_wait_stat r1 counters.ipv6_datagrams_reassembled $((reasm6 + 1)))" -gt "$reasm6"

wp_cap_stop
# --- the captures: IPv4 side only pool <-> server, IPv6 side only client <-> server6
# (and m's Fragmentation Needed to the pool, which quotes a pool -> server packet)
v4_pairs() {
  tshark -r "$WP_TMP/v4.pcap" -Y "ip.addr == $SRV" -T fields -E occurrence=f -e ip.src -e ip.dst 2>/dev/null |
    sort -u >"$WP_TMP/v4-pairs.txt"
  [ -s "$WP_TMP/v4-pairs.txt" ] || return 1
  ! grep -v -E "^(${POOL//./\\.}	${SRV//./\\.}|${SRV//./\\.}	${POOL//./\\.}|172\.16\.0\.254	${POOL//./\\.})$" "$WP_TMP/v4-pairs.txt"
}
wp_check "IPv4 capture: only $POOL <-> $SRV (and m -> $POOL)" v4_pairs
count() { tshark -r "$1" -Y "$2" 2>/dev/null | wc -l; }
wp_expect "IPv4 capture: TCP to port 80 from the pool" "$(count "$WP_TMP/v4.pcap" "ip.src == $POOL && tcp.dstport == 80")" -gt 0
wp_expect "IPv4 capture: ICMP echo replies to the pool" "$(count "$WP_TMP/v4.pcap" "icmp.type == 0 && ip.dst == $POOL")" -ge 4
wp_expect "IPv4 capture: Fragmentation Needed (MTU 1280) to the pool" \
  "$(count "$WP_TMP/v4.pcap" "icmp.type == 3 && icmp.code == 4 && icmp.mtu == 1280 && ip.dst == $POOL")" -ge 1
wp_expect "IPv6 capture: TCP from $SRV6 to the client" \
  "$(count "$WP_TMP/v6.pcap" "ipv6.src == $SRV6 && ipv6.dst == 2001:db8:1::10 && tcp.srcport == 80")" -gt 0
wp_expect "IPv6 capture: UDP from $SRV6 port 7007" "$(count "$WP_TMP/v6.pcap" "ipv6.src == $SRV6 && udp.srcport == 7007")" -ge 5
wp_expect "IPv6 capture: echo replies from $SRV6" "$(count "$WP_TMP/v6.pcap" "ipv6.src == $SRV6 && icmpv6.type == 129")" -ge 4
wp_expect "IPv6 capture: Packet Too Big, MTU 1300, quoting the client's packet" \
  "$(count "$WP_TMP/v6.pcap" "icmpv6.type == 2 && icmpv6.mtu == 1300 && ipv6.dst == 2001:db8:1::10")" -ge 1
wp_expect "IPv6 capture: nothing IPv4" "$(count "$WP_TMP/v6.pcap" "ip")" -eq 0
wp_expect "IPv6 capture: echo replies from $SRV6 in fragments (none over 1400 bytes)" \
  "$(count "$WP_TMP/v6.pcap" "ipv6.src == $SRV6 && ipv6.fraghdr.ident")" -ge 2
wp_expect "IPv6 capture: nothing from r1 longer than its LAN MTU" \
  "$(count "$WP_TMP/v6.pcap" "eth.src == $R1MAC && frame.len > 1414")" -eq 0
wp_expect "IPv4 capture: r1's Fragmentation Needed (MTU 1380) to $SRV2" \
  "$(count "$WP_TMP/v4.pcap" "icmp.type == 3 && icmp.code == 4 && icmp.mtu == 1380 && ip.src == 172.16.0.1 && ip.dst == $SRV2")" -ge 1

wp_expect "r1 counters.nat64_out > 100" "$(wp_stat r1 counters.nat64_out)" -gt 100
wp_expect "r1 counters.nat64_in > 700 (1 MiB)" "$(wp_stat r1 counters.nat64_in)" -gt 700
wp_expect "r1 counters.nat64_bindings_created >= 4" "$(wp_stat r1 counters.nat64_bindings_created)" -ge 4
wp_expect "r1 nat64.bindings (REST stats) >= 4" "$(wp_stat r1 nat64.bindings)" -ge 4
wp_expect "r1 counters.nat64_icmp_errors >= 1" "$(wp_stat r1 counters.nat64_icmp_errors)" -ge 1
wp_expect "r1 drops.nat64_no_binding = 0" "$(wp_stat r1 drops.nat64_no_binding)" -eq 0
wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
wp_finish
