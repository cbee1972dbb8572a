#!/bin/bash
# BGP with FRR on the headend (docs/operations.md § Routes from FRR): r2 runs
# waypointd with the punt path and the FPM listener, and beside it FRR (zebra
# with dplane_fpm_nl feeding waypointd's FIB, bgpd, bfdd) peering eBGP over the
# punt path with two FRR "fabric" routers (plain Linux forwarding), both with
# the server prefix 10.200.0.0/16 behind them:
#   c — r1 — wan — r2 [lan kernel interface] — sw/br0 ─┬─ f1 (10.2.0.11) ─┬─ sw/br1 — srv 10.200.0.10
#                                                      └─ f2 (10.2.0.12) ─┘
# srv's gateway is f1 (the return path); f2 is the fabric router that fails.
# 1. Both sessions Established (BFD up); 10.200.0.0/16 in GET /api/v1/routes
#    with both next hops; f1 learned the branch prefix r2 advertises; curl
#    5 MiB c -> srv byte-exact and iperf3 TCP through r1 -> r2.
# 2. Rate-limited downloads with fixed source ports until sessions sit on both
#    next hops (next_hop of GET /api/v1/sessions); f2's link cut: BFD (100 ms
#    x 3) takes r2's BGP session down within 1.5 s (when bgpd logs Cease/BFD
#    Down, its log read every 10 ms), the route keeps only f1, f2's sessions
#    move (sessions_route_moved) and every download finishes byte-exact; f2's
#    link back: ECMP again.
# 3. f1 announces 1,000 /24s (kernel routes, redistribute kernel), toggled off and on
#    while a download to srv runs: all learned and withdrawn in the FIB, the
#    download byte-exact, r2 drops nothing meanwhile (drops_total; the server's
#    retransmissions and the client's duplicate reports are logged); at the end
#    the FIB equals zebra's selected routes (show ip route json).
# 4. `neighbor shutdown` of both fabric routers: 10.200.0.0/16 leaves the FIB
#    (time measured) and a new session to srv is dropped with no_route.
# usage: test_bgp.sh
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

wp_init "wpe2e-bgp-"
echo "== test_bgp: FRR eBGP/ECMP/BFD on r2, waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi
for d in zebra bgpd bfdd; do
  [ -x "/usr/lib/frr/$d" ] || { wp_fail "FRR $d not installed (setup.sh installs frr)"; wp_finish; }
done
CHECK=$WP_E2E/bgp_check.py

topology() {
  wp_ns_add c lan r1 wan r2 sw f1 f2 srv || return 1
  wp_veth c c0 lan lc && wp_veth r1 r1l lan lr && wp_bridge lan br0 lc lr || return 1
  wp_veth r1 r1w wan w1 && wp_veth r2 r2w wan w2 && wp_bridge wan br0 w1 w2 || return 1
  wp_veth r2 r2l sw p0 && wp_veth f1 f1l sw p1 && wp_veth f2 f2l sw p2 && wp_bridge sw br0 p0 p1 p2 || return 1
  wp_veth f1 f1s sw q1 && wp_veth f2 f2s sw q2 && wp_veth srv s0 sw q3 && wp_bridge sw br1 q1 q2 q3 || return 1
  wp_addr c c0 10.1.0.10/24 && wp_gw c 10.1.0.1 || return 1
  wp_addr f1 f1l 10.2.0.11/24 && wp_addr f1 f1s 10.200.0.1/16 || return 1
  wp_addr f2 f2l 10.2.0.12/24 && wp_addr f2 f2s 10.200.0.2/16 || return 1
  wp_exec f1 sysctl -qw net.ipv4.ip_forward=1 && wp_exec f2 sysctl -qw net.ipv4.ip_forward=1 || return 1
  wp_addr srv s0 10.200.0.10/16 && wp_gw srv 10.200.0.1 || return 1
  # 1,000 /24s in f1's kernel for its bgpd to redistribute (zebra reads them as kernel routes)
  local i
  for ((i = 0; i < 1000; i++)); do echo "route add blackhole 10.$((210 + i / 256)).$((i % 256)).0/24"; done |
    ip -n "$(wp_ns f1)" -batch -
}
topology || { wp_fail "topology setup"; wp_finish; }
mkdir -p "$WP_TMP/www"
head -c $((5 << 20)) /dev/urandom >"$WP_TMP/www/big.bin"
head -c $((3 << 20)) /dev/urandom >"$WP_TMP/www/slow.bin"
wp_bg srv "$WP_TMP/iperf3.log" iperf3 -s -B 10.200.0.10
WP_PIDS+=("$WP_BG_PID")
wp_http_start srv 10.200.0.10 80 "$WP_TMP/http.log" && wp_wait_listen srv 5201 || { wp_fail "servers"; wp_finish; }

KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" 1 "$KEY"
sed -i 's|prefixes: \[10.2.0.0/24\], protocol: |prefixes: [10.2.0.0/24, 10.200.0.0/16], protocol: |' \
  "$WP_TMP/r1.yaml" "$WP_TMP/r2.yaml"
sed -i 's/^  name: r2$/  name: r2\n  punt: {enabled: true}/' "$WP_TMP/r2.yaml"
echo 'fpm: {listen: "127.0.0.1:2620", replay_quiet_ms: 500}' >>"$WP_TMP/r2.yaml"
wp_check "waypointd --check accepts r2.yaml with punt and fpm" wp_check_config "$WP_TMP/r2.yaml"
wp_pair_start 1

# ------------------------------------------------------------------ FRR
# FRR per namespace: wp_frr_start, wp_vty, wp_bgp_peer (lib.sh).
established() { wp_bgp_established "$@"; }
not_established() { ! established "$@"; }
bfd_status() { wp_vty r2 -c "show bfd peer $1 json" | "$WP_PY" -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null; }
bfd_is() { [ "$(bfd_status "$1")" = "$2" ]; }

frr_conf() {  # NS ASN ROUTER_ID: the common part; the caller appends neighbors and networks
  local d=$WP_TMP/frr-$1
  mkdir -p "$d" && touch "$d/vtysh.conf" || return 1
  if [ "$1" = r2 ]; then
    printf 'fpm address 127.0.0.1 port 2620\nno fpm use-next-hop-groups\n' >"$d/zebra.conf"
  else
    touch "$d/zebra.conf"
  fi
  printf 'bfd\n profile fast\n  transmit-interval 100\n  receive-interval 100\n  detect-multiplier 3\n exit\nexit\n' \
    >"$d/bfdd.conf"
  printf 'router bgp %s\n bgp router-id %s\n bgp log-neighbor-changes\n no bgp ebgp-requires-policy\n no bgp network import-check\n' \
    "$2" "$3" >"$d/bgpd.conf"
}
neighbor_conf() {  # ADDR ASN: eBGP neighbor with BFD (profile fast); connect retry 1 s
  printf ' neighbor %s remote-as %s\n neighbor %s timers 3 9\n neighbor %s timers connect 1\n' "$1" "$2" "$1" "$1"
  printf ' neighbor %s bfd\n neighbor %s bfd profile fast\n' "$1" "$1"
}
frr_configs() {
  frr_conf r2 65001 10.2.0.1 && frr_conf f1 65002 10.2.0.11 && frr_conf f2 65002 10.2.0.12 || return 1
  # r2 advertises its connected prefixes (waypoint and LAN addresses on the
  # kernel interfaces) and the branch prefix behind the SVR peer.
  { neighbor_conf 10.2.0.11 65002; neighbor_conf 10.2.0.12 65002
    printf ' address-family ipv4 unicast\n  network 10.1.0.0/24\n  redistribute connected\n  maximum-paths 4\n exit-address-family\n'
  } >>"$WP_TMP/frr-r2/bgpd.conf"
  local f
  for f in f1 f2; do
    { neighbor_conf 10.2.0.1 65001
      printf ' address-family ipv4 unicast\n  network 10.200.0.0/16\n exit-address-family\n'
    } >>"$WP_TMP/frr-$f/bgpd.conf"
  done
  chmod 777 "$WP_TMP"/frr-* && chown -R frr:frr "$WP_TMP"/frr-*
}
frr_configs || { wp_fail "FRR configs"; wp_finish; }
wp_frr_start r2 bgpd bfdd && wp_frr_start f1 bgpd bfdd && wp_frr_start f2 bgpd bfdd || { wp_fail "FRR start"; wp_finish; }

routes_json() { wp_exec r2 curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/routes" 2>/dev/null; }
hops() { routes_json | "$WP_PY" "$CHECK" hops 10.200.0.0/16; }
hops_are() { [ "$(hops)" = "$1" ]; }
BOTH="10.2.0.11 10.2.0.12"

# ------------------------------------------------------------------ 1. sessions, ECMP route, traffic
wp_check "eBGP r2 -> f1 Established (over the punt path)" wp_until 40 established r2 10.2.0.11
wp_check "eBGP r2 -> f2 Established" wp_until 20 established r2 10.2.0.12
wp_check "BFD r2 <-> f2 up" wp_until 20 bfd_is 10.2.0.12 up
wp_check "10.200.0.0/16 in GET /api/v1/routes with both next hops (ECMP)" wp_until 20 hops_are "$BOTH"
f1_learned() { wp_exec f1 ip route show 10.1.0.0/24 | grep -q "via 10.2.0.1"; }
wp_check "f1 installed the branch prefix 10.1.0.0/24 via 10.2.0.1 (r2's network statement)" wp_until 20 f1_learned
fetch_ok() {  # NAME FILE: c downloads FILE from srv, sha256 matches
  wp_fetch c "http://10.200.0.10/$2" "$WP_TMP/$1.got" 30 && [ "$(wp_sha "$WP_TMP/$1.got")" = "$(wp_sha "$WP_TMP/www/$2")" ]
}
wp_check "curl 5 MiB c -> 10.200.0.10 through r1 and r2, sha256 matches" fetch_ok big big.bin
iperf_ok() {
  timeout 30 ip netns exec "$(wp_ns c)" iperf3 -c 10.200.0.10 -t 2 -J --connect-timeout 5000 \
    >"$WP_TMP/iperf.json" 2>"$WP_TMP/iperf.err"
  "$WP_PY" "$WP_E2E/iperf_summary.py" "$WP_TMP/iperf.json"
}
wp_check "iperf3 TCP c -> 10.200.0.10" iperf_ok

# ------------------------------------------------------------------ 2. sessions on both next hops, f2 cut
sessions_json() {
  wp_exec r2 curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/sessions?addr=10.200.0.10&limit=1000" 2>/dev/null
}
session_hop() { sessions_json | "$WP_PY" "$CHECK" session-hops | awk -v p="$1" '$1 == p {print $2}'; }
hop_known() { WP_HOP=$(session_hop "$1"); [ -n "$WP_HOP" ]; }
declare -A SLOW_PID SLOW_HOP
slow_start() {  # PORT: a 3 MiB download at 400 KiB/s from source port PORT; waits for its session
  wp_bg c "$WP_TMP/slow-$1.log" curl -sS --max-time 60 --local-port "$1" \
    -o "$WP_TMP/slow-$1.got" "http://10.200.0.10/slow.bin?rate=409600"
  SLOW_PID[$1]=$WP_BG_PID
  WP_PIDS+=("$WP_BG_PID")
  local WP_HOP=""
  wp_until 10 hop_known "$1"
  SLOW_HOP[$1]=$WP_HOP
}
on_hop() { local p n=0; for p in "${!SLOW_HOP[@]}"; do [ "${SLOW_HOP[$p]}" = "$1" ] && n=$((n + 1)); done; echo $n; }
port=41000
while [ $port -lt 41016 ]; do
  slow_start $port
  port=$((port + 1))
  [ $port -ge 41006 ] && [ "$(on_hop 10.2.0.11)" -gt 0 ] && [ "$(on_hop 10.2.0.12)" -gt 0 ] && break
done
wp_log "downloads by next hop: f1 $(on_hop 10.2.0.11), f2 $(on_hop 10.2.0.12) (source ports ${!SLOW_HOP[*]}: ${SLOW_HOP[*]})"
wp_expect "sessions on next hop f1 (GET /api/v1/sessions next_hop)" "$(on_hop 10.2.0.11)" -gt 0
wp_expect "sessions on next hop f2" "$(on_hop 10.2.0.12)" -gt 0
wp_expect "every download's session has one of the two next hops" \
  $(($(on_hop 10.2.0.11) + $(on_hop 10.2.0.12))) -eq ${#SLOW_HOP[@]}

moved0=$(wp_stat r2 counters.sessions_route_moved)
est_f2=$(wp_bgp_peer r2 10.2.0.12 connectionsEstablished)
wp_bg r2 "$WP_TMP/bfd-down.time" "$WP_PY" "$CHECK" watch "$WP_TMP/frr-r2/bgpd.log" \
  "sent to neighbor 10.2.0.12 6/10 \\(Cease/BFD Down\\)" 20
WATCH_PID=$WP_BG_PID; WP_PIDS+=("$WATCH_PID")
wp_until 10 wp_log_has "$WP_TMP/bfd-down.time" watching
cut=$(date +%s.%N)
ip -n "$(wp_ns sw)" link set p2 down
wp_check "r2's BGP session to f2 down after the cut" wp_until 10 not_established r2 10.2.0.12
wp_check "r2's BFD peer f2 down" wp_until 10 bfd_is 10.2.0.12 down
wp_check "10.200.0.0/16 keeps only f1 in the FIB" wp_until 10 hops_are 10.2.0.11
fib_ms=$((($(date +%s%N) - ${cut/./}) / 1000000))
wp_until 25 wp_dead "$WATCH_PID"
detect_ms=$("$WP_PY" -c "import sys; a, b = map(float, sys.argv[1:]); print(int((b - a) * 1000) if b > 0 else -1)" \
  "$cut" "$(tail -n 1 "$WP_TMP/bfd-down.time")")
wp_log "cut -> r2's bgpd sends Cease/BFD Down to f2: ${detect_ms} ms; cut -> FIB seen with one hop (REST poll): ${fib_ms} ms"
wp_expect "BFD took r2's BGP session to f2 down (Cease/BFD Down) within 1500 ms of the cut (100 ms x 3)" \
  "$detect_ms" -lt 1500
wp_expect "... after the cut" "$detect_ms" -ge 0
wp_expect "r2 <-> f2 had never reset before the cut (connectionsEstablished)" "$est_f2" -eq 1
wp_expect "r2 counters.sessions_route_moved grew by f2's sessions" \
  "$(wp_wait_stat r2 counters.sessions_route_moved $((moved0 + $(on_hop 10.2.0.12))) 10)" -ge $((moved0 + $(on_hop 10.2.0.12)))
still_f1() { local p; for p in "${!SLOW_HOP[@]}"; do [ "$(session_hop "$p")" = 10.2.0.11 ] || return 1; done; }
wp_check "every download's session now on f1" wp_until 10 still_f1
slow_done() { local p; for p in "${!SLOW_PID[@]}"; do wp_alive "${SLOW_PID[$p]}" && return 1; done; return 0; }
wp_until 60 slow_done
slow_ok() {  # every download exited 0 with the file's bytes
  local p rc ok=0
  for p in "${!SLOW_PID[@]}"; do
    wait "${SLOW_PID[$p]}"; rc=$?
    if [ $rc -ne 0 ] || [ "$(wp_sha "$WP_TMP/slow-$p.got")" != "$(wp_sha "$WP_TMP/www/slow.bin")" ]; then
      wp_log "download from port $p (next hop ${SLOW_HOP[$p]}): curl exit $rc, $(stat -c %s "$WP_TMP/slow-$p.got" 2>/dev/null) bytes"
      ok=1
    fi
  done
  return $ok
}
wp_check "every download (${#SLOW_PID[@]}, across the cut) finished byte-exact, no reset" slow_ok
ip -n "$(wp_ns sw)" link set p2 up
wp_check "f2's link back: BGP Established again" wp_until 30 established r2 10.2.0.12
wp_check "ECMP again in the FIB" wp_until 20 hops_are "$BOTH"

# ------------------------------------------------------------------ 3. 1,000 prefixes toggled under traffic
count_210() { routes_json | "$WP_PY" "$CHECK" count 10.21; }
count_is() { [ "$(count_210)" = "$1" ]; }
toggle() {  # on|off: f1's redistribute static; waits for the FIB to follow
  local no="" want=1000 t0
  [ "$1" = off ] && no="no " && want=0
  t0=$(date +%s%N)
  wp_vty_conf f1 -c "router bgp 65002" -c "address-family ipv4 unicast" -c "${no}redistribute kernel"
  wp_until 60 count_is $want || return 1
  wp_log "1,000 prefixes $1: FIB has $want after $((($(date +%s%N) - t0) / 1000000)) ms"
}
noroute0=$(wp_stat r2 drops.no_route)
tcp_stats() {  # the server's retransmissions, tail loss probes and retransmissions the client reported as duplicates
  wp_exec srv nstat -az TcpRetransSegs TcpExtTCPLossProbes TcpExtTCPDSACKRecv | awk 'NR > 1 {printf "%s ", $2}'
}
# 3 MiB at 128 KiB/s: 24 s, so the flow outlives the toggles even when a loaded
# machine makes them take 10 s or more (the first one took 4.8 s in a CI run).
wp_bg c "$WP_TMP/flow.log" curl -sS --max-time 90 -o "$WP_TMP/flow.got" "http://10.200.0.10/slow.bin?rate=131072"
FLOW_PID=$WP_BG_PID; WP_PIDS+=("$FLOW_PID")
flow_moving() { [ "$(stat -c %s "$WP_TMP/flow.got" 2>/dev/null || echo 0)" -gt 100000 ]; }
wp_until 20 flow_moving
rdrops0=$(wp_stat r2 drops_total)
tcp0=$(tcp_stats)
toggles_ok() { toggle on && toggle off && toggle on && toggle off && toggle on; }
wp_check "1,000 /24s from f1 learned and withdrawn in the FIB, 5 toggles" toggles_ok
rdrops1=$(wp_stat r2 drops_total)
tcp1=$(tcp_stats)
flow_alive=0; wp_alive "$FLOW_PID" && flow_alive=1
wp_expect "the download to srv was still running after the toggles ($(stat -c %s "$WP_TMP/flow.got" 2>/dev/null || echo 0) B so far)" "$flow_alive" -eq 1
wp_until 60 wp_dead "$FLOW_PID"
flow_ok() { wait "$FLOW_PID" && [ "$(wp_sha "$WP_TMP/flow.got")" = "$(wp_sha "$WP_TMP/www/slow.bin")" ]; }
wp_check "the download to srv during the toggles is byte-exact" flow_ok
wp_expect "no no_route drop at r2 during the toggles" "$(wp_stat r2 drops.no_route)" -eq "$noroute0"
wp_expect "r2 dropped no packet at all while the 1,000 prefixes came and went (drops_total)" "$rdrops1" -eq "$rdrops0"
wp_log "server TCP during the toggles: $("$WP_PY" -c 'import sys; a, b = (list(map(int, x.split())) for x in sys.argv[1:])
r, p, d = (y - x for x, y in zip(a, b))
print(f"{r} segments retransmitted, {d} reported back as duplicates (DSACK: spurious), {p} tail loss probes")' "$tcp0" "$tcp1"
); r1 drops: $(wp_nonzero_drops r1)"
wp_expect "r2 <-> f1 never reset (BFD 100 ms x 3 over the punt path, connectionsEstablished)" \
  "$(wp_bgp_peer r2 10.2.0.11 connectionsEstablished)" -eq 1
same_fib() {
  routes_json >"$WP_TMP/fib.json" && wp_vty r2 -c "show ip route json" >"$WP_TMP/zebra.json" &&
    "$WP_PY" "$CHECK" same-fib "$WP_TMP/fib.json" "$WP_TMP/zebra.json"
}
wp_check "FIB (GET /api/v1/routes) equals zebra's selected routes (show ip route json)" wp_until 10 same_fib

# ------------------------------------------------------------------ 4. neighbor shutdown: no_route
no_prefix() { ! routes_json | grep -q '"prefix": "10.200.0.0/16"'; }
t0=$(date +%s%N)
wp_vty_conf r2 -c "router bgp 65001" -c "neighbor 10.2.0.11 shutdown" -c "neighbor 10.2.0.12 shutdown"
wp_check "neighbor shutdown of f1 and f2: 10.200.0.0/16 leaves the FIB" wp_until 10 no_prefix
withdraw_ms=$((($(date +%s%N) - t0) / 1000000))
wp_log "neighbor shutdown -> route gone from GET /api/v1/routes: ${withdraw_ms} ms (vtysh included)"
wp_expect "withdrawn within 1500 ms" "$withdraw_ms" -lt 1500
before=$(wp_stat r2 drops.no_route)
wp_exec c curl -s --max-time 2 -o /dev/null http://10.200.0.10/big.bin
wp_expect "a new session to 10.200.0.10 is dropped with no_route at r2" \
  "$(wp_wait_stat r2 drops.no_route $((before + 1)))" -gt "$before"

for r in r1 r2; do wp_check "$r exits 0 on SIGTERM" wp_router_stop $r; done
wp_finish
