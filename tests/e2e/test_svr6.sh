#!/bin/bash
# IPv6 sessions between IPv4 waypoints (docs/ipv6.md § IPv6 sessions between IPv4 waypoints):
#   c (2001:db8:71::10, guest 2001:db8:71::1:10) — r1 lan 10.1.0.1/24 + 2001:db8:71::1/64
#     r1 wan0 172.16.0.1/24 (IPv4 only) ══ wan bridge (capture) ══ r2 wan0 172.16.0.2/24
#     r2 lan 10.2.0.1/24 + 2001:db8:72::1/64 — s 2001:db8:72::10
# The WAN has no IPv6 at all: r1 translates the client's IPv6 sessions to IPv4 waypoint
# packets with TLV 3 metadata, r2 restores them onto its IPv6 LAN.
# usage: test_svr6.sh [WORKERS]   (default 2: the owner rule across workers)
# Checks: curl -6 5 MiB byte-exact; iperf3 -6 TCP 3 s and UDP 2 s; the guest's IPv6 session denied and
# counted; tshark on the WAN: only IPv4 between the waypoints (no IPv6 header), the metadata
# cookie only during setup, TLV 3 decoded by capcheck.py's HMAC check; REST at r1 and r2 and
# wpctl list a running flow by its IPv6 tuple, its role, peer and the IPv4 waypoints; IPFIX
# (wpctl flows collectors, tshark) has template 258 with IEs 27/28 and 225/226 and the same
# session id at r1 and r2 (svr6_export.sh); ICMPv6 echo over the session (#19: ping -6 -c 3
# succeeds, the echoes cross the WAN as UDP between the waypoints, no ICMPv6 on the WAN; the
# guest's ping denied); ICMPv6 errors through the session (#19): a host f behind the server,
# which routes for it over a link of MTU 1280 (s1; the LANs and the WAN are 1500): a 3 MiB
# PUT from the client to f completes only because s's Packet Too Big reaches the client
# through r2 and r1 (TLV 21; tshark on the client's link: from s's address, MTU 1280, a valid
# checksum, quoting the client's segment; the client caches MTU 1280, `ip -6 route get`; r2
# counts svr6_icmp6_errors_carried, r1 svr6_icmp6_errors_relayed); the same for an IPv4
# session (TLV 20, docs/svr-wire-format.md § ICMP errors through the session): a 3 MiB PUT
# from the client's 10.1.0.10 to f's 10.3.0.10 over the same link completes because s's
# Fragmentation Needed reaches the client (tshark: from 10.2.0.10, MTU 1280, checksum good;
# `ip route get` caches mtu 1280; r2 svr_icmp4_errors_carried, r1 svr_icmp4_errors_relayed);
# a UDP datagram in IPv6
# fragments to a UDP echo server and its fragmented answer, both whole at the far end (#19
# fragments, frag6_send.py); Router Advertisements on r1's LAN (ipv6_ra): the client's kernel
# solicits on link up, takes r1's link-local as its default route (proto ra) and forms a SLAAC
# address, installs the RA's Route Information prefix (proto ra), tshark decodes its RDNSS and
# DNSSL options, r1 counts rs_answered and ra_sent, and its final RA on SIGTERM removes that route
# (docs/ipv6.md § Router Advertisements); both routers stop cleanly.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/svr6_export.sh"

WORKERS=${1:-2}
wp_init "wpe2e-s6-"
echo "== test_svr6: r1 -> r2 over IPv4 waypoints, $WORKERS worker(s), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi
CLI=2001:db8:71::10
GUEST=2001:db8:71::1:10
SRV=2001:db8:72::10
FAR=2001:db8:73::10  # behind the server, which routes for it (ICMPv6 errors through the session)
KEY=$(wp_keygen)

wp_check "topology" wp_topo_v6_pair || wp_finish
far_host() {  # ns f behind s: s routes 2001:db8:73::/64 out of s1, a link of MTU 1280 on s's side
  wp_ns_add f && wp_veth s s1 f f0 && wp_v6on s s1 && wp_v6on f f0 &&
    wp_exec s sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null &&
    ip -n "$(wp_ns s)" -6 addr add 2001:db8:73::1/64 dev s1 nodad && ip -n "$(wp_ns s)" link set dev s1 mtu 1280 &&
    ip -n "$(wp_ns f)" -6 addr add "$FAR/64" dev f0 nodad && ip -n "$(wp_ns f)" -6 route add default via 2001:db8:73::1 &&
    ip -n "$(wp_ns c)" -6 route add 2001:db8:73::/64 via 2001:db8:71::1 src "$CLI" &&
    far_host4
}
far_host4() {  # and IPv4: c 10.1.0.10, s 10.2.0.10 routing 10.3.0.0/24 out of s1 (MTU 1280) to f
  ip -n "$(wp_ns c)" addr add 10.1.0.10/24 dev c0 && ip -n "$(wp_ns c)" route add 10.3.0.0/24 via 10.1.0.1 &&
    ip -n "$(wp_ns s)" addr add 10.2.0.10/24 dev s0 && ip -n "$(wp_ns s)" route add default via 10.2.0.1 &&
    wp_exec s sysctl -qw net.ipv4.ip_forward=1 >/dev/null && ip -n "$(wp_ns s)" addr add 10.3.0.1/24 dev s1 &&
    ip -n "$(wp_ns f)" addr add 10.3.0.10/24 dev f0 && ip -n "$(wp_ns f)" route add default via 10.3.0.1
}
wp_check "a host $FAR behind the server, over a 1280-byte link" far_host || wp_finish

conf() {  # NAME LAN4 LAN6 WAN4 PEER PEERWAN NEXT_PEER [ROUTES]
  cat <<YAML
router:
  name: $1
  lan: {name: lan, device: net_af_packet0, address: $2, ipv6_addresses: ["$3"]}
  wan:
    - {name: wan0, device: net_af_packet1, address: $4}
${8:-}
tenants:
  - {name: v6, ipv6_prefixes: ["2001:db8:71::/112"]}
  - {name: v4, prefixes: ["10.1.0.0/24"]}
  - {name: guests, ipv6_prefixes: ["2001:db8:71::1:0/112"]}
services:
  - {name: web6, prefixes: ["2001:db8:72::/64", "2001:db8:73::/64"], protocol: tcp, ports: ["80", "5201"]$7}
  - {name: ping6, prefixes: ["2001:db8:72::/64"], protocol: any$7}
  - {name: web4, prefixes: ["10.3.0.0/24"], protocol: tcp, ports: ["8080"]$7}
policies:
  - {tenant: v4, service: web4}
  - {tenant: v6, service: web6}
  - {tenant: v6, service: ping6}
peers:
  - {name: $5, waypoints: [$6], key: "$KEY"}
dataplane: {workers: $WORKERS, max_sessions: 65536}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
YAML
}
conf r1 10.1.0.1/24 2001:db8:71::1/64 172.16.0.1/24 r2 172.16.0.2 ", next_peer: r2" >"$WP_TMP/r1.yaml"
conf r2 10.2.0.1/24 2001:db8:72::1/64 172.16.0.2/24 r1 172.16.0.1 "" \
  'routes: [{prefix: "2001:db8:73::/64", next_hop: "2001:db8:72::10", interface: lan},
           {prefix: "10.3.0.0/24", next_hop: "10.2.0.10", interface: lan}]' >"$WP_TMP/r2.yaml"
for r in r1 r2; do svr6_export_yaml >>"$WP_TMP/$r.yaml"; done
# Router Advertisements on r1's LAN (docs/ipv6.md § Router Advertisements): checked at the end.
# With a DNS server, a search domain and a route (RFC 8106, RFC 4191).
RA_DNS=2001:db8:53::53 RA_SEARCH=corp.example RA_ROUTE=2001:db8:7e::/48
sed -i 's|ipv6_addresses: \["2001:db8:71::1/64"\]}|ipv6_addresses: ["2001:db8:71::1/64"], ipv6_ra: {enabled: true, interval_s: 30, dns_servers: ["'$RA_DNS'"], dns_search: ['$RA_SEARCH'], route_prefixes: ["'$RA_ROUTE'"]}}|' \
  "$WP_TMP/r1.yaml"
wp_check "waypointd --check accepts r1.yaml (IPv6 service with next_peer)" wp_check_config "$WP_TMP/r1.yaml"
wp_check "waypointd --check accepts r2.yaml" wp_check_config "$WP_TMP/r2.yaml"

wp_check "HTTP and iperf3 servers on [$SRV] (5 MiB file)" wp_servers_start "$SRV" 5242880 || wp_finish

wp_check "capture the WAN" wp_cap_start wan br0 "$WP_TMP/wan.pcap" -s 1500
svr6_collectors_start
wp_pair_start "$WORKERS"

# The first try also waits for DAD of the routers' addresses and ND both sides.
wp_check "curl -6 5 MiB over IPv4 waypoints, sha256 matches" wp_until 60 wp_http6_ok
wp_check "the server saw the client's own address" grep -q "^$CLI .*\"GET /file.bin" "$WP_TMP/http.log"
# ICMPv6 echo through an SVR session (docs/ipv6.md § ICMPv6 over SVR): ping6 takes any protocol, no ports.
wp_check "ping -6 -c 3 from the client to the server across the session" \
  wp_exec c ping -6 -n -q -c 3 -i 0.2 -W 3 -p 57617970 -I "$CLI" "$SRV"
guest_ping_denied() { ! wp_exec c ping -6 -n -q -c 1 -W 1 -I "$GUEST" "$SRV" >/dev/null; }
wp_check "the guest's ping ($GUEST) is denied" guest_ping_denied
# The capture holds the 5 MiB download only: iperf3 below would add hundreds of MB,
# which tshark then reads for minutes.
wp_cap_stop
svr6_ipfix_capture_start
no_v6_on_wan() { [ "$(tshark -r "$WP_TMP/wan.pcap" -Y ipv6 2>/dev/null | wc -l)" -eq 0 ]; }
wp_check "tshark: no IPv6 header on the WAN" no_v6_on_wan
only_waypoints() {
  local other
  other=$(tshark -r "$WP_TMP/wan.pcap" -Y 'ip && !arp' -T fields -e ip.src -e ip.dst 2>/dev/null |
    grep -cvE '^172\.16\.0\.[12]\s172\.16\.0\.[12]$')
  [ "$other" -eq 0 ] && [ "$(tshark -r "$WP_TMP/wan.pcap" -Y ip 2>/dev/null | wc -l)" -gt 3000 ]
}
wp_check "tshark: every IPv4 packet on the WAN is between the waypoints" only_waypoints
echo_as_udp() {  # the 3 requests and 3 replies: UDP between the waypoints, their data the echo message
  local n
  n=$(tshark -r "$WP_TMP/wan.pcap" -Y "udp && ip.addr == 172.16.0.1 && ip.addr == 172.16.0.2 && data.data contains 57:61:79:70:57:61:79:70" 2>/dev/null | wc -l)
  [ "$n" -ge 6 ] && [ "$(tshark -r "$WP_TMP/wan.pcap" -Y 'icmpv6 || icmp' 2>/dev/null | wc -l)" -eq 0 ]
}
wp_check "tshark: the echoes crossed the WAN as UDP between the waypoints, no ICMP on the WAN" echo_as_udp
wp_check_cookie_at_setup "$WP_TMP/wan.pcap"
wp_capcheck "$WP_TMP/wan.pcap" "$KEY" 172.16.0.1 172.16.0.2
wp_check "iperf3 -6 TCP 3 s" wp_iperf6 tcp -t 3
# UDP too (service ping6 takes any protocol; the control connection is web6's).
wp_check "iperf3 -6 UDP 2 s at 20 Mbit/s over IPv4 waypoints (1200-byte datagrams)" wp_iperf6 udp6 -u -b 20M -l 1200 -t 2
# IPv6 fragments through the session (docs/ipv6.md § Fragments through IPv6 sessions over SVR):
# 1700 bytes of UDP sent by the client in three fragments (frag6_send.py, last first) to a UDP
# echo server; r1 makes them whole and carries them, r2 restores the datagram, the server's
# kernel answers in two fragments, r2 makes those whole, r1 sends them to the client in IPv6
# fragments (LAN MTU 1500), and the client's socket gets the 1700 bytes back, same digest.
wp_bg s "$WP_TMP/udp_echo6.log" "$WP_PY" -u "$WP_E2E/udp_echo.py" serve "$SRV" 7009
WP_PIDS+=("$WP_BG_PID")
wp_bg c "$WP_TMP/udp_back6.log" "$WP_PY" -u "$WP_E2E/udp_echo.py" digest "$CLI" 40120
WP_PIDS+=("$WP_BG_PID")
wp_check "udp echo on [$SRV]:7009 and a digest receiver on [$CLI]:40120 start" \
  wp_until 20 bash -c "grep -q ^listening '$WP_TMP/udp_echo6.log' && grep -q ^listening '$WP_TMP/udp_back6.log'"
R1MAC=$(wp_exec r1 cat /sys/class/net/r1l/address)
reasm6=$(wp_stat r1 counters.ipv6_datagrams_reassembled)
sha=$(wp_exec c "$WP_PY" "$WP_E2E/frag6_send.py" --iface c0 --dmac "$R1MAC" --src "$CLI" --dst "$SRV" \
  --sport 40120 --dport 7009 --len 1700 --size 600 --id 21 | awk '/^sha256/ {print $2}')
wp_check "a UDP datagram in 3 IPv6 fragments crosses the session and comes back whole (sha256 $sha)" \
  wp_until 10 wp_log_has "$WP_TMP/udp_back6.log" "^from ${SRV}:7009 1700 sha256 $sha"
wp_check "the server got it whole" wp_log_has "$WP_TMP/udp_echo6.log" "^from ${CLI}:40120 1700"
wp_expect "r1 counters.ipv6_datagrams_reassembled grows" \
  "$(wp_wait_stat r1 counters.ipv6_datagrams_reassembled $((reasm6 + 1)))" -gt "$reasm6"
wp_expect "r2 counters.ipv6_datagrams_reassembled >= 1 (the server's answer)" \
  "$(wp_wait_stat r2 counters.ipv6_datagrams_reassembled 1)" -ge 1
wp_expect "r1 counters.svr6_fragments6_sent >= 2 (the answer, in fragments to the client)" \
  "$(wp_wait_stat r1 counters.svr6_fragments6_sent 2)" -ge 2
svr6_live_checks 172.16.0.1 172.16.0.2

before=$(wp_stat r1 drops.policy_deny)
guest_denied() { ! wp_fetch c "http://[$SRV]/file.bin" "$WP_TMP/guest.bin" 3 -g -6 --interface "$GUEST"; }
wp_check "the guest ($GUEST) cannot fetch" guest_denied
wp_expect "r1 drops.policy_deny grows (the guest's tenant has no policy)" \
  "$(wp_wait_stat r1 drops.policy_deny $((before + 1)))" -gt "$before"
wp_check "the server never saw the guest" bash -c "! grep -q '^$GUEST ' '$WP_TMP/http.log'"

wp_expect "r1 counters.svr6_sessions_created >= 3 (http, iperf3 control and data)" \
  "$(wp_stat r1 counters.svr6_sessions_created)" -ge 3
wp_expect "r2 counters.svr6_sessions_created >= 3" "$(wp_stat r2 counters.svr6_sessions_created)" -ge 3
wp_expect "r2 counters.svr6_to_lan > 3000 (5 MiB)" "$(wp_stat r2 counters.svr6_to_lan)" -gt 3000
wp_expect "r1 drops.svr6_untranslatable = 0" "$(wp_stat r1 drops.svr6_untranslatable)" -eq 0
wp_expect "r2 drops.svr6_too_big = 0" "$(wp_stat r2 drops.svr6_too_big)" -eq 0
wp_expect "r2 drops.bad_hmac = 0" "$(wp_stat r2 drops.bad_hmac)" -eq 0
svr6_ipfix_checks 172.16.0.1 172.16.0.2 258

# ICMPv6 errors through the session (docs/ipv6.md § ICMPv6 over SVR): the client's full-size
# segments to f do not fit s1; s's Packet Too Big reaches the client only through the session.
far_server() {
  wp_bg f "$WP_TMP/http-far.log" "$WP_PY" -u "$WP_E2E/http_server.py" "$FAR" 80 "$WP_TMP/www"
  WP_PIDS+=("$WP_BG_PID")
  wp_wait_listen f 80
}
wp_check "HTTP server on [$FAR]" far_server
far_server4() {
  wp_bg f "$WP_TMP/http-far4.log" "$WP_PY" -u "$WP_E2E/http_server.py" 10.3.0.10 8080 "$WP_TMP/www"
  WP_PIDS+=("$WP_BG_PID")
  wp_wait_listen f 8080
}
upload_far4() {
  local got
  got=$(wp_exec c curl -sS --interface 10.1.0.10 --connect-timeout 5 --max-time 20 -H "Expect:" -T "$WP_TMP/up.bin" \
    "http://10.3.0.10:8080/up.bin") && [ "$got" = "3145728 $(wp_sha "$WP_TMP/up.bin")" ]
}
frag_needed_to_client() {
  [ "$(tshark -r "$WP_TMP/fn-c.pcap" -Y "icmp.type == 3 && icmp.code == 4 && icmp.mtu == 1280 && ip.src == 10.2.0.10 && ip.dst == 10.1.0.10 && icmp.checksum.status == 1 && ip.dst == 10.3.0.10 && tcp.dstport == 8080" 2>/dev/null | wc -l)" -ge 1 ]
}
head -c 3145728 /dev/urandom >"$WP_TMP/up.bin"
wp_check "capture Packet Too Big on the client's link" \
  wp_cap_start c c0 "$WP_TMP/ptb-c.pcap" -s 1500 -f "icmp6 and ip6[40] == 2"
upload_far() {  # a 3 MiB PUT, answered with its length and sha256 (a PMTU black hole stalls it)
  local got
  got=$(wp_exec c curl -sS -g -6 --interface "$CLI" --connect-timeout 5 --max-time 20 -H "Expect:" -T "$WP_TMP/up.bin" \
    "http://[$FAR]/up.bin") && [ "$got" = "3145728 $(wp_sha "$WP_TMP/up.bin")" ]
}
wp_check "curl -6 PUT 3 MiB to [$FAR] behind the 1280-byte link arrives whole" upload_far
wp_cap_stop
ptb_to_client() {  # from s (its address toward the client), MTU 1280, checksum good, quoting the client's segment
  [ "$(tshark -r "$WP_TMP/ptb-c.pcap" -Y "icmpv6.type == 2 && icmpv6.mtu == 1280 && ipv6.src == $SRV && ipv6.dst == $CLI && icmpv6.checksum.status == 1 && ipv6.dst == $FAR && tcp.dstport == 80" 2>/dev/null | wc -l)" -ge 1 ]
}
wp_check "tshark: the client got s's Packet Too Big (MTU 1280, checksum good, its own segment quoted)" ptb_to_client
cached_1280() { wp_exec c ip -6 route get "$FAR" 2>/dev/null | grep -q " mtu 1280"; }
wp_check "the client caches MTU 1280 toward $FAR (ip -6 route get)" cached_1280
wp_expect "r2 counters.svr6_icmp6_errors_carried >= 1" "$(wp_stat r2 counters.svr6_icmp6_errors_carried)" -ge 1
wp_expect "r1 counters.svr6_icmp6_errors_relayed >= 1" "$(wp_stat r1 counters.svr6_icmp6_errors_relayed)" -ge 1
for d in svr6_icmp6_error_invalid svr_icmp_error_unsupported bad_hmac; do
  wp_expect "r1 drops.$d = 0" "$(wp_stat r1 drops.$d)" -eq 0
done
# The same for an IPv4 session (TLV 20): f's IPv4 address, the same 1280-byte link.
wp_check "HTTP server on 10.3.0.10:8080" far_server4
wp_check "capture Fragmentation Needed on the client's link" \
  wp_cap_start c c0 "$WP_TMP/fn-c.pcap" -s 1500 -f "icmp and icmp[0] == 3 and icmp[1] == 4"
wp_check "curl PUT 3 MiB to 10.3.0.10 behind the 1280-byte link arrives whole" upload_far4
wp_cap_stop
wp_check "tshark: the client got s's Fragmentation Needed (MTU 1280, checksum good, its own segment quoted)" frag_needed_to_client
cached4_1280() { wp_exec c ip route get 10.3.0.10 2>/dev/null | grep -q " mtu 1280"; }
wp_check "the client caches MTU 1280 toward 10.3.0.10 (ip route get)" cached4_1280
wp_expect "r2 counters.svr_icmp4_errors_carried >= 1" "$(wp_stat r2 counters.svr_icmp4_errors_carried)" -ge 1
wp_expect "r1 counters.svr_icmp4_errors_relayed >= 1" "$(wp_stat r1 counters.svr_icmp4_errors_relayed)" -ge 1
wp_expect "r1 drops.svr_icmp4_error_invalid = 0" "$(wp_stat r1 drops.svr_icmp4_error_invalid)" -eq 0

# Router Advertisements (docs/ipv6.md § Router Advertisements): the client, taking RAs from now on
# (accept_ra=2, not forwarding; its static addresses kept), solicits when its link comes up; r1
# answers from its link-local address: a default route (proto ra) and a SLAAC address in its /64;
# the RA's Route Information installs r1's route prefix (accept_ra_rt_info_max_plen=64), and
# tshark decodes its RDNSS and DNSSL options with the configured server and search domain.
R1LL=$("$WP_PY" -c 'import sys, ipaddress
m = [int(x, 16) for x in sys.argv[1].split(":")]
m[0] ^= 2
print(ipaddress.IPv6Address(bytes([0xfe, 0x80] + [0] * 6 + m[:3] + [0xff, 0xfe] + m[3:])))' "$R1MAC")
rs0=$(wp_stat r1 counters.rs_answered)
ra0=$(wp_stat r1 counters.ra_sent)
ra_client() {
  wp_exec c sysctl -qw net.ipv6.conf.c0.forwarding=0 net.ipv6.conf.c0.accept_ra=2 \
    net.ipv6.conf.c0.keep_addr_on_down=1 net.ipv6.conf.c0.accept_ra_rt_info_min_plen=0 \
    net.ipv6.conf.c0.accept_ra_rt_info_max_plen=64 >/dev/null &&
    ip -n "$(wp_ns c)" link set c0 down && ip -n "$(wp_ns c)" link set c0 up
}
wp_check "capture RAs on the client's link" wp_cap_start c c0 "$WP_TMP/ra-c.pcap" -s 1500 -f "icmp6 and ip6[40] == 134"
wp_check "the client takes RAs and solicits (accept_ra=2, link down/up)" ra_client
ra_default() { wp_exec c ip -6 route show proto ra | grep -q "^default via $R1LL dev c0"; }
wp_check "the client's default route is r1's link-local $R1LL, from an RA" wp_until 15 ra_default
slaac() { wp_exec c ip -6 -o addr show dev c0 scope global dynamic | grep -q "inet6 2001:db8:71:0:"; }
wp_check "the client formed a SLAAC address in 2001:db8:71::/64" wp_until 10 slaac
ra_route() { wp_exec c ip -6 route show proto ra | grep -q "^$RA_ROUTE via $R1LL dev c0"; }
wp_check "the client routes $RA_ROUTE via r1's link-local, proto ra (Route Information option)" wp_until 5 ra_route
wp_cap_stop
ra_dns_options() {
  [ "$(tshark -r "$WP_TMP/ra-c.pcap" -Y "icmpv6.type == 134 && ipv6.src == $R1LL && icmpv6.opt.rdnss == $RA_DNS && icmpv6.opt.dnssl == \"$RA_SEARCH\" && icmpv6.checksum.status == 1" 2>/dev/null | wc -l)" -ge 1 ]
}
wp_check "tshark: r1's RA carries RDNSS $RA_DNS and DNSSL $RA_SEARCH (checksum good)" ra_dns_options
wp_expect "r1 counters.rs_answered grows" "$(wp_wait_stat r1 counters.rs_answered $((rs0 + 1)))" -gt "$rs0"
wp_expect "r1 counters.ra_sent grows" "$(wp_wait_stat r1 counters.ra_sent $((ra0 + 1)))" -gt "$ra0"
wp_expect "r1 drops.nd_bad_router_solicit = 0" "$(wp_stat r1 drops.nd_bad_router_solicit)" -eq 0

wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
no_ra_default() { ! ra_default; }
wp_check "r1's final RA (Router Lifetime 0) removed the client's default route" wp_until 5 no_ra_default
wp_check "r2 exits 0 on SIGTERM" wp_router_stop r2
wp_finish
