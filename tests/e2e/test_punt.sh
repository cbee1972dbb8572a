#!/bin/bash
# The punt path (docs/operations.md § Punt path) on the headend r2 of the
# basic topology, its neighbor being the server namespace s on r2's LAN:
#   c — r1 — wan — r2 [punt: kernel interfaces lan, wan0] — s (10.2.0.10, FRR AS 65002)
# 1. r2's kernel interfaces carry the ports' MACs and addresses.
# 2. TCP to a listener on r2's LAN address (python http.server in r2's
#    namespace): a 1 MiB download and a 1 MiB upload from s, byte-exact.
# 3. FRR (zebra + bgpd, private config and run dirs) in r2's namespace peers
#    over eBGP with FRR in s: Established, 10.200.0.0/16 learned by r2, r2's
#    connected prefixes (redistribute connected) learned by s.
# 4. A spoofed SYN flood to 10.2.0.1:179 from s: dropped by the bgp_syn
#    punt rate (counted) while SVR forwarding (curl c -> s) goes on and the
#    BGP session stays up without a reset, none of its segments metered away.
# 5. OSPF (ospfd beside them) over r2's LAN kernel interface: adjacency Full
#    with s, s's 10.201.0.0/16 learned by r2 as an OSPF route.
# 6. IPv6 (#19): r2's LAN and WAN have IPv6 addresses; their kernel interfaces
#    carry them (and the dataplane's EUI-64 link-local); a 1 MiB download from
#    a listener on r2's 2001:db8:2::1 by s, byte-exact (the kernel's Neighbor
#    Solicitation for s answered by the dataplane, punt_nd_answered); eBGP
#    over IPv6 between r2 and s: Established, 2001:db8:200::/48 learned by r2,
#    r2's 2001:db8:70::/64 (redistribute connected) by s. r2's zebra feeds
#    waypointd over FPM: 2001:db8:200::/48 reaches r2's dataplane (REST: its
#    next hop s's link-local address on lan), a host h on r2's LAN (a macvlan
#    of s0, 2001:db8:2::20) pings and downloads from 2001:db8:200::1 on s's lo
#    through r2 (a routed IPv6 session, FRR's route), and when s stops
#    announcing the prefix it leaves r2's dataplane (new packets: ipv6_no_route)
#    and the live sessions on it are closed (sessions6_route_closed): a ping
#    running across the withdrawal is no longer answered.
# usage: test_punt.sh
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

wp_init "wpe2e-punt-"
echo "== test_punt: kernel interfaces for FRR on r2, waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi
if [ ! -x /usr/lib/frr/bgpd ]; then wp_fail "FRR not installed (setup.sh installs frr)"; wp_finish; fi

wp_basic_up
KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" 1 "$KEY"
sed -i 's/^  name: r2$/  name: r2\n  punt: {enabled: true}/' "$WP_TMP/r2.yaml"
sed -i -e 's|address: 10.2.0.1/24}|address: 10.2.0.1/24, ipv6_addresses: ["2001:db8:2::1/64"]}|' \
  -e 's|address: 172.16.0.2/24}|address: 172.16.0.2/24, ipv6_addresses: ["2001:db8:70::2/64"]}|' "$WP_TMP/r2.yaml"
{ wp_v6on s s0 && ip -n "$(wp_ns s)" addr add 2001:db8:2::10/64 dev s0 nodad; } || { wp_fail "IPv6 on s"; wp_finish; }
# IPv6 routed with sessions for r2's LAN (h) to what FRR learns over IPv6, routes from zebra over FPM.
sed -i -e 's|^tenants:$|tenants:\n  - {name: lan6, ipv6_prefixes: ["2001:db8:2::/64"]}|' \
  -e 's|^services:$|services:\n  - {name: frr6, prefixes: ["2001:db8:200::/48"]}|' \
  -e 's|^policies:$|policies:\n  - {tenant: lan6, service: frr6}|' "$WP_TMP/r2.yaml"
echo 'fpm: {listen: "127.0.0.1:2620", replay_quiet_ms: 500}' >>"$WP_TMP/r2.yaml"
wp_check "waypointd --check accepts r2.yaml with punt" wp_check_config "$WP_TMP/r2.yaml"
wp_pair_start 1

# 1. The kernel interfaces.
kernel_if_ok() {  # NAME VETH ADDR: the tap NAME has VETH's MAC (the port's) and ADDR
  [ "$(wp_mac r2 "$1")" = "$(wp_mac r2 "$2")" ] &&
    ip -n "$(wp_ns r2)" -4 -o addr show dev "$1" | grep -q " $3 "
}
wp_check "r2 kernel interface lan: MAC of r2l, 10.2.0.1/24" kernel_if_ok lan r2l 10.2.0.1/24
wp_check "r2 kernel interface wan0: MAC of r2w, 172.16.0.2/24" kernel_if_ok wan0 r2w 172.16.0.2/24

# 2. TCP to r2's own LAN address, both ways.
wp_http_start r2 10.2.0.1 8080 "$WP_TMP/http-r2.log" || { wp_fail "http server in r2"; wp_finish; }
down_ok() {
  wp_fetch s http://10.2.0.1:8080/file.bin "$WP_TMP/from-r2.bin" 20 &&
    [ "$(wp_sha "$WP_TMP/from-r2.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
up_ok() {
  local got
  got=$(wp_exec s curl -sS --max-time 20 -T "$WP_TMP/www/file.bin" http://10.2.0.1:8080/up) || return 1
  echo "  r2's listener got: $got"
  [ "$got" = "1048576 $(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "s downloads 1 MiB from a listener on r2's 10.2.0.1:8080, sha256 matches" down_ok
wp_check "s uploads 1 MiB to r2's 10.2.0.1:8080, length and sha256 match" up_ok
wp_expect "r2 counters.punt_to_kernel > 700 (the upload came up the tap)" "$(wp_stat r2 counters.punt_to_kernel)" -gt 700
wp_expect "r2 counters.punt_from_kernel > 700 (the download left through the port)" \
  "$(wp_stat r2 counters.punt_from_kernel)" -gt 700
wp_expect "r2 counters.punt_arp_answered > 0 (the kernel's ARP answered from our table)" \
  "$(wp_stat r2 counters.punt_arp_answered)" -gt 0

# 6. IPv6 up and down the kernel interfaces.
kernel_if6_ok() {  # NAME ADDR6: the tap NAME carries ADDR6 and the EUI-64 link-local of its MAC
  local ll
  ll=$("$WP_PY" -c 'import sys; m=[int(x,16) for x in sys.argv[1].split(":")]; m[0]^=2
print("fe80::%x:%x:%x:%x" % (m[0]<<8|m[1], m[2]<<8|0xff, 0xfe<<8|m[3], m[4]<<8|m[5]))' "$(wp_mac r2 "$1")")
  ip -n "$(wp_ns r2)" -6 -o addr show dev "$1" | grep -q " $2 " &&
    ip -n "$(wp_ns r2)" -6 -o addr show dev "$1" | grep -q " $ll/64 "
}
# The kernel adds the link-local address when it sees the link up: a moment after start.
wp_check "r2 kernel interface lan: 2001:db8:2::1/64 and the EUI-64 link-local" wp_until 10 kernel_if6_ok lan 2001:db8:2::1/64
wp_check "r2 kernel interface wan0: 2001:db8:70::2/64 and the EUI-64 link-local" \
  wp_until 10 kernel_if6_ok wan0 2001:db8:70::2/64 || ip -n "$(wp_ns r2)" -6 -o addr show
wp_http_start r2 2001:db8:2::1 8081 "$WP_TMP/http6-r2.log" || { wp_fail "IPv6 http server in r2"; wp_finish; }
down6_ok() {
  wp_fetch s "http://[2001:db8:2::1]:8081/file.bin" "$WP_TMP/from-r2-6.bin" 20 &&
    [ "$(wp_sha "$WP_TMP/from-r2-6.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "s downloads 1 MiB from a listener on r2's [2001:db8:2::1]:8081 (IPv6 up and down the tap), sha256 matches" down6_ok
wp_expect "r2 counters.punt_nd_answered > 0 (the kernel's solicitation for s answered from our cache)" \
  "$(wp_stat r2 counters.punt_nd_answered)" -gt 0
wp_expect "r2 drops.punt_kernel_unsent = 0 (all the kernel's IPv6 left or was ND)" \
  "$(wp_stat r2 drops.punt_kernel_unsent)" -eq 0

# 3. FRR on both sides: zebra + bgpd, everything under $WP_TMP/frr-NS.
frr_start() {  # NS CONF: zebra, bgpd and ospfd in namespace NS with bgpd.conf CONF and ospfd.conf
  local d=$WP_TMP/frr-$1 daemon extra
  mkdir -p "$d" && chmod 777 "$d" && touch "$d/zebra.conf" && cp "$2" "$d/bgpd.conf" || return 1
  cp "$WP_TMP/ospfd.conf" "$d/ospfd.conf" || return 1
  for daemon in zebra bgpd ospfd; do
    extra=()
    [ "$daemon" = zebra ] && grep -q '^fpm address' "$d/zebra.conf" && extra=(-M dplane_fpm_nl)
    wp_bg "$1" "$d/$daemon.out" "/usr/lib/frr/$daemon" -u frr -g frr "${extra[@]}" -f "$d/$daemon.conf" \
      -i "$d/$daemon.pid" -z "$d/zserv.api" --vty_socket "$d" -P 0 --log "file:$d/$daemon.log"
    WP_PIDS+=("$WP_BG_PID")
    if [ "$daemon" = zebra ]; then wp_until 20 test -S "$d/zserv.api" || return 1; fi
  done
}
vty() { local ns=$1; shift; vtysh --vty_socket "$WP_TMP/frr-$ns" "$@" 2>/dev/null; }
bgp_peer() {  # NS PEER FIELD [AF]: a field of the peer in show bgp summary json (AF ipv4Unicast)
  vty "$1" -c "show bgp summary json" | "$WP_PY" -c '
import json, sys
try:
    print(json.load(sys.stdin)[sys.argv[3]]["peers"][sys.argv[1]][sys.argv[2]])
except Exception:
    print("none")' "$2" "$3" "${4:-ipv4Unicast}"
}
established() { [ "$(bgp_peer "$1" "$2" state "${3:-ipv4Unicast}")" = Established ]; }
has_route() { vty "$1" -c "show ip bgp $2 json" | grep -q '"prefix":"'"$2"'"'; }
has_route6() { vty "$1" -c "show bgp ipv6 unicast $2 json" | grep -q '"prefix":"'"$2"'"'; }
cat >"$WP_TMP/r2-bgpd.conf" <<CONF
router bgp 65001
 bgp router-id 10.2.0.1
 no bgp ebgp-requires-policy
 neighbor 10.2.0.10 remote-as 65002
 neighbor 10.2.0.10 timers 3 9
 neighbor 2001:db8:2::10 remote-as 65002
 neighbor 2001:db8:2::10 timers 3 9
 address-family ipv4 unicast
  redistribute connected
  no neighbor 2001:db8:2::10 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor 2001:db8:2::10 activate
  redistribute connected
 exit-address-family
CONF
cat >"$WP_TMP/s-bgpd.conf" <<CONF
router bgp 65002
 bgp router-id 10.2.0.10
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.2.0.1 remote-as 65001
 neighbor 10.2.0.1 timers 3 9
 neighbor 2001:db8:2::1 remote-as 65001
 neighbor 2001:db8:2::1 timers 3 9
 address-family ipv4 unicast
  network 10.200.0.0/16
  no neighbor 2001:db8:2::1 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor 2001:db8:2::1 activate
  network 2001:db8:200::/48
 exit-address-family
CONF
cat >"$WP_TMP/ospfd.conf" <<CONF
interface lan
 ip ospf hello-interval 1
 ip ospf dead-interval 3
interface s0
 ip ospf hello-interval 1
 ip ospf dead-interval 3
router ospf
 network 10.2.0.0/24 area 0
 network 10.201.0.0/16 area 0
CONF
# A stub network behind s for OSPF to advertise (our kernels have no dummy interfaces).
stub_net() {
  local ns; ns=$(wp_ns s)
  ip -n "$ns" link add d0 type veth peer name d1 && ip -n "$ns" addr add 10.201.0.1/16 dev d0 &&
    ip -n "$ns" link set d0 up && ip -n "$ns" link set d1 up
}
stub_net || { wp_fail "stub network in s"; wp_finish; }
# r2's zebra streams its routes to waypointd (fpm.listen above).
mkdir -p "$WP_TMP/frr-r2" && printf 'fpm address 127.0.0.1 port 2620\nno fpm use-next-hop-groups\n' >"$WP_TMP/frr-r2/zebra.conf"
frr_both() { frr_start r2 "$WP_TMP/r2-bgpd.conf" && frr_start s "$WP_TMP/s-bgpd.conf"; }
frr_both || { wp_fail "FRR start"; wp_finish; }
wp_check "eBGP r2 (AS 65001, over the punt path) -> s (AS 65002) Established" wp_until 40 established r2 10.2.0.10
wp_check "r2's bgpd learned 10.200.0.0/16 from s" wp_until 20 has_route r2 10.200.0.0/16
wp_check "s learned r2's waypoint prefix 172.16.0.0/24 (redistribute connected)" wp_until 20 has_route s 172.16.0.0/24
conns0=$(bgp_peer r2 10.2.0.10 connectionsEstablished)
wp_check "eBGP over IPv6 r2 -> s (2001:db8:2::10) Established" wp_until 40 established r2 2001:db8:2::10 ipv6Unicast
wp_check "r2's bgpd learned 2001:db8:200::/48 from s over IPv6" wp_until 20 has_route6 r2 2001:db8:200::/48
wp_check "s learned r2's 2001:db8:70::/64 (redistribute connected) over IPv6" wp_until 20 has_route6 s 2001:db8:70::/64

# 6b. FRR's IPv6 route in r2's dataplane, and traffic over it from a host on r2's LAN.
routes_json() { wp_exec r2 curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/routes" 2>/dev/null; }
fib6_hop() { routes_json | "$WP_PY" "$WP_E2E/bgp_check.py" "$1" 2001:db8:200::/48; }
fib6_via_s() { [[ $(fib6_hop hops) == fe80::* ]] && [ "$(fib6_hop ifaces)" = lan ]; }
fib6_gone() { routes_json | grep -q '"fib_routes6"' && ! routes_json | grep -q '"2001:db8:200::/48"'; }
wp_check "r2's dataplane has 2001:db8:200::/48 from FRR (GET /api/v1/routes: s's link-local on lan)" wp_until 20 fib6_via_s ||
  routes_json | head -40
wp_log "2001:db8:200::/48 next hop in r2's FIB: $(fib6_hop hops) via $(fib6_hop ifaces)"
wpctl_routes6() {  # the table wpctl prints: the prefix, bgp, distance 20, s's link-local via lan
  wp_exec r2 "$WP_REPO/build/tools/wpctl" --url "http://127.0.0.1:$WP_MGMT_PORT" routes >"$WP_TMP/wpctl-routes.txt" 2>&1 &&
    grep -qE '^2001:db8:200::/48 +bgp +20 .* fe80::[0-9a-f:]+ via lan' "$WP_TMP/wpctl-routes.txt"
}
wp_check "wpctl routes shows 2001:db8:200::/48 (bgp, 20, s's link-local via lan)" wpctl_routes6 || cat "$WP_TMP/wpctl-routes.txt"
host6_up() {  # h: a macvlan of s0 on r2's LAN link; s reaches it through r2 (a macvlan never hears its lower device)
  local sns; sns=$(wp_ns s)
  wp_ns_add h && ip -n "$sns" link add h0 link s0 type macvlan mode bridge && ip -n "$sns" link set h0 netns "$(wp_ns h)" &&
    wp_v6on h h0 && wp_v6on s lo && wp_offload_off h h0 && ip -n "$(wp_ns h)" link set h0 up &&
    ip -n "$(wp_ns h)" addr add 2001:db8:2::20/64 dev h0 nodad && ip -n "$(wp_ns h)" -6 route add default via 2001:db8:2::1 &&
    ip -n "$sns" addr add 2001:db8:200::1/128 dev lo && ip -n "$sns" -6 route add 2001:db8:2::20/128 via 2001:db8:2::1 dev s0
}
host6_up || wp_fail "host h on r2's LAN (macvlan of s0) and 2001:db8:200::1 on s"
wp_http_start s 2001:db8:200::1 8082 "$WP_TMP/http6-s.log" || wp_fail "IPv6 http server on s's 2001:db8:200::1"
ping6_ok() { wp_exec h ping -6 -c 1 -W 2 2001:db8:200::1 >/dev/null 2>&1; }
wp_check "h (2001:db8:2::20) pings 2001:db8:200::1 through r2 (FRR's route)" wp_until 15 ping6_ok
frr6_down_ok() {
  wp_fetch h "http://[2001:db8:200::1]:8082/file.bin" "$WP_TMP/frr6.bin" 20 &&
    [ "$(wp_sha "$WP_TMP/frr6.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "h downloads 1 MiB from [2001:db8:200::1]:8082 through r2, sha256 matches" frr6_down_ok
wp_expect "r2 counters.sessions6_created >= 2 (echo and TCP)" "$(wp_stat r2 counters.sessions6_created)" -ge 2
wp_expect "r2 counters.ipv6_forwarded > 700 (the download went through the dataplane)" \
  "$(wp_stat r2 counters.ipv6_forwarded)" -gt 700
# A flow that lives across the withdrawal: one echo session (one identifier), a request every 0.2 s.
wp_bg h "$WP_TMP/ping6-live.log" ping -6 -n -i 0.2 2001:db8:200::1
ping6_pid=$WP_BG_PID
ping6_replies() { grep -c 'bytes from' "$WP_TMP/ping6-live.log"; }
ping6_live() { [ "$(ping6_replies)" -ge 2 ]; }
wp_check "a running ping from h to 2001:db8:200::1 is answered through r2" wp_until 10 ping6_live
closed0=$(wp_stat r2 counters.sessions6_route_closed)
vty s -c "configure terminal" -c "router bgp 65002" -c "address-family ipv6 unicast" \
  -c "no network 2001:db8:200::/48" >/dev/null
wp_check "s withdrew 2001:db8:200::/48: r2's bgpd no longer has it" wp_until 20 eval '! has_route6 r2 2001:db8:200::/48'
wp_check "2001:db8:200::/48 left r2's dataplane (GET /api/v1/routes)" wp_until 20 fib6_gone
# Its live sessions (the running ping's, the download's) were closed, not left on s's next hop.
wp_expect "r2 counters.sessions6_route_closed grew by the live sessions (the running ping's, the download's)" \
  "$(wp_wait_stat r2 counters.sessions6_route_closed $((closed0 + 2)) 10)" -ge $((closed0 + 2))
noroute_live=$(wp_stat r2 drops.ipv6_no_route)
wp_expect "the running ping's next requests are first packets without a route (ipv6_no_route)" \
  "$(wp_wait_stat r2 drops.ipv6_no_route $((noroute_live + 2)) 10)" -ge $((noroute_live + 2))
replies_after=$(ping6_replies)
wp_wait_stat r2 drops.ipv6_no_route $((noroute_live + 4)) 10 >/dev/null
wp_expect "the running ping gets no more answers" "$(ping6_replies)" -eq "$replies_after"
wp_kill "$ping6_pid" INT
noroute0=$(wp_stat r2 drops.ipv6_no_route)
ping6_fails() { ! wp_exec h ping -6 -c 1 -W 1 2001:db8:200::1 >/dev/null 2>&1; }
wp_check "a new ping from h to 2001:db8:200::1 gets no answer" ping6_fails
wp_expect "r2 drops.ipv6_no_route grew (the new echo session found no route)" \
  "$(wp_stat r2 drops.ipv6_no_route)" -gt "$noroute0"

# 5. OSPF over the LAN kernel interface (hellos to 224.0.0.5 up and down the tap).
ospf_full() {
  vty r2 -c "show ip ospf neighbor json" | "$WP_PY" -c '
import json, sys
n = [x for v in json.load(sys.stdin).get("neighbors", {}).values() for x in v]  # keyed by router id
sys.exit(0 if any(x.get("nbrState", x.get("state", "")).startswith("Full") for x in n) else 1)' 2>/dev/null
}
ospf_route() { vty r2 -c "show ip route 10.201.0.0/16 json" | grep -q '"protocol":"ospf"'; }
wp_check "OSPF adjacency r2 (lan kernel interface) <-> s Full" wp_until 40 ospf_full
wp_check "r2 learned 10.201.0.0/16 from s over OSPF" wp_until 20 ospf_route
wp_expect "r2 counters.punt_ospf > 0" "$(wp_stat r2 counters.punt_ospf)" -gt 0

# 4. A SYN flood to port 179 while SVR traffic and BGP go on.
R2MAC=$(wp_mac r2 r2l)
drops0=$(wp_stat r2 drops.punt_rate_bgp_syn)
wp_bg s "$WP_TMP/flood.log" "$WP_PY" "$WP_E2E/flood.py" syn --iface s0 --dmac "$R2MAC" --dst 10.2.0.1 --dport 179 \
  --net 10.2.0.128/25 --seconds 8
FLOOD_PID=$WP_BG_PID; WP_PIDS+=("$FLOOD_PID")
wp_expect "r2 drops.punt_rate_bgp_syn grows by 1000 (the flood is metered)" \
  "$(wp_wait_stat r2 drops.punt_rate_bgp_syn $((drops0 + 1000)) 20)" -gt "$drops0"
svr_ok() {
  wp_fetch c http://10.2.0.10/file.bin "$WP_TMP/got.bin" 20 &&
    [ "$(wp_sha "$WP_TMP/got.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "curl c -> s through r1 and r2 (SVR) during the flood, sha256 matches" svr_ok
flood_alive=0; wp_alive "$FLOOD_PID" && flood_alive=1
wp_expect "the flood was still running after the curl" "$flood_alive" -eq 1
wp_until 30 wp_dead "$FLOOD_PID"
wp_log "flood: $(tail -1 "$WP_TMP/flood.log"); r2 drops.punt_rate_bgp_syn=$(wp_stat r2 drops.punt_rate_bgp_syn)" \
  "counters.punt_bgp_syn=$(wp_stat r2 counters.punt_bgp_syn) counters.punt_bgp=$(wp_stat r2 counters.punt_bgp)" \
  "drops.punt_rate_bgp=$(wp_stat r2 drops.punt_rate_bgp) drops.control_full=$(wp_stat r2 drops.control_full)" \
  "counters.punt_arp_deferred=$(wp_stat r2 counters.punt_arp_deferred) drops.arp_unresolved=$(wp_stat r2 drops.arp_unresolved)"
wp_expect "r2 drops.punt_rate_bgp = 0 (the peers' segments were never metered away)" \
  "$(wp_stat r2 drops.punt_rate_bgp)" -eq 0
wp_check "BGP still Established after the flood" established r2 10.2.0.10
wp_expect "BGP session never reset (connectionsEstablished unchanged)" \
  "$(bgp_peer r2 10.2.0.10 connectionsEstablished)" -eq "$conns0"
metric_ok() {  # read it whole first: grep -q would close the pipe on curl (SIGPIPE, pipefail)
  local m
  m=$(wp_exec r2 curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/metrics") && grep -q 'reason="punt_rate_bgp_syn"' <<<"$m"
}
wp_check "/metrics carries the punt drop counters" metric_ok

for r in r1 r2; do wp_check "$r exits 0 on SIGTERM" wp_router_stop $r; done
wp_finish
