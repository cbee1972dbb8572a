#!/bin/bash
# #19 HA of routed IPv6 sessions (docs/ipv6.md § HA of routed IPv6 sessions): an IPv6
# client's TCP download routed through one node of an HA pair survives kill -9 of that
# node's waypointd, byte-exact, through the other.
#
#   c 2001:db8:71::10 ═ LAN bridge ═ 2001:db8:71::1 [ra] 2001:db8:70::1 ═ WAN bridge ═ 2001:db8:70::2 [m] 2001:db8:72::1 — s 2001:db8:72::10
#                                  ╚ 2001:db8:71::2 [rb] 2001:db8:70::3 ╝
#   ra ══ hx (10.77.0.1 — 10.77.0.2) ══ rb: corosync ring
# The client routes the server's /64 via ra's LAN address, m (a Linux router) the
# client's /64 via ra's WAN address: the flow is ra's. A 3 MB download the server
# paces at 400 KB/s (~7.5 s) runs; once 400 KB arrived ra's waypointd is killed.
# rb, holding ra's synced IPv6 session as a peer copy (same UUID), takes over ra's
# IPv6 addresses with unsolicited Neighbor Advertisements (Override), the client and
# m move their neighbor entries to rb's MAC, and rb forwards the rest.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

wp_init "wpe2e-ha6-"
echo "== test_ha6: HA pair, routed IPv6 session failover, waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ] || ! command -v corosync >/dev/null; then wp_fail "waypointd or corosync missing"; wp_finish; fi
CLI=2001:db8:71::10
SRV=2001:db8:72::10

hub() {  # NAME LAN4 WAN4 LAN6 WAN6 NODE PEER_WAN4 PEER_LAN4 PEER_LAN6 PEER_WAN6
  cat <<YAML
router:
  name: $1
  lan: {name: lan, device: net_af_packet0, address: $2/24, ipv6_addresses: ["$4/64"]}
  wan:
    - {name: wan0, device: net_af_packet1, address: $3/24, ipv6_addresses: ["$5/64"]}
routes:
  - {prefix: "2001:db8:72::/64", next_hop: "2001:db8:70::2", interface: wan0}
tenants:
  - {name: v6, ipv6_prefixes: ["2001:db8:71::/112"]}
services:
  - {name: srv6, prefixes: ["2001:db8:72::/64"]}
policies:
  - {tenant: v6, service: srv6}
dataplane: {workers: 1, max_sessions: 65536}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
ha: {node_id: $6, group: wp-pair6, peer_waypoints: [$7], peer_lan: [$8], peer_addresses6: ["$9", "${10}"]}
YAML
}
hub hub-a 10.2.0.2 172.16.0.2 2001:db8:71::1 2001:db8:70::1 1 172.16.0.3 10.2.0.3 2001:db8:71::2 2001:db8:70::3 >"$WP_TMP/ra.yaml"
hub hub-b 10.2.0.3 172.16.0.3 2001:db8:71::2 2001:db8:70::3 2 172.16.0.2 10.2.0.2 2001:db8:71::1 2001:db8:70::1 >"$WP_TMP/rb.yaml"
for f in ra rb; do wp_check "waypointd --check accepts $f.yaml" wp_check_config "$WP_TMP/$f.yaml"; done
sed 's|"2001:db8:71::2", "2001:db8:70::3"|"2001:db8:73::2"|' "$WP_TMP/ra.yaml" >"$WP_TMP/bad.yaml"
wp_check "--check refuses a peer IPv6 address on none of our prefixes" eval '! wp_check_config "$WP_TMP/bad.yaml"'
wp_corosync_conf 10.77.0.1 10.77.0.2 >"$WP_TMP/corosync.conf"

topo() {
  wp_ns_add c ra rb lanh wan m s || return 1
  wp_veth c c0 lanh plc && wp_veth ra alan lanh pla && wp_veth rb blan lanh plb && wp_bridge lanh br0 plc pla plb || return 1
  wp_veth ra awan wan pwa && wp_veth rb bwan wan pwb && wp_veth m m0 wan pwm && wp_bridge wan br0 pwa pwb pwm || return 1
  wp_veth m m1 s s0 || return 1
  wp_veth ra hx1 rb hx2 && wp_addr ra hx1 10.77.0.1/24 && wp_addr rb hx2 10.77.0.2/24 || return 1
  wp_v6on c c0 && wp_v6on m m0 m1 && wp_v6on s s0 || return 1
  ip -n "$(wp_ns c)" -6 addr add "$CLI/64" dev c0 nodad || return 1
  ip -n "$(wp_ns c)" -6 route add 2001:db8:72::/64 via 2001:db8:71::1 src "$CLI" || return 1
  ip -n "$(wp_ns m)" -6 addr add 2001:db8:70::2/64 dev m0 nodad || return 1
  ip -n "$(wp_ns m)" -6 addr add 2001:db8:72::1/64 dev m1 nodad || return 1
  wp_exec m sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null || return 1
  ip -n "$(wp_ns m)" -6 route add 2001:db8:71::/64 via 2001:db8:70::1 || return 1
  ip -n "$(wp_ns s)" -6 addr add "$SRV/64" dev s0 nodad || return 1
  ip -n "$(wp_ns s)" -6 route add default via 2001:db8:72::1
}
wp_check "topology" topo || wp_finish

mkdir -p "$WP_TMP/www"
head -c 3145728 /dev/urandom >"$WP_TMP/www/big.bin"
wp_check "HTTP server on [$SRV]:80" wp_http_start s "$SRV" 80 "$WP_TMP/http.log" || wp_finish

wp_ha_pair_start "$WP_TMP/corosync.conf"
ping6_ok() { wp_exec c ping -6 -c 1 -W 1 -I "$CLI" "$SRV" >/dev/null 2>&1; }
wp_check "ping -6 $SRV through ra (DAD of ra's addresses first)" wp_until 20 ping6_ok

file_has() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }
fetch6() {  # OUT: the paced download, byte-exact
  wp_exec c curl -sS -g -6 --interface "$CLI" --connect-timeout 10 --max-time 40 -o "$1" \
    "http://[$SRV]/big.bin?rate=400000" && [ "$(wp_sha "$1")" = "$(wp_sha "$WP_TMP/www/big.bin")" ]
}
CLAIMS0=$(wp_stat rb counters.ha_nd_claims_sent)  # before the load: nothing claims until the takeover
fetch6 "$WP_TMP/got.bin" 2>"$WP_TMP/curl.err" &
CPID=$!
wp_check "the download moves through ra" wp_until 20 file_has "$WP_TMP/got.bin" 300000
# The fault at once: every check that reads the pair comes after it (a loaded machine
# takes seconds over them), but what ra sent is taken from it first, in one call.
RA_HA=$(wp_ha_json ra)
kill -9 "${WP_ROUTER_PID[ra]}"
wp_check "the download was still under way when ra died ($(stat -c %s "$WP_TMP/got.bin") of 3145728 B)" wp_alive "$CPID"
wp_wait_exit "${WP_ROUTER_PID[ra]}" 10; wait "${WP_ROUTER_PID[ra]}" 2>/dev/null; unset "WP_ROUTER_PID[ra]"
wp_expect "rb had applied ra's IPv6 session" "$(wp_stat rb counters.ha6_sessions_applied)" -ge 1
synced_uuid() {  # a session id ra sent that rb received
  "$WP_PY" - "$RA_HA" "$(wp_ha_json rb)" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
common = set(a["recent_sent"]) & set(b["recent_received"])
print(sorted(common)[0] if common else "")
sys.exit(0 if common else 1)
PY
}
u=$(synced_uuid); wp_check "the session made on ra is on rb with the same UUID ($u)" test -n "$u"
wp_check "rb holds ra's addresses" wp_wait_ha rb peer_addresses_taken true
wp_expect "rb claimed ra's 2 IPv6 addresses (and its own) with unsolicited NAs" \
  "$(wp_wait_stat rb counters.ha_nd_claims_sent $((CLAIMS0 + 4)))" -ge $((CLAIMS0 + 4))
lladdr() { ip -n "$(wp_ns "$1")" -6 neigh show "$2" dev "$3" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'; }
moved() { [ "$(lladdr "$1" "$2" "$3")" = "$(wp_mac rb "$4")" ]; }
wp_check "the client's neighbor entry for ra's LAN address is rb's MAC" wp_until 10 moved c 2001:db8:71::1 c0 blan
wp_check "m's neighbor entry for ra's WAN address is rb's MAC" wp_until 10 moved m 2001:db8:70::1 m0 bwan
if wait "$CPID"; then
  wp_pass "the 3 MB IPv6 download paced at 400 KB/s finished through rb, sha256 matches"
else
  wp_fail "the IPv6 download broke: $(tr '\n' ' ' <"$WP_TMP/curl.err" | head -c 300) ($(stat -c %s "$WP_TMP/got.bin" 2>/dev/null || echo 0) B)"
fi
wp_expect "rb forwarded the rest of the download (IPv6 packets)" "$(wp_stat rb counters.ipv6_forwarded)" -gt 500
wp_check "rb exits 0 on SIGTERM" wp_router_stop rb
wp_finish
