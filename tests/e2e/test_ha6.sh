#!/bin/bash
# #19 HA of IPv6 sessions (docs/ipv6.md § HA of routed IPv6 sessions, § HA of sessions
# between IPv6 waypoints): three downloads through one node of an HA pair survive kill -9
# of that node's waypointd, byte-exact, through the other: a routed IPv6 session, an IPv6
# session over SVR between IPv6 waypoints and an IPv4 one between the same waypoints.
#
#   c 2001:db8:71::10 ═ LAN bridge ═ 2001:db8:71::1 [ra] 2001:db8:70::1 ═ WAN bridge ═ 2001:db8:70::2 [m] 2001:db8:72::1 — s 2001:db8:72::10
#     10.2.0.10                      10.2.0.2                           ║            2001:db8:70::4 [r2] 2001:db8:74::1 — t 2001:db8:74::10
#                                  ╚ 2001:db8:71::2 [rb] 2001:db8:70::3 ╝                           10.4.0.1            10.4.0.10
#                                    10.2.0.3
#   ra ══ hx (10.77.0.1 — 10.77.0.2) ══ rb: corosync ring
# The client routes the servers' prefixes via ra's LAN addresses, m (a Linux router) the
# client's /64 via ra's WAN address: the routed flow is ra's. The pair talks SVR to r2
# (a waypointd) over IPv6 waypoints only (peers[].waypoints and ha.peer_waypoints name
# the IPv6 ones): t's IPv6 and IPv4 addresses are services behind r2, and the sessions
# to them leave ra from its IPv6 waypoint 2001:db8:70::1.
# A 3 MB download from s and two from t (IPv6 and IPv4), each paced by its server at 200 KB/s
# (~15 s), run; ra's REST is read once each has moved 60 KB, and ra's
# waypointd is killed once each has moved 300 KB, with nothing in between (a loaded host took
# up to 10 s over the REST reads that once came between; the downloads had ended). Each
# download's bytes at the kill, 1 MB or more short of its file's, show it was under way.
# rb, holding ra's synced sessions as peer copies (same UUIDs), takes over ra's IPv6
# addresses with unsolicited Neighbor Advertisements (Override) and its IPv4 LAN address
# with gratuitous ARP; the client and m move their neighbor entries to rb's MAC, r2
# keeps sending to ra's IPv6 waypoint, now rb's, and rb forwards the rest. The WAN
# capture (r2's waypoint) shows each SVR session's UUID in its first packets' metadata,
# the same UUIDs in ra's REST before the kill and in rb's after it, and no metadata at
# all after the kill (rb carries the sessions on; it sets none up again).
# MLD (docs/ipv6.md § Multicast Listener Discovery): the LAN bridge snoops MLD and is the
# querier; `bridge mdb show` lists each hub's solicited-node groups and ff02::2 on its port,
# rb's only after the takeover the group of ra's address (the bridge's querier sends no
# queries here, its link-local stays tentative: answers to queries are unit-tested only).
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

wp_init "wpe2e-ha6-"
echo "== test_ha6: HA pair, failover of routed IPv6 and SVR sessions between IPv6 waypoints, waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ] || ! command -v corosync >/dev/null; then wp_fail "waypointd or corosync missing"; wp_finish; fi
CLI=2001:db8:71::10
SRV=2001:db8:72::10
CLI4=10.2.0.10
SRV6=2001:db8:74::10  # t, behind r2: the sessions over SVR
SRV4=10.4.0.10
KEY=$(wp_keygen)

svr_part() {  # NEXT_PEER (the hubs; "" at r2) [SERVICE POLICY]: tenants, services and policies,
  # the SVR sessions' and one more service and policy (the hubs' routed srv6)
  cat <<YAML
tenants:
  - {name: v6, ipv6_prefixes: ["2001:db8:71::/112"]}
  - {name: v4, prefixes: [10.2.0.0/28]}
services:
  - {name: web6, prefixes: ["2001:db8:74::/64"], protocol: tcp, ports: ["80"]$1}
  - {name: web4, prefixes: [10.4.0.0/24], protocol: tcp, ports: ["80"]$1}
${2:-}
policies:
  - {tenant: v6, service: web6}
  - {tenant: v4, service: web4}
${3:-}
YAML
}
hub() {  # NAME LAN4 WAN4 LAN6 WAN6 NODE PEER_WAN4 PEER_LAN4 PEER_LAN6 PEER_WAN6
  cat <<YAML
router:
  name: $1
  lan: {name: lan, device: net_af_packet0, address: $2/24, ipv6_addresses: ["$4/64"]}
  wan:
    - {name: wan0, device: net_af_packet1, address: $3/24, ipv6_addresses: ["$5/64"]}
routes:
  - {prefix: "2001:db8:72::/64", next_hop: "2001:db8:70::2", interface: wan0}
YAML
  svr_part ", next_peer: r2" '  - {name: srv6, prefixes: ["2001:db8:72::/64"]}' '  - {tenant: v6, service: srv6}'
  cat <<YAML
peers:
  - {name: r2, waypoints: ["2001:db8:70::4"], key: "$KEY"}
dataplane: {workers: 1, max_sessions: 65536}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
ha: {node_id: $6, group: wp-pair6, peer_waypoints: [$7, "${10}"], peer_lan: [$8], peer_addresses6: ["$9"]}
YAML
}
hub hub-a 10.2.0.2 172.16.0.2 2001:db8:71::1 2001:db8:70::1 1 172.16.0.3 10.2.0.3 2001:db8:71::2 2001:db8:70::3 >"$WP_TMP/ra.yaml"
hub hub-b 10.2.0.3 172.16.0.3 2001:db8:71::2 2001:db8:70::3 2 172.16.0.2 10.2.0.2 2001:db8:71::1 2001:db8:70::1 >"$WP_TMP/rb.yaml"
{
  cat <<YAML
router:
  name: r2
  lan: {name: lan, device: net_af_packet0, address: 10.4.0.1/24, ipv6_addresses: ["2001:db8:74::1/64"]}
  wan:
    - {name: wan0, device: net_af_packet1, address: 172.16.0.4/24, ipv6_addresses: ["2001:db8:70::4/64"]}
YAML
  svr_part ""
  cat <<YAML
peers:
  - {name: hub-a, waypoints: ["2001:db8:70::1"], key: "$KEY"}
  - {name: hub-b, waypoints: ["2001:db8:70::3"], key: "$KEY"}
dataplane: {workers: 1, max_sessions: 65536}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
YAML
} >"$WP_TMP/r2.yaml"
for f in ra rb r2; do wp_check "waypointd --check accepts $f.yaml" wp_check_config "$WP_TMP/$f.yaml"; done
sed 's|peer_addresses6: \["2001:db8:71::2"\]|peer_addresses6: ["2001:db8:73::2"]|' "$WP_TMP/ra.yaml" >"$WP_TMP/bad.yaml"
wp_check "--check refuses a peer IPv6 address on none of our prefixes" eval '! wp_check_config "$WP_TMP/bad.yaml"'
wp_corosync_conf 10.77.0.1 10.77.0.2 >"$WP_TMP/corosync.conf"

topo() {
  wp_ns_add c ra rb lanh wan m s r2 t || return 1
  wp_veth c c0 lanh plc && wp_veth ra alan lanh pla && wp_veth rb blan lanh plb && wp_bridge lanh br0 plc pla plb || return 1
  # MLD snooping, the bridge the querier (docs/ipv6.md § Multicast Listener Discovery): the
  # hubs' solicited-node groups and all-routers reach their ports only once they reported them.
  wp_v6on lanh br0 && ip -n "$(wp_ns lanh)" link set br0 type bridge mcast_snooping 1 mcast_querier 1 \
    mcast_query_interval 500 mcast_query_response_interval 100 || return 1
  wp_veth ra awan wan pwa && wp_veth rb bwan wan pwb && wp_veth m m0 wan pwm && wp_veth r2 r2w wan pwr || return 1
  wp_bridge wan br0 pwa pwb pwm pwr || return 1
  wp_veth m m1 s s0 && wp_veth r2 r2l t t0 || return 1
  wp_veth ra hx1 rb hx2 && wp_addr ra hx1 10.77.0.1/24 && wp_addr rb hx2 10.77.0.2/24 || return 1
  wp_v6on c c0 && wp_v6on m m0 m1 && wp_v6on s s0 && wp_v6on t t0 || return 1
  ip -n "$(wp_ns c)" -6 addr add "$CLI/64" dev c0 nodad || return 1
  ip -n "$(wp_ns c)" -6 route add 2001:db8:72::/64 via 2001:db8:71::1 src "$CLI" || return 1
  ip -n "$(wp_ns c)" -6 route add 2001:db8:74::/64 via 2001:db8:71::1 src "$CLI" || return 1
  wp_addr c c0 "$CLI4/24" && ip -n "$(wp_ns c)" route add 10.4.0.0/24 via 10.2.0.2 src "$CLI4" || return 1
  ip -n "$(wp_ns m)" -6 addr add 2001:db8:70::2/64 dev m0 nodad || return 1
  ip -n "$(wp_ns m)" -6 addr add 2001:db8:72::1/64 dev m1 nodad || return 1
  wp_exec m sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null || return 1
  ip -n "$(wp_ns m)" -6 route add 2001:db8:71::/64 via 2001:db8:70::1 || return 1
  ip -n "$(wp_ns s)" -6 addr add "$SRV/64" dev s0 nodad || return 1
  ip -n "$(wp_ns s)" -6 route add default via 2001:db8:72::1 || return 1
  ip -n "$(wp_ns t)" -6 addr add "$SRV6/64" dev t0 nodad && ip -n "$(wp_ns t)" -6 route add default via 2001:db8:74::1 || return 1
  wp_addr t t0 "$SRV4/24" && wp_gw t 10.4.0.1
}
wp_check "topology" topo || wp_finish

mkdir -p "$WP_TMP/www"
head -c 3145728 /dev/urandom >"$WP_TMP/www/big.bin"
head -c 65536 /dev/urandom >"$WP_TMP/www/small.bin"
wp_check "HTTP server on [$SRV]:80" wp_http_start s "$SRV" 80 "$WP_TMP/http.log" || wp_finish
wp_check "HTTP server on t ([::]:80: $SRV6 and $SRV4)" wp_http_start t :: 80 "$WP_TMP/http-t.log" || wp_finish

wp_router_start r2 "$WP_TMP/r2.yaml" 1 r2l r2w
wp_ha_pair_start "$WP_TMP/corosync.conf"
wp_check "r2 ready" wp_wait_ready r2 || wp_finish
ping6_ok() { wp_exec c ping -6 -c 1 -W 1 -I "$CLI" "$SRV" >/dev/null 2>&1; }
wp_check "ping -6 $SRV through ra (DAD of ra's addresses first)" wp_until 20 ping6_ok
# MLD (docs/ipv6.md § Multicast Listener Discovery): on the snooping LAN bridge each hub's port
# lists the solicited-node groups of its link-local and of the LAN address it holds, and
# all-routers; rb does not listen for ra's address while ra holds it.
mld_groups() {  # NS IFACE [ADDRESS...]: the solicited-node groups of IFACE's link-local and the ADDRESSes
  "$WP_PY" - "$(wp_mac "$1" "$2")" "${@:3}" <<'PY'
import ipaddress, sys
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
for low in [mac[3:]] + [ipaddress.IPv6Address(a).packed[13:] for a in sys.argv[2:]]:
    print(ipaddress.IPv6Address(bytes.fromhex("ff0200000000000000000001ff") + low))
PY
}
mdb_lists() {  # PORT GROUP...: the LAN bridge's mdb has each GROUP on PORT
  local out g
  out=$(bridge -n "$(wp_ns lanh)" mdb show dev br0 2>/dev/null)
  for g in "${@:2}"; do grep -qE "port $1 grp $g( |$)" <<<"$out" || return 1; done
}
MLD_RA=$(mld_groups ra alan 2001:db8:71::1)
MLD_RB=$(mld_groups rb blan 2001:db8:71::2)
# shellcheck disable=SC2086  # the groups, one per word
wp_check "bridge mdb: ra's port lists ff02::2 and $(echo $MLD_RA)" wp_until 10 mdb_lists pla ff02::2 $MLD_RA
# shellcheck disable=SC2086
wp_check "bridge mdb: rb's port lists ff02::2 and $(echo $MLD_RB)" wp_until 10 mdb_lists plb ff02::2 $MLD_RB
wp_check "bridge mdb: rb's port does not list ra's ff02::1:ff00:1 while ra holds it" eval '! mdb_lists plb ff02::1:ff00:1'
wp_expect "ra counters.mld_reports_sent >= 2" "$(wp_stat ra counters.mld_reports_sent)" -ge 2
wp_expect "ra drops.mld_bad_query = 0" "$(wp_stat ra drops.mld_bad_query)" -eq 0

elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }  # seconds since EPOCHREALTIME $1
file_has() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }
fetch() {  # URL OUT FILE CURL_ARGS...: byte-exact (URL may end in ?rate=B/s)
  local url=$1 out=$2 file=$3; shift 3
  wp_exec c curl -sS -g --connect-timeout 10 --max-time 40 -o "$out" "$@" "$url" &&
    [ "$(wp_sha "$out")" = "$(wp_sha "$WP_TMP/www/$file")" ]
}
V6=(-6 --interface "$CLI")
V4=(-4 --interface "$CLI4")
svr_up() { fetch "http://[$SRV6]/small.bin" "$WP_TMP/s6.bin" small.bin "${V6[@]}" && fetch "http://$SRV4/small.bin" "$WP_TMP/s4.bin" small.bin "${V4[@]}"; }
wp_check "curl -6 [$SRV6] and -4 $SRV4 through ra and r2 (SVR over the IPv6 waypoints), byte-exact" wp_until 30 svr_up ||
  echo "  drops: ra $(wp_nonzero_drops ra), r2 $(wp_nonzero_drops r2)"
wp_check "capture the WAN at r2's waypoint" wp_cap_start wan pwr "$WP_TMP/wan.pcap" -f "ip6 host 2001:db8:70::4"

CLAIMS0=$(wp_stat rb counters.ha_nd_claims_sent)  # before the load: nothing claims until the takeover
T_START=$EPOCHREALTIME
fetch "http://[$SRV]/big.bin?rate=200000" "$WP_TMP/got.bin" big.bin "${V6[@]}" 2>"$WP_TMP/curl.err" &
CPID=$!
fetch "http://[$SRV6]/big.bin?rate=200000" "$WP_TMP/got6.bin" big.bin "${V6[@]}" 2>"$WP_TMP/curl6.err" &
CPID6=$!
fetch "http://$SRV4/big.bin?rate=200000" "$WP_TMP/got4.bin" big.bin "${V4[@]}" 2>"$WP_TMP/curl4.err" &
CPID4=$!
moving() {  # BYTES: each of the three downloads has moved BYTES
  file_has "$WP_TMP/got.bin" "$1" && file_has "$WP_TMP/got6.bin" "$1" && file_has "$WP_TMP/got4.bin" "$1"
}
sizes() {  # the three downloads' bytes so far (0 for one not begun)
  local f
  for f in got.bin got6.bin got4.bin; do printf '%s ' "$(stat -c %s "$WP_TMP/$f" 2>/dev/null || echo 0)"; done
}
wp_check "the three downloads move through ra" wp_until 20 moving 60000
echo "  moving after $(elapsed "$T_START") s (B: $(sizes))"
# What ra sent and its sessions, read while the downloads run and before the fault: on a
# loaded host these reads took seconds, so the fault does not wait for them.
RA_HA=$(wp_ha_json ra)
T_READ=$(elapsed "$T_START")
sessions_json() { wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/sessions?limit=1000" 2>/dev/null; }
RA_SESSIONS=$(sessions_json ra)
T_READ="$T_READ $(elapsed "$T_START")"
# The client's port of each download over SVR (the only connection to that server and port).
cport() { wp_exec c ss -Htn state established "dst $1" | awk '{print $3}' | sed 's/.*://' | head -n 1; }
PORT6=$(cport "[$SRV6]:80") PORT4=$(cport "$SRV4:80")
echo "  ra's HA and sessions read, the client's ports found after $T_READ $(elapsed "$T_START") s"
# The fault once each has moved 300 KB (a steady flow, synced to rb), nothing in between.
wp_until 20 moving 300000 || echo "  not all at 300 KB after 20 s: ra dies now anyway"
T_KILL=$(date +%s.%N)
kill -9 "${WP_ROUTER_PID[ra]}"
read -r -a AT_KILL <<<"$(sizes)"  # what each had when ra died (a download of fewer bytes than its file was under way)
echo "  ra killed after $(elapsed "$T_START") s (B: ${AT_KILL[*]})"
i=0
for x in "routed IPv6:big.bin" "IPv6 over SVR:big.bin" "IPv4 over SVR:big.bin"; do
  IFS=: read -r what f <<<"$x"
  full=$(stat -c %s "$WP_TMP/www/$f")
  # At least 1 MB to go: what rb must carry for the checks of its counters below.
  wp_expect "the $what download had 1 MB or more to go when ra died (bytes of $full)" "${AT_KILL[$i]:-none}" -le "$((full - 1000000))"
  i=$((i + 1))
done
wp_wait_exit "${WP_ROUTER_PID[ra]}" 10; wait "${WP_ROUTER_PID[ra]}" 2>/dev/null; unset "WP_ROUTER_PID[ra]"
# session_uuid SESSIONS_JSON SRC SPORT DST: "UUID WAN_SRC WAN_DST" of the ingress SVR session SRC:SPORT -> DST:80.
session_uuid() {
  "$WP_PY" - "$1" "$2" "$3" "$4" <<'PY'
import json, sys
for s in json.loads(sys.argv[1] or "{}").get("sessions", []):
    o = s["original"]
    if (o["src"], str(o["sport"]), o["dst"], o["dport"]) == (sys.argv[2], sys.argv[3], sys.argv[4], 80) and s.get("svr_role") == "ingress":
        print(s["uuid"], s["left"]["src"], s["left"]["dst"])
        sys.exit(0)
sys.exit(1)
PY
}
flow_sessions() {  # SESSIONS_JSON SRC SPORT: every session of the client's SRC:SPORT, as REST shows it (a diagnostic)
  "$WP_PY" - "$@" <<'PY'
import json, sys
try:
    d = json.loads(sys.argv[1] or "{}")
except ValueError:
    print(f"not JSON: {sys.argv[1][:200]!r}")
    sys.exit(0)
m = [s for s in d.get("sessions", []) if (s["original"]["src"], str(s["original"]["sport"])) == (sys.argv[2], sys.argv[3])]
print(json.dumps(m) if m else f"none of {d.get('count')}")
PY
}
# rb_has SRC PORT DST UUID: rb's REST lists the session with that UUID, leaving from ra's waypoint.
rb_has() {
  local ub wb1 wb2
  sessions_json rb >"$WP_TMP/sessions-rb.log"
  read -r ub wb1 wb2 <<<"$(session_uuid "$(cat "$WP_TMP/sessions-rb.log")" "$1" "$2" "$3")"
  [ "${ub:-}" = "$4" ] && [ "${wb1:-} ${wb2:-}" = "2001:db8:70::1 2001:db8:70::4" ]
}
echo "$RA_SESSIONS" >"$WP_TMP/sessions-ra.log"
# While the downloads still run (their sessions end with them).
declare -A UUID
for x in "$CLI ${PORT6:-0} $SRV6 IPv6" "$CLI4 ${PORT4:-0} $SRV4 IPv4"; do
  read -r src port dst fam <<<"$x"
  read -r ua wa1 wa2 <<<"$(session_uuid "$RA_SESSIONS" "$src" "$port" "$dst")"
  wp_check "ra's REST before the kill: the $fam session $src port $port -> $dst:80 left 2001:db8:70::1 -> 2001:db8:70::4 (${ua:-})" \
    test "${wa1:-} ${wa2:-}" = "2001:db8:70::1 2001:db8:70::4"
  wp_check "rb's REST after the kill: the same session with the same UUID, leaving from ra's IPv6 waypoint" \
    wp_until 10 rb_has "$src" "$port" "$dst" "${ua:-none}" ||
    echo "  rb lists for $src port $port: $(flow_sessions "$(cat "$WP_TMP/sessions-rb.log")" "$src" "$port")"
  UUID[$fam]=${ua:-none}
done
wp_expect "rb had applied ra's IPv6 sessions (routed, and over SVR)" "$(wp_stat rb counters.ha6_sessions_applied)" -ge 2
wp_expect "rb had received ra's IPv6 session over SVR" "$(wp_ha_get rb counters.svr6_sessions_received)" -ge 1
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
wp_check "bridge mdb: rb joined ra's LAN address's group ff02::1:ff00:1 on its port (MLD)" wp_until 10 mdb_lists plb ff02::1:ff00:1
wp_check "m's neighbor entry for ra's WAN address is rb's MAC" wp_until 10 moved m 2001:db8:70::1 m0 bwan
finished() {  # PID WHAT FILE ERR
  if wait "$1"; then
    wp_pass "$2 finished through rb, sha256 matches"
  else
    wp_fail "$2 broke: $(tr '\n' ' ' <"$WP_TMP/$4" | head -c 300) ($(stat -c %s "$WP_TMP/$3" 2>/dev/null || echo 0) B)"
  fi
}
finished "$CPID" "the routed 3 MB IPv6 download paced at 200 KB/s" got.bin curl.err
finished "$CPID6" "the 3 MB IPv6 download over SVR (IPv6 waypoints) paced at 200 KB/s" got6.bin curl6.err
finished "$CPID4" "the 3 MB IPv4 download over SVR (IPv6 waypoints) paced at 200 KB/s" got4.bin curl4.err
wp_expect "rb forwarded the rest of the routed download (IPv6 packets)" "$(wp_stat rb counters.ipv6_forwarded)" -gt 500
wp_expect "rb sent SVR packets from ra's IPv6 waypoint (waypoint6_sent)" "$(wp_stat rb counters.waypoint6_sent)" -gt 100
wp_expect "rb received r2's SVR packets to ra's IPv6 waypoint (waypoint6_received)" "$(wp_stat rb counters.waypoint6_received)" -gt 500
wp_cap_stop
# wan_metadata CAPTURE T RB_MAC UUID...: each UUID in a forward metadata block from ra's
# waypoint to r2's before T; after T no metadata packet at all (rb sets nothing up again)
# and the packets from ra's waypoint come from rb's MAC (at least 100: the rest of the downloads' ACKs).
wan_metadata() {
  "$WP_PY" - "$WP_E2E" "$@" <<'PY'
import socket, sys
sys.path.insert(0, sys.argv[1])
from pcapfile import frames, metadata_packets, tlvs
cap, t, rb_mac = sys.argv[2], float(sys.argv[3]), bytes.fromhex(sys.argv[4].replace(":", ""))
want = {u.replace("-", "") for u in sys.argv[5:]}
seen, late = set(), []
for p in metadata_packets(cap):
    if p.time > t:
        late.append(repr(p))
        continue
    u = dict(tlvs(p.payload)).get(6)
    if u and p.src == "2001:db8:70::1" and p.dst == "2001:db8:70::4":
        seen.add(u.hex())
ra_wp = socket.inet_pton(socket.AF_INET6, "2001:db8:70::1")
from_rb = sum(1 for _, ts, f in frames(cap)
              if ts > t and f[12:14] == b"\x86\xdd" and f[6:12] == rb_mac and f[22:38] == ra_wp)
print(f"metadata UUIDs before the kill: {sorted(seen)}; metadata packets after it: {late[:5]}; "
      f"packets from ra's waypoint with rb's MAC after it: {from_rb}")
sys.exit(0 if want <= seen and not late and from_rb >= 100 else 1)
PY
}
wp_check "the WAN capture (pcapfile.py): both sessions' UUIDs in the metadata from ra's waypoint, none after the kill, then ra's waypoint sends from rb's MAC" \
  wan_metadata "$WP_TMP/wan.pcap" "$T_KILL" "$(wp_mac rb bwan)" "${UUID[IPv6]}" "${UUID[IPv4]}"
wp_expect "r2: no bad_hmac" "$(wp_stat r2 drops.bad_hmac)" -eq 0
wp_check "rb exits 0 on SIGTERM" wp_router_stop rb
wp_check "r2 exits 0 on SIGTERM" wp_router_stop r2
wp_finish
