#!/bin/bash
# IPv6 and IPv4 sessions between IPv6 waypoints (docs/ipv6.md § IPv6 sessions between IPv6
# waypoints, § IPv4 sessions between IPv6 waypoints):
#   c (2001:db8:71::10, guest 2001:db8:71::1:10; 10.1.0.10, guest 10.1.0.200) — r1 lan 10.1.0.1/24 + 2001:db8:71::1/64
#     r1 wan0 172.16.0.1/24 + 2001:db8:70::1/64 ══ wan bridge (capture) ══ r2 wan0 172.16.0.2/24 + 2001:db8:70::2/64
#     r2 lan 10.2.0.1/24 + 2001:db8:72::1/64 — s 2001:db8:72::10, 10.2.0.10
# Both WAN interfaces have an IPv6 address and each peer lists only the other's IPv6 waypoint,
# so both the client's IPv6 sessions (v6 in v6, TLV 3) and its IPv4 sessions (v4 in v6, TLV 2)
# cross the WAN between the IPv6 waypoints with metadata on the first packets; r2 restores
# them onto its LAN.
# usage: test_svr6v6.sh [WORKERS]   (default 2: the owner rule across workers)
# Checks, IPv6 first: curl -6 5 MiB byte-exact; iperf3 -6 TCP 2 s and UDP 2 s; the guest's IPv6 session
# denied and counted; tshark on the WAN: no IPv4 at all, every TCP/UDP packet between the IPv6
# waypoints, the metadata cookie only during setup, its HMAC trailers verified, the download's
# TCP marked AF41 in the outer Traffic Class both ways (both wan0 shaped at 100 Gbit/s, web6 of
# class video: docs/qos.md § Dataplane) and counted by both schedulers; REST at r1 and
# r2 and wpctl list a running flow by its IPv6 tuple, role, peer and the IPv6 waypoints (never a
# 0.255.x.x stand-in); IPFIX (wpctl flows collectors, tshark) has template 257 with IEs 27/28 and
# 281/282 = the waypoints and the same session id at r1 and r2 (svr6_export.sh). Then IPv4:
# curl -4 5 MiB byte-exact and iperf3 -4 TCP 2 s with the same WAN checks on a capture of their
# own, the MSS clamp keeping IPv4 segments within the WAN MTU, the IPv4 guest denied; REST and
# wpctl show a running IPv4 flow by its IPv4 tuple and the IPv6 waypoints (no 0.255.x.x stand-in
# in any session), IPFIX has template 259 with IEs 8/12 = the IPv4 tuple and 281/282 = the
# waypoints, the same session id at r1 and r2 (new collectors and IPFIX captures, svr6_export.sh).
# Then large UDP (#19 fragments): a WAN-MTU-size IPv6 datagram (its metadata makes it larger on
# the WAN) and a 1500-byte IPv4 one (1520 in IPv6) echoed back byte-exact (udp_echo.py compares
# every byte; the server logs the length), tshark on the WAN: IPv6 Fragment headers between the
# two waypoints both ways and still no IPv4; r1 and r2 count the fragmented and the reassembled
# datagrams, no waypoint6_too_big and no ipv6_frag_* drop.
# Path MTU (#19): the WAN is 1400 bytes (the routers' wan0 mtu and the WAN links), the LANs 1500.
# The server's full-size segments of the download get a Packet Too Big from r2 (tshark on the
# server's link: from r2's LAN address, MTU 1400), the client's of the iperf3 upload one from r1
# (tshark on the client's link); both hosts cache the MTU (`ip -6 route get` shows mtu 1400),
# r1 and r2 count svr6_icmp6_too_big and svr6_wan_too_big, and no frame on the WAN exceeds 1400.
# Both routers stop cleanly. Path cut (docs/ipv6.md § Paths over IPv6 waypoints): both restarted
# with path_monitoring, BFD over IPv6 (100 ms x 3) between the two waypointd brings each router's
# one path, over the peer's IPv6 waypoint, up; r1's WAN bridge port down takes it down and
# unusable at both (went_down +1 each); the port up brings it back up and usable at both, and a
# full-size IPv6 datagram is echoed over it again; both stop cleanly. Offload (docs/ipv6.md § Offload of IPv6 sessions between IPv6 waypoints):
# both restarted with the NIC model and the WAN at 1500; a curl -6 of 4 MiB at 1 MiB/s, byte-exact,
# shown offloaded by REST at both (waypoint6_offloaded, sessions_active), then carried by the NICs
# (hits > 1000 each) while the workers' waypoint6_sent/received stop (<= 6: the FINs); its end
# leaves an ipv6 closed record with the NIC's share at both and removes every rule.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/svr6_export.sh"

WORKERS=${1:-2}
wp_init "wpe2e-s66-"
echo "== test_svr6v6: r1 -> r2 over IPv6 waypoints, $WORKERS worker(s), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi
CLI=2001:db8:71::10
GUEST=2001:db8:71::1:10
SRV=2001:db8:72::10
CLI4=10.1.0.10
GUEST4=10.1.0.200
SRV4=10.2.0.10
KEY=$(wp_keygen)
WAN_MTU=1400

wp_check "topology" wp_topo_v6_pair || wp_finish
wan_mtu() {  # the WAN links (routers' ports, bridge ports, bridge) at $WAN_MTU; the LANs stay 1500
  ip -n "$(wp_ns r1)" link set dev r1w mtu $WAN_MTU && ip -n "$(wp_ns r2)" link set dev r2w mtu $WAN_MTU &&
    ip -n "$(wp_ns wan)" link set dev w1 mtu $WAN_MTU && ip -n "$(wp_ns wan)" link set dev w2 mtu $WAN_MTU &&
    ip -n "$(wp_ns wan)" link set dev br0 mtu $WAN_MTU
}
wp_check "WAN links at MTU $WAN_MTU, LANs at 1500" wan_mtu || wp_finish
lans_v4() {  # the IPv4 client, guest and server on the same LANs
  wp_addr c c0 "$CLI4/24" && wp_addr c c0 "$GUEST4/24" &&
    ip -n "$(wp_ns c)" route add 10.2.0.0/24 via 10.1.0.1 src "$CLI4" &&
    wp_addr s s0 "$SRV4/24" && wp_gw s 10.2.0.1
}
wp_check "IPv4 on the LANs (not on the WAN)" lans_v4 || wp_finish

conf() {  # NAME LAN4 LAN6 WAN4 WAN6 PEER PEERWAN4 (unused: IPv6 waypoints only) PEERWAN6 NEXT_PEER
  cat <<YAML
router:
  name: $1
  lan: {name: lan, device: net_af_packet0, address: $2, ipv6_addresses: ["$3"]}
  wan:
    - {name: wan0, device: net_af_packet1, address: $4, ipv6_addresses: ["$5"], mtu: $WAN_MTU$QOS_WAN}
tenants:
  - {name: v6, ipv6_prefixes: ["2001:db8:71::/112"]}
  - {name: guests, ipv6_prefixes: ["2001:db8:71::1:0/112"]}
  - {name: branch, prefixes: [10.1.0.0/25]}
  - {name: guests4, prefixes: [10.1.0.128/25]}
services:
  - {name: web6, prefixes: ["2001:db8:72::/64"], protocol: tcp, ports: ["80", "5201"]$9$QOS_WEB}
  - {name: web, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["80", "5201"]$9$QOS_WEB}
  - {name: echo6, prefixes: ["2001:db8:72::/64"], protocol: udp, ports: ["7009"]$9}
  - {name: iperf6u, prefixes: ["2001:db8:72::/64"], protocol: udp, ports: ["5201"]$9}
  - {name: echo4, prefixes: [10.2.0.0/24], protocol: udp, ports: ["7009"]$9}
policies:
  - {tenant: v6, service: web6}
  - {tenant: branch, service: web}
  - {tenant: v6, service: echo6}
  - {tenant: v6, service: iperf6u}
  - {tenant: branch, service: echo4}
peers:
  - {name: $6, waypoints: ["$8"], key: "$KEY"}
dataplane: {workers: $WORKERS, max_sessions: 65536}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
YAML
}
# Both WAN ports shaped (at 100 Gbit/s: the scheduler never holds a packet) and web6 and web of
# class video: the frames between the IPv6 waypoints pass the QoS step and carry AF41 (34) in
# the outer Traffic Class (docs/qos.md § Dataplane). The offload phase, last, runs unshaped.
QOS_WAN=", qos: {rate_kbps: 100000000}" QOS_WEB=", qos_class: video"
conf r1 10.1.0.1/24 2001:db8:71::1/64 172.16.0.1/24 2001:db8:70::1/64 r2 172.16.0.2 2001:db8:70::2 \
  ", next_peer: r2" >"$WP_TMP/r1.yaml"
conf r2 10.2.0.1/24 2001:db8:72::1/64 172.16.0.2/24 2001:db8:70::2/64 r1 172.16.0.1 2001:db8:70::1 "" \
  >"$WP_TMP/r2.yaml"
for r in r1 r2; do svr6_export_yaml >>"$WP_TMP/$r.yaml"; done
wp_check "waypointd --check accepts r1.yaml (IPv6 waypoint in peers[].waypoints)" wp_check_config "$WP_TMP/r1.yaml"
wp_check "waypointd --check accepts r2.yaml" wp_check_config "$WP_TMP/r2.yaml"

wp_check "HTTP and iperf3 servers on [$SRV] (5 MiB file)" wp_servers_start "$SRV" 5242880 || wp_finish
listening4() { wp_exec s ss -Hltn "src $SRV4 and sport = :$1" 2>/dev/null | grep -q LISTEN; }
servers_v4() {  # the same file and iperf3 on $SRV4
  wp_bg s "$WP_TMP/iperf3-4.log" iperf3 -s -B "$SRV4"
  WP_PIDS+=("$WP_BG_PID")
  wp_bg s "$WP_TMP/http4.log" "$WP_PY" -u "$WP_E2E/http_server.py" "$SRV4" 80 "$WP_TMP/www"
  WP_PIDS+=("$WP_BG_PID")
  wp_until 20 listening4 80 && wp_until 20 listening4 5201
}
wp_check "HTTP and iperf3 servers on $SRV4" servers_v4 || wp_finish

wp_check "capture the WAN" wp_cap_start wan br0 "$WP_TMP/wan.pcap" -s 1500
ptb_filter="icmp6 and ip6[40] == 2"  # Packet Too Big
wp_check "capture Packet Too Big on the server's link" wp_cap_start s s0 "$WP_TMP/ptb-s.pcap" -s 1500 -f "$ptb_filter"
svr6_collectors_start
wp_pair_start "$WORKERS"

# The first try also waits for DAD of the routers' addresses and ND on all three links.
wp_check "curl -6 5 MiB over IPv6 waypoints, sha256 matches" wp_until 60 wp_http6_ok
wp_check "the server saw the client's own address" grep -q "^$CLI .*\"GET /file.bin" "$WP_TMP/http.log"
# The capture holds the 5 MiB download only (iperf3 would make tshark slow).
wp_cap_stop
svr6_ipfix_capture_start
# ... and no frame above the WAN MTU (one tshark pass: the captures hold megabytes).
no_v4_on_wan() { [ "$(tshark -r "$1" -Y "ip || frame.len > $((WAN_MTU + 14))" 2>/dev/null | wc -l)" -eq 0 ]; }
only_waypoints6() {  # only_waypoints6 PCAP MIN_TCP
  local other
  other=$(tshark -r "$1" -Y 'ipv6 && (tcp || udp)' -T fields -e ipv6.src -e ipv6.dst 2>/dev/null |
    grep -cvE '^2001:db8:70::[12]\s2001:db8:70::[12]$')
  [ "$other" -eq 0 ] && [ "$(tshark -r "$1" -Y 'ipv6 && tcp' 2>/dev/null | wc -l)" -gt "$2" ]
}
hmac6_ok() { "$WP_PY" "$WP_E2E/capcheck.py" "$1" --hmac "$KEY"; }
wp_check "tshark: no IPv4 on the WAN (the session rides IPv6 waypoints), no frame above $WAN_MTU bytes of IP" no_v4_on_wan "$WP_TMP/wan.pcap"
wp_check "tshark: every TCP/UDP packet on the WAN is between the IPv6 waypoints" \
  only_waypoints6 "$WP_TMP/wan.pcap" 3000
no_lan_addresses() {
  [ "$(tshark -r "$WP_TMP/wan.pcap" -Y "ipv6.addr == $CLI || ipv6.addr == $SRV" 2>/dev/null | wc -l)" -eq 0 ]
}
wp_check "tshark: neither the client's nor the server's address on the WAN" no_lan_addresses
# tshark_count PCAP FILTER: frames of PCAP matching the display FILTER.
tshark_count() { tshark -r "$1" -Y "$2" 2>/dev/null | wc -l; }
# Both ways: r1 sends the client's ACKs, r2 the data. A segment that waited for Neighbor
# Discovery leaves from the control thread, beside the scheduler (docs/qos.md): the first of
# each router (2 in the runs so far), and any retransmitted while a neighbor was being probed.
af41=$(tshark_count "$WP_TMP/wan.pcap" "ipv6 && tcp && ipv6.tclass.dscp == 34")
af41_r1=$(tshark_count "$WP_TMP/wan.pcap" "ipv6.src == 2001:db8:70::1 && tcp && ipv6.tclass.dscp == 34")
unmarked=$(tshark_count "$WP_TMP/wan.pcap" "ipv6 && tcp && ipv6.tclass.dscp != 34")
wp_expect "tshark: the download's TCP between the IPv6 waypoints marked AF41 (video) through the shaped ports" "$af41" -ge 3000
wp_expect "tshark: r1's segments (the ACKs) marked AF41 too" "$af41_r1" -ge 500
wp_expect "tshark: at most 1 % of the TCP frames on the WAN without AF41 ($af41 with it)" "$((unmarked * 100))" -le "$af41"
wp_expect "r1's QoS counters: video frames sent on wan0" "$(wp_stat r1 qos.ports.0.classes.2.sent)" -ge 500
wp_expect "r2's QoS counters: video frames sent on wan0" "$(wp_stat r2 qos.ports.0.classes.2.sent)" -ge 3000
wp_expect "r2 drops: qos_queue_full 0" "$(wp_stat r2 drops.qos_queue_full)" -eq 0
wp_expect "tshark: the server got Packet Too Big from r2's LAN address, MTU $WAN_MTU, quoting its own segment" \
  "$(tshark_count "$WP_TMP/ptb-s.pcap" "icmpv6.type == 2 && icmpv6.mtu == $WAN_MTU && ipv6.src == 2001:db8:72::1 && ipv6.dst == $SRV && tcp.srcport == 80")" -ge 1
# The host's kernel verifies the ICMPv6 checksum before it caches the MTU (and the unit tests check it).
cached_mtu() { wp_exec "$1" ip -6 route get "$2" 2>/dev/null | grep -q " mtu $WAN_MTU"; }
wp_check "the server caches MTU $WAN_MTU toward the client (ip -6 route get)" cached_mtu s "$CLI"
wp_expect "r2 counters.svr6_icmp6_too_big >= 1 (the download)" "$(wp_stat r2 counters.svr6_icmp6_too_big)" -ge 1
wp_expect "r2 drops.svr6_wan_too_big >= 1" "$(wp_stat r2 drops.svr6_wan_too_big)" -ge 1
wp_check_cookie_at_setup "$WP_TMP/wan.pcap"
wp_check "capcheck.py: the metadata HMAC trailers of the IPv6 waypoint packets verify" hmac6_ok "$WP_TMP/wan.pcap"
# The server's cached MTU also lowers the MSS it announces to the client; forget it, so that the
# client's upload starts with full-size segments again.
wp_check "the server forgets the cached MTU (ip -6 route flush cache)" wp_exec s ip -6 route flush cache
wp_check "capture Packet Too Big on the client's link" wp_cap_start c c0 "$WP_TMP/ptb-c.pcap" -s 1500 -f "$ptb_filter"
wp_check "iperf3 -6 TCP 2 s" wp_iperf6 tcp -t 2
svr6_live_checks 2001:db8:70::1 2001:db8:70::2

before=$(wp_stat r1 drops.policy_deny)
guest_denied() { ! wp_fetch c "http://[$SRV]/file.bin" "$WP_TMP/guest.bin" 3 -g -6 --interface "$GUEST"; }
wp_check "the guest ($GUEST) cannot fetch" guest_denied
wp_expect "r1 drops.policy_deny grows (the guest's tenant has no policy)" \
  "$(wp_wait_stat r1 drops.policy_deny $((before + 1)))" -gt "$before"
wp_check "the server never saw the guest" bash -c "! grep -q '^$GUEST ' '$WP_TMP/http.log'"
wp_expect "r1 counters.svr6_sessions_created >= 3 (http, iperf3 control and data)" \
  "$(wp_stat r1 counters.svr6_sessions_created)" -ge 3
wp_expect "r1 counters.svr6_to_lan > 3000" "$(wp_stat r1 counters.svr6_to_lan)" -gt 3000
svr6_ipfix_checks 2001:db8:70::1 2001:db8:70::2 257
# The captures stopped (svr6_ipfix_checks): the client's link during the iperf3 -6 upload.
wp_expect "tshark: the client got Packet Too Big from r1's LAN address, MTU $WAN_MTU (the iperf3 -6 upload)" \
  "$(tshark_count "$WP_TMP/ptb-c.pcap" "icmpv6.type == 2 && icmpv6.mtu == $WAN_MTU && ipv6.src == 2001:db8:71::1 && ipv6.dst == $CLI && tcp.dstport == 5201")" -ge 1
wp_check "the client caches MTU $WAN_MTU toward the server (ip -6 route get)" cached_mtu c "$SRV"
wp_expect "r1 counters.svr6_icmp6_too_big >= 1 (the upload)" "$(wp_stat r1 counters.svr6_icmp6_too_big)" -ge 1
wp_expect "r1 drops.svr6_wan_too_big >= 1" "$(wp_stat r1 drops.svr6_wan_too_big)" -ge 1
# UDP between the IPv6 waypoints (service iperf6u; the control connection is web6's): datagrams
# of 1200 bytes, which fit the WAN leg once carried.
udp6_before=$(wp_stat r1 counters.svr6_sessions_created)
wp_check "iperf3 -6 UDP 2 s at 20 Mbit/s over IPv6 waypoints (1200-byte datagrams)" wp_iperf6 udp6 -u -b 20M -l 1200 -t 2
wp_expect "r1 counters.svr6_sessions_created grew by >= 2 (iperf3's control and its UDP session)" \
  "$(wp_stat r1 counters.svr6_sessions_created)" -ge $((udp6_before + 2))

# IPv4 sessions between the same IPv6 waypoints (v4 in v6), on a capture of their own; the
# REST, wpctl and IPFIX checks again for the IPv4 client (svr6_export.sh reads CLI and SRV).
CLI6=$CLI SRV6=$SRV  # the IPv6 ones, for the full-size UDP checks after this phase
CLI=$CLI4 SRV=$SRV4 SVR6_TENANT=branch SVR6_SERVICE=web SVR6_TAG=4
svr6_collectors_restart
wp_check "capture the WAN again (IPv4 sessions)" wp_cap_start wan br0 "$WP_TMP/wan4.pcap" -s 1500
http4_ok() {
  wp_fetch c "http://$SRV4/file.bin" "$WP_TMP/got4.bin" 60 -4 --interface "$CLI4" &&
    [ "$(wp_sha "$WP_TMP/got4.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "curl -4 5 MiB over IPv6 waypoints (v4 in v6), sha256 matches" wp_until 30 http4_ok
wp_check "the server saw the client's own IPv4 address" grep -q "^$CLI4 .*\"GET /file.bin" "$WP_TMP/http4.log"
wp_cap_stop
svr6_ipfix_capture_start
wp_check "tshark: no IPv4 on the WAN (the IPv4 session rides IPv6 waypoints), no frame above $WAN_MTU bytes" no_v4_on_wan "$WP_TMP/wan4.pcap"
wp_check "tshark: every TCP/UDP packet of it on the WAN is between the IPv6 waypoints" \
  only_waypoints6 "$WP_TMP/wan4.pcap" 3000
# The IPv4 client's address is in no header (no IPv4 above); its bytes travel only inside
# the first packets' metadata (TLV 2 forward, TLV 4 reverse), a few packets per session.
v4_client_only_in_metadata() {
  local n
  n=$(tshark -r "$WP_TMP/wan4.pcap" -Y 'frame contains 0a:01:00:0a' 2>/dev/null | wc -l)
  [ "$n" -ge 1 ] && [ "$n" -lt 20 ]
}
wp_check "tshark: the IPv4 client's address only in the metadata of the first packets" v4_client_only_in_metadata
wp_check_cookie_at_setup "$WP_TMP/wan4.pcap"
wp_check "capcheck.py: the HMAC trailers of the IPv4 session's metadata packets verify" hmac6_ok "$WP_TMP/wan4.pcap"
wp_check "iperf3 -4 TCP 2 s (v4 in v6)" wp_iperf tcp4 -t 2 -B "$CLI4"
svr6_live_checks 2001:db8:70::1 2001:db8:70::2
before=$(wp_stat r1 drops.policy_deny)
guest4_denied() { ! wp_fetch c "http://$SRV4/file.bin" "$WP_TMP/guest4.bin" 3 -4 --interface "$GUEST4"; }
wp_check "the IPv4 guest ($GUEST4) cannot fetch" guest4_denied
wp_expect "r1 drops.policy_deny grows (the IPv4 guests' tenant has no policy)" \
  "$(wp_wait_stat r1 drops.policy_deny $((before + 1)))" -gt "$before"
wp_check "the server never saw the IPv4 guest" bash -c "! grep -q '^$GUEST4 ' '$WP_TMP/http4.log'"
v4_sessions() { echo $(($(wp_stat r1 counters.sessions_created) - $(wp_stat r1 counters.svr6_sessions_created))); }
wp_expect "r1: IPv4 sessions created >= 3 (sessions_created - svr6_sessions_created: http, iperf3 control and data)" \
  "$(v4_sessions)" -ge 3
wp_expect "r1 counters.mss_clamped >= 3 (the IPv4 SYNs: 20 bytes more on the WAN)" "$(wp_stat r1 counters.mss_clamped)" -ge 3
wp_expect "r2 counters.waypoint6_sent > 6000 (the two 5 MiB downloads)" "$(wp_stat r2 counters.waypoint6_sent)" -gt 6000
wp_expect "r1 counters.waypoint6_received > 3000" "$(wp_stat r1 counters.waypoint6_received)" -gt 3000
wp_expect "r2 counters.waypoint6_received > 3000 (the iperf3 uploads)" "$(wp_stat r2 counters.waypoint6_received)" -gt 3000
# Full-size UDP both ways, the first datagrams with metadata: the WAN leg in IPv6 fragments.
echo_start() {  # ADDR: udp_echo.py serve on ADDR:7009 in ns s
  wp_bg s "$WP_TMP/echo-$1.log" "$WP_PY" -u "$WP_E2E/udp_echo.py" serve "$1" 7009
  WP_PIDS+=("$WP_BG_PID")
  wp_until 20 wp_log_has "$WP_TMP/echo-$1.log" "^listening"
}
echo_servers() { echo_start "$SRV6" && echo_start "$SRV4"; }
wp_check "UDP echo servers on [$SRV6]:7009 and $SRV4:7009" echo_servers
wp_check "capture the WAN (full-size UDP)" wp_cap_start wan br0 "$WP_TMP/frag.pcap" -s 1500
big_echo() {  # ADDR BYTES: two datagrams of BYTES (with udp_echo.py's "#i"), each echoed byte-exact
  wp_exec c "$WP_PY" "$WP_E2E/udp_echo.py" send "$1" 7009 "$("$WP_PY" -c "print('f' * ($2 - 2))")" 5 2
}
wp_check "UDP: a $WAN_MTU-byte IPv6 datagram ($((WAN_MTU - 48)) bytes of data) and its echo, byte-exact" \
  big_echo "$SRV6" $((WAN_MTU - 48))
wp_check "UDP: a 1500-byte IPv4 datagram (1472 bytes of data, 1520 in IPv6) and its echo, byte-exact" \
  big_echo "$SRV4" 1472
wp_check "the servers got the whole datagrams" \
  bash -c "grep -q '^from $CLI6:[0-9]* $((WAN_MTU - 48))\$' '$WP_TMP/echo-$SRV6.log' && grep -q '^from $CLI4:[0-9]* 1472\$' '$WP_TMP/echo-$SRV4.log'"
wp_cap_stop
frag_headers() {  # SRC DST: IPv6 fragments between the waypoints, a first and a last one at least
  local q="ipv6.fraghdr && ipv6.src == $1 && ipv6.dst == $2"
  [ "$(tshark -r "$WP_TMP/frag.pcap" -o ipv6.defragment:FALSE -Y "$q && ipv6.fraghdr.more == 1" 2>/dev/null | wc -l)" -ge 2 ] &&
    [ "$(tshark -r "$WP_TMP/frag.pcap" -o ipv6.defragment:FALSE -Y "$q && ipv6.fraghdr.more == 0 && ipv6.fraghdr.offset > 0" 2>/dev/null | wc -l)" -ge 2 ]
}
wp_check "tshark: IPv6 Fragment headers from r1's waypoint to r2's (the client's datagrams)" \
  frag_headers 2001:db8:70::1 2001:db8:70::2
wp_check "tshark: IPv6 Fragment headers from r2's waypoint to r1's (the echoes)" frag_headers 2001:db8:70::2 2001:db8:70::1
wp_check "tshark: still no IPv4 on the WAN, no fragment above $WAN_MTU bytes" no_v4_on_wan "$WP_TMP/frag.pcap"
wp_expect "r1 counters.waypoint6_fragmented >= 2" "$(wp_stat r1 counters.waypoint6_fragmented)" -ge 2
wp_expect "r2 counters.waypoint6_reassembled >= 2" "$(wp_stat r2 counters.waypoint6_reassembled)" -ge 2
wp_expect "r2 counters.waypoint6_fragmented >= 2 (the echoes)" "$(wp_stat r2 counters.waypoint6_fragmented)" -ge 2
wp_expect "r1 counters.waypoint6_reassembled >= 2" "$(wp_stat r1 counters.waypoint6_reassembled)" -ge 2
for r in r1 r2; do
  for d in ipv6_frag_overlap ipv6_frag_duplicate ipv6_frag_timeout ipv6_frag_table_full ipv6_frag_source_limit; do
    wp_expect "$r drops.$d = 0" "$(wp_stat $r drops.$d)" -eq 0
  done
done
wp_expect "r1 drops.waypoint6_too_big = 0" "$(wp_stat r1 drops.waypoint6_too_big)" -eq 0
wp_expect "r2 drops.waypoint6_too_big = 0" "$(wp_stat r2 drops.waypoint6_too_big)" -eq 0
wp_expect "r2 drops.bad_hmac = 0" "$(wp_stat r2 drops.bad_hmac)" -eq 0
svr6_ipfix_checks 2001:db8:70::1 2001:db8:70::2 259

wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
wp_check "r2 exits 0 on SIGTERM" wp_router_stop r2

# BFD over IPv6 between the two waypointd (docs/ipv6.md § Paths over IPv6 waypoints): both
# routers again, the same configs with path_monitoring (in a phase of its own: BFD every 100 ms
# on the WAN would keep the captures above from settling). Each router's one path, over the
# peer's IPv6 waypoint, comes Up; the WAN cut (r1's bridge port down) takes it down at both
# within 3 x 100 ms (+ polling), and it comes back once the link does, the full-size IPv6 echo
# crossing it again.
for r in r1 r2; do
  echo "path_monitoring: {tx_interval_ms: 100, rx_interval_ms: 100, multiplier: 3, hold_down_ms: 500}" >>"$WP_TMP/$r.yaml"
  mv "$WP_TMP/$r.log" "$WP_TMP/$r-software.log"  # the restart writes $r.log anew
done
wp_pair_start "$WORKERS"
path6() {  # ROUTER: family remote bfd_state usable went_down rx discarded of its one path
  wp_stats_json "$1" | "$WP_PY" -c '
import json, sys
try:
    p = json.load(sys.stdin)["paths"]
    assert len(p) == 1
    p = p[0]
    print(p["family"], p["remote"], p["bfd_state"], int(p["usable"]), p["bfd"]["went_down"], p["bfd"]["rx"], p["bfd"]["discarded"])
except Exception:
    print("none")'
}
path6_is() { [ "$(path6 "$1" | cut -d" " -f1-4)" = "ipv6 $2 $3 $4" ]; }  # ROUTER REMOTE STATE USABLE
both_paths6() {  # STATE USABLE
  path6_is r1 2001:db8:70::2 "$1" "$2" && path6_is r2 2001:db8:70::1 "$1" "$2"
}
downs() { echo $(($(path6 r1 | cut -d" " -f5) + $(path6 r2 | cut -d" " -f5))); }
wp_check "BFD over IPv6: r1's and r2's one path (over the peer's IPv6 waypoint) up and usable" wp_until 20 both_paths6 up 1
read -r _ _ _ _ downs1 rx1 disc1 <<<"$(path6 r1)"
wp_expect "BFD over IPv6: r1 received BFD packets from r2's IPv6 waypoint" "${rx1:-0}" -gt 5
wp_expect "BFD over IPv6: r1 discarded none" "${disc1:--1}" -eq 0
downs_before=$(downs)
wp_check "path cut: r1's WAN bridge port down" ip -n "$(wp_ns wan)" link set dev w1 down
wp_check "path cut: BFD takes the path down at r1 and r2 (not usable)" wp_until 10 both_paths6 down 0
wp_expect "path cut: went_down grew by 2 (one per router)" "$(downs)" -eq $((downs_before + 2))
wp_check "path heal: r1's WAN bridge port up" ip -n "$(wp_ns wan)" link set dev w1 up
wp_check "path heal: BFD brings it back up and usable at r1 and r2" wp_until 20 both_paths6 up 1
wp_check "path heal: a $WAN_MTU-byte IPv6 datagram echoed byte-exact over it again" \
  big_echo "$SRV6" $((WAN_MTU - 48))

wp_check "r1 exits 0 on SIGTERM (BFD)" wp_router_stop r1
wp_check "r2 exits 0 on SIGTERM (BFD)" wp_router_stop r2

# Offload (docs/ipv6.md § Offload of IPv6 sessions between IPv6 waypoints): both routers again,
# now with the NIC model on its own lcore. A rule's egress port needs its arrival port's MTU
# (else the session stays in software), so the WAN goes back to 1500 and the hosts forget the
# MTU they cached. A rate-limited curl -6 of 4 MiB: once REST shows it offloaded at both routers
# the NICs carry it (their hits grow, the workers' waypoint6 counters stay), byte-exact; its end
# removes the rules at both and leaves a closed record that says ipv6 and carries the NIC's share.
CLI=$CLI6 SRV=$SRV6
WAN_MTU=1500 QOS_WAN="" QOS_WEB=""
mtu_back() { wan_mtu && wp_exec c ip -6 route flush cache && wp_exec s ip -6 route flush cache; }
wp_check "offload: the WAN links back at MTU 1500, the hosts' cached MTUs flushed" mtu_back
conf r1 10.1.0.1/24 2001:db8:71::1/64 172.16.0.1/24 2001:db8:70::1/64 r2 172.16.0.2 2001:db8:70::2 \
  ", next_peer: r2" >"$WP_TMP/r1.yaml"
conf r2 10.2.0.1/24 2001:db8:72::1/64 172.16.0.2/24 2001:db8:70::2/64 r1 172.16.0.1 2001:db8:70::1 "" \
  >"$WP_TMP/r2.yaml"
for r in r1 r2; do
  echo "offload: {enabled: true, nic_model: true, poll_ms: 50}" >>"$WP_TMP/$r.yaml"
  echo "timeouts: {tcp_transitory: 2}" >>"$WP_TMP/$r.yaml"
done
export WP_EXTRA_LCORES=1  # the NIC model's lcore (and its queue pair)
for r in r1 r2; do mv "$WP_TMP/$r.log" "$WP_TMP/$r-bfd.log"; done  # the restart writes $r.log anew
wp_pair_start "$WORKERS"
wp_check "r1 log: offload on with the NIC model" grep -q "offload on (nic-model)" "${WP_ROUTER_LOG[r1]}"
off() { wp_offload "$1" "$2"; }  # /api/v1/offload value by dotted path (-1 when missing)
offloaded6() { [ "$(off r1 counters.waypoint6_offloaded)" -ge 1 ] && [ "$(off r2 counters.waypoint6_offloaded)" -ge 1 ]; }
# The closed record of router $1 for the IPv6 TCP session from $CLI6 (the last one): field $2.
closed6() {
  wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/offload" | "$WP_PY" -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["closed"] if r.get("family") == "ipv6" and r["proto"] == 6 and r["src"] == sys.argv[2]]
v = recs[-1] if recs else None
for k in sys.argv[1].split("."):
    v = None if v is None else (v[int(k)] if isinstance(v, list) else v[k])
print(-1 if v is None else int(v))' "$2" "$CLI6"
}
closed6_both() { [ "$(closed6 r1 nic_packets.1)" -ge 0 ] && [ "$(closed6 r2 nic_packets.1)" -ge 0 ]; }
rules_gone() { [ "$(off r1 rules_active)" -eq 0 ] && [ "$(off r2 rules_active)" -eq 0 ]; }
head -c 4194304 /dev/urandom >"$WP_TMP/www/off6.bin"
# 4 MiB sent by the server at 1 MiB/s (http_server.py ?rate=: curl's --limit-rate would not pace
# the wire, the client's receive buffer holds it all): long enough to look at the session while
# it runs (curl retries its SYN itself while the restarted routers resolve their neighbors).
wp_bg c "$WP_TMP/off6-curl.log" curl -sS -g -6 --interface "$CLI6" --max-time 40 \
  -o "$WP_TMP/got-off6.bin" "http://[$SRV6]/off6.bin?rate=1048576"
OFF6_CURL=$WP_BG_PID
WP_PIDS+=("$OFF6_CURL")
wp_check "offload: REST at r1 and r2 shows the session between the IPv6 waypoints offloaded (waypoint6_offloaded)" \
  wp_until 20 offloaded6
wp_expect "offload: r2 holds its rules while the transfer runs (sessions_active)" "$(off r2 sessions_active)" -ge 1
hits1=$(off r1 nic_model.hits) hits2=$(off r2 nic_model.hits)
wk1=$(wp_stat r1 counters.waypoint6_received) wk2=$(wp_stat r2 counters.waypoint6_sent)
wp_log "offload: offloaded; r1 NIC hits $hits1, waypoint6_received $wk1; r2 NIC hits $hits2, waypoint6_sent $wk2"
wp_check "offload: curl -6 4 MiB done" wp_wait_exit "$OFF6_CURL" 40
off6_exact() { [ "$(wp_sha "$WP_TMP/got-off6.bin")" = "$(wp_sha "$WP_TMP/www/off6.bin")" ]; }
wp_check "offload: curl -6 4 MiB offloaded, sha256 matches" off6_exact
hits1=$(($(off r1 nic_model.hits) - hits1)) hits2=$(($(off r2 nic_model.hits) - hits2))
wk1=$(($(wp_stat r1 counters.waypoint6_received) - wk1)) wk2=$(($(wp_stat r2 counters.waypoint6_sent) - wk2))
wp_log "offload: after the offload r1 NIC hits +$hits1, workers' waypoint6_received +$wk1; r2 NIC hits +$hits2, waypoint6_sent +$wk2"
wp_expect "offload: r2's NIC carried the rest of the download (hits > 1000)" "$hits2" -gt 1000
wp_expect "offload: r1's NIC too (hits > 1000)" "$hits1" -gt 1000
# What the workers still see: the FIN segments (the rules match SYN, FIN and RST clear).
wp_expect "offload: r2's workers stopped sending the server's segments (waypoint6_sent +<= 6)" "$wk2" -le 6
wp_expect "offload: r1's workers stopped receiving them (waypoint6_received +<= 6)" "$wk1" -le 6
wp_check "offload: the session ended at r1 and r2 (FIN, tcp_transitory 2 s) with an ipv6 closed record" \
  wp_until 20 closed6_both
wp_expect "offload: r1's closed record: the NIC's share of the server's packets > 1000" "$(closed6 r1 nic_packets.1)" -gt 1000
wp_expect "offload: r2's closed record: the NIC's share of the server's packets > 1000" "$(closed6 r2 nic_packets.1)" -gt 1000
wp_expect "offload: r2's totals include the NIC's (packets.1 >= nic_packets.1)" \
  "$(closed6 r2 packets.1)" -ge "$(closed6 r2 nic_packets.1)"
wp_check "offload: both routers' rules removed (rules_active 0)" wp_until 10 rules_gone
wp_check "r1 exits 0 on SIGTERM (offload)" wp_router_stop r1
wp_check "r2 exits 0 on SIGTERM (offload)" wp_router_stop r2
wp_finish
