#!/bin/bash
# Internet breakout with source NAT (docs/operations.md § Breakout): one
# router, no peer. The "internet" server (203.0.113.10, behind gateway
# 172.16.0.254 on the WAN bridge) is reached by service `internet` with
# `breakout: {interface: wan0}`.
#   client 10.1.0.10 / guest 10.1.0.200 — lan — r1 — WAN bridge (capture) — i (gw + server)
# usage: test_breakout.sh [WORKERS]   (default 2: replies must reach the owning worker)
# Checks: curl 5 MiB byte-exact, iperf3 TCP and UDP, ping, the server sees
# only r1's WAN address, the WAN capture shows no LAN address, the REST
# session shows the translated tuple, guests are denied, ports go back to the
# pool when sessions end (counters), r1 exits 0 on SIGTERM.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WORKERS=${1:-2}
wp_init "wpe2e-brk-"
echo "== test_breakout: 1 router, $WORKERS worker(s), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi
INET=203.0.113.10

# --- topology
topo() {
  wp_ns_add c g lan r1 wan i || return 1
  wp_veth c c0 lan lc && wp_veth g g0 lan lg && wp_veth r1 r1l lan lr || return 1
  wp_bridge lan br0 lc lg lr || return 1
  wp_veth r1 r1w wan w1 && wp_veth i i0 wan wi && wp_bridge wan br0 w1 wi || return 1
  wp_addr c c0 10.1.0.10/24 && wp_gw c 10.1.0.1 || return 1
  wp_addr g g0 10.1.0.200/24 && wp_gw g 10.1.0.1 || return 1
  # The internet side: a gateway address on the WAN subnet and the server behind it.
  wp_addr i i0 172.16.0.254/24 && ip -n "$(wp_ns i)" addr add "$INET/32" dev lo
}
wp_check "topology" topo || wp_finish

cat >"$WP_TMP/r1.yaml" <<YAML
router:
  name: r1
  lan: {name: lan, device: net_af_packet0, address: 10.1.0.1/24}
  wan:
    - {name: wan0, device: net_af_packet1, address: 172.16.0.1/24}
routes:
  - {prefix: 0.0.0.0/0, next_hop: 172.16.0.254, interface: wan0}
tenants:
  - {name: branch, prefixes: [10.1.0.0/25]}
  - {name: guests, prefixes: [10.1.0.128/25]}
services:
  - {name: internet, prefixes: [0.0.0.0/0], breakout: {interface: wan0}}
policies:
  - {tenant: branch, service: internet}
dataplane: {workers: $WORKERS, max_sessions: 65536}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
YAML
wp_check "waypointd --check accepts r1.yaml" wp_check_config "$WP_TMP/r1.yaml"
# A breakout to a LAN interface is refused, with the path.
sed 's/breakout: {interface: wan0}/breakout: {interface: lan}/' "$WP_TMP/r1.yaml" >"$WP_TMP/bad.yaml"
bad_refused() { ! wp_check_config "$WP_TMP/bad.yaml" && grep -q 'services\[0\].breakout.interface' "$WP_TMP/check-bad.yaml.log"; }
wp_check "a breakout to the LAN is refused at services[0].breakout.interface" bad_refused

# --- servers on the internet side
mkdir -p "$WP_TMP/www"
head -c 5242880 /dev/urandom >"$WP_TMP/www/file.bin"
wp_bg i "$WP_TMP/iperf3.log" iperf3 -s -B "$INET" --forceflush
WP_PIDS+=("$WP_BG_PID")
wp_check "servers start" wp_http_start i "$INET" 80 "$WP_TMP/http.log" || wp_finish
wp_check "iperf3 listens" wp_wait_listen i 5201 || wp_finish

wp_router_start r1 "$WP_TMP/r1.yaml" "$WORKERS" r1l r1w
wp_check "r1 ready" wp_wait_ready r1 || wp_finish

CAP=$WP_TMP/wan.pcap
wp_cap_start wan br0 "$CAP" || { wp_fail "capture start"; wp_finish; }

# --- curl 5 MiB, byte-exact; the server sees r1's WAN address
http_ok() {
  wp_fetch c "http://$INET/file.bin" "$WP_TMP/got.bin" 30 &&
    [ "$(wp_sha "$WP_TMP/got.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "curl 5 MiB through the breakout, sha256 matches" http_ok
wp_check "the server saw 172.16.0.1 (the WAN address), not the client" \
  grep -q '^172\.16\.0\.1 .*"GET /file.bin' "$WP_TMP/http.log"
wp_check "the server never saw a LAN address" bash -c "! grep -q '^10\\.1\\.' '$WP_TMP/http.log'"

# --- ICMP echo through the breakout (identifier translated)
wp_check "client pings the internet server" wp_exec c ping -c 3 -i 0.2 -W 2 -q "$INET"

# --- the session as REST shows it: translated source on the WAN side
rest_nat() {
  wp_exec r1 curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/sessions?service=internet" |
    "$WP_PY" -c '
import json, sys
d = json.load(sys.stdin)
ss = d.get("sessions", d if isinstance(d, list) else [])
ok = [s for s in ss if s.get("left", {}).get("src") == "172.16.0.1" and s.get("original", {}).get("src") == "10.1.0.10"
      and s.get("egress") == "wan0" and 16384 <= int(s["left"].get("sport", 0)) <= 65534]
sys.exit(0 if ok else 1)'
}
wp_check "REST shows a session 10.1.0.10 -> internet leaving wan0 from 172.16.0.1 with a NAT port" wp_until 10 rest_nat

# --- iperf3 TCP and UDP
iperf() {  # NAME ARGS...
  local name=$1; shift
  timeout 40 ip netns exec "$(wp_ns c)" iperf3 -c "$INET" -J --connect-timeout 5000 "$@" \
    >"$WP_TMP/$name.json" 2>"$WP_TMP/$name.err" && "$WP_PY" "$WP_E2E/iperf_summary.py" "$WP_TMP/$name.json"
}
wp_check "iperf3 UDP -b 20M -t 3 -l 1200" iperf iperf-udp -u -b 20M -t 3 -l 1200
wp_cap_stop
wp_check "iperf3 TCP -t 2 (outside the capture)" iperf iperf-tcp -t 2
wp_check "iperf3 server accepted from 172.16.0.1 only" \
  bash -c "grep -q 'Accepted connection from 172.16.0.1' '$WP_TMP/iperf3.log' && ! grep -q 'from 10\\.1\\.' '$WP_TMP/iperf3.log'"

# --- the WAN capture: every packet to or from the internet server carries r1's WAN address
wan_sources() {
  # Outer header only: an ICMP error from the server (port unreachable after iperf3's UDP
  # test) quotes the translated datagram as a second IP layer.
  tshark -r "$CAP" -Y "ip.addr == $INET" -T fields -E occurrence=f -e ip.src -e ip.dst 2>/dev/null |
    sort -u >"$WP_TMP/wan-pairs.txt"
  [ -s "$WP_TMP/wan-pairs.txt" ] || return 1
  ! grep -v -E "^(172\.16\.0\.1	$INET|$INET	172\.16\.0\.1)$" "$WP_TMP/wan-pairs.txt"
}
wp_check "WAN capture: only 172.16.0.1 <-> $INET (tcp, udp and icmp)" wan_sources
wp_check "WAN capture: no 10.1.0.0/24 address at all" \
  bash -c "[ \"\$(tshark -r '$CAP' -Y 'ip.addr == 10.1.0.0/24' 2>/dev/null | wc -l)\" -eq 0 ]"
wp_check "WAN capture has ICMP echo both ways" \
  bash -c "[ \"\$(tshark -r '$CAP' -Y 'icmp.type == 0 && ip.dst == 172.16.0.1' 2>/dev/null | wc -l)\" -ge 3 ]"

# --- guests have no policy for the internet
guest_denied() { ! wp_fetch g "http://$INET/file.bin" "$WP_TMP/guest.bin" 1 2>/dev/null; }
wp_check "guest (10.1.0.200) curl fails" guest_denied
wp_expect "r1 drops.policy_deny > 0" "$(wp_wait_stat r1 drops.policy_deny 1)" -gt 0
wp_check "guest ping fails" bash -c "! ip netns exec '$(wp_ns g)' ping -c 1 -W 1 -q $INET >/dev/null"

wp_expect "r1 counters.breakout_sessions_created >= 4" "$(wp_stat r1 counters.breakout_sessions_created)" -ge 4
wp_expect "r1 drops.breakout_ports_exhausted = 0" "$(wp_stat r1 drops.breakout_ports_exhausted)" -eq 0
wp_check "curl still works at the end" http_ok

wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
wp_finish
