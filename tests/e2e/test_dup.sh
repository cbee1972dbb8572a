#!/bin/bash
# Packet duplication (#21, docs/qos.md § Packet duplication):
#   c — r1 ═╦═ path "mpls" (delay_link.py: 5 % loss each way) ═╦═ r2 — s
#           ╚═ path "inet" (WAN bridge wb, clean)              ═╝
# Both services prefer mpls, the lossy path. The "voice" service's class is
# in qos.duplicate: a 10,000-datagram UDP flow (tests/e2e/dup_flow.py, after a
# hello answered so the SVR handshake is over) must arrive whole, each
# datagram once, while r1 sends every datagram on both paths and r2 removes
# the second copies (drops.dup_removed, not an error) with no gap. The same
# flow on the "plain" service (best-effort, not duplicated) loses 2-9 %.
# Then the counters on /metrics, and the TLV 27 / 4-byte number on the capture.
# Prints "dup flow: lost N of 10000", "plain flow: lost N of 10000".
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

wp_init "wpe2e-dup-"
echo "== test_dup: packet duplication over two paths, one lossy; waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi

KEY=$(wp_keygen)
COUNT=10000
conf() {  # NAME LAN PEER SIDE(1|2) ROUTED(yes|no)
  local peer_o=$(( $4 == 1 ? 2 : 1 )) route=""
  [ "$5" = yes ] && route=", next_peer: $3, paths: [mpls, inet]"
  wp_two_paths_router "$1" "$2" "$4"
  cat <<YAML
services:
  - {name: voice, prefixes: [10.2.0.0/24], protocol: udp, ports: ["5004"], qos_class: voice$route}
  - {name: plain, prefixes: [10.2.0.0/24], protocol: udp, ports: ["5005"]$route}
policies:
  - {tenant: branch, service: voice}
  - {tenant: branch, service: plain}
qos:
  duplicate: [voice]
peers:
  - {name: $3, waypoints: [172.16.0.$peer_o, 172.17.0.$peer_o], key: "$KEY"}
dataplane: {workers: 1, max_sessions: 65536}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
YAML
}
conf r1 10.1.0.1/24 r2 1 yes >"$WP_TMP/r1.yaml"
conf r2 10.2.0.1/24 r1 2 no >"$WP_TMP/r2.yaml"
wp_check "waypointd --check accepts r1.yaml" wp_check_config "$WP_TMP/r1.yaml" || wp_finish
wp_check "waypointd --check accepts r2.yaml" wp_check_config "$WP_TMP/r2.yaml" || wp_finish
# A peer with one waypoint cannot carry a duplicated class.
sed 's/waypoints: \[172.16.0.2, 172.17.0.2\]/waypoints: [172.16.0.2]/' "$WP_TMP/r1.yaml" >"$WP_TMP/r1-one.yaml"
"$WAYPOINTD" --check --config "$WP_TMP/r1-one.yaml" >"$WP_TMP/check-one.log" 2>&1
wp_check "--check refuses duplication with one path" grep -q "services\[0\].qos_class: .*duplication needs two paths" "$WP_TMP/check-one.log"

# mpls: a1 <-> a2 through delay_link.py only (below)
wp_topo_two_paths open || { wp_fail "topology setup"; wp_finish; }
# The lossy wire: 5 % of the frames each way (netem is not in this kernel), at
# real-time priority so a busy host does not add loss of its own.
wp_bg wa "$WP_TMP/delay_link.log" chrt -f 10 "$WP_PY" -u "$WP_E2E/delay_link.py" a1 a2 --loss-percent 5 --seconds 900
WP_PIDS+=("$WP_BG_PID")

CAPB=$WP_TMP/wan-b.pcap
wp_cap_start wb br0 "$CAPB" || { wp_fail "dumpcap wb"; wp_finish; }
wp_router_start r1 "$WP_TMP/r1.yaml" 1 r1l r1a r1b
wp_router_start r2 "$WP_TMP/r2.yaml" 1 r2l r2a r2b
wp_check "r1 ready" wp_wait_ready r1 || wp_finish
wp_check "r2 ready" wp_wait_ready r2 || wp_finish

# flow PORT NAME: the numbered flow to s:PORT; sets LOST, DUP from the receiver's count.
flow() {
  local out=$WP_TMP/$2.json rcv
  rm -f "$out"
  wp_bg s "$WP_TMP/$2-recv.log" "$WP_PY" -u "$WP_E2E/dup_flow.py" recv 10.2.0.10 "$1" "$out" --idle 3
  rcv=$WP_BG_PID
  WP_PIDS+=("$rcv")
  wp_until 10 wp_log_has "$WP_TMP/$2-recv.log" listening || { LOST=-1 DUP=-1; return 1; }
  wp_exec c "$WP_PY" -u "$WP_E2E/dup_flow.py" send 10.2.0.10 "$1" "$COUNT" --pps 1000 >"$WP_TMP/$2-send.log" 2>&1
  echo "  $2 sender: $(cat "$WP_TMP/$2-send.log")"
  wp_until 60 wp_dead "$rcv"
  read -r LOST DUP <<<"$("$WP_PY" -c '
import json, sys
try:
    r = json.load(open(sys.argv[1]))
    print(int(sys.argv[2]) - r["received"], r["dup"])
except Exception:
    print(-1, -1)' "$out" "$COUNT")"
}

flow 5004 voice
echo "dup flow: lost $LOST of $COUNT (copies seen by the host: $DUP)"
wp_expect "voice (duplicated): every datagram delivered despite 5 % loss on mpls" "$LOST" -eq 0
wp_expect "voice (duplicated): each datagram once (r2 removed the second copies)" "$DUP" -eq 0
SENT=$(wp_stat r1 counters.dup_packets_sent) COPIES=$(wp_stat r1 counters.dup_copies_sent)
REMOVED=$(wp_stat r2 drops.dup_removed) GAPS=$(wp_stat r2 counters.dup_gaps)
echo "  r1: dup_packets_sent $SENT, dup_copies_sent $COPIES; r2: dup_removed $REMOVED, dup_gaps $GAPS"
wp_expect "r1 numbered every datagram of the flow" "$SENT" -ge "$COUNT"
wp_expect "r1 sent a copy of each on inet" "$COPIES" -ge "$COUNT"
wp_expect "r2 removed the second copies (about 95 %)" "$REMOVED" -ge $((COUNT * 85 / 100))
wp_expect "r2 removed no more copies than were sent" "$REMOVED" -le "$COPIES"
wp_expect "r2: no number lost on both paths" "$GAPS" -eq 0
wp_expect "r2: no copy too late for the window" "$(wp_stat r2 drops.dup_late)" -eq 0

flow 5005 plain
echo "plain flow: lost $LOST of $COUNT"
wp_expect "plain (not duplicated): loses at least 2 % on the lossy path" "$LOST" -ge $((COUNT * 2 / 100))
wp_expect "plain (not duplicated): loses at most 9 %" "$LOST" -le $((COUNT * 9 / 100))
wp_expect "plain: r1 numbered nothing more" "$(wp_stat r1 counters.dup_packets_sent)" -eq "$SENT"

metrics=$(wp_exec r2 curl -s --max-time 5 "http://127.0.0.1:$WP_MGMT_PORT/metrics")
wp_check "/metrics: waypoint_drops_total{reason=\"dup_removed\"}" \
  grep -Eq '^waypoint_drops_total\{.*reason="dup_removed"\} [1-9]' <<<"$metrics"
wp_check "/metrics: waypoint_dup_gaps_total" grep -Eq '^waypoint_dup_gaps_total(\{[^}]*\})? 0$' <<<"$metrics"

wp_cap_stop
# On inet (clean, copies only): voice datagrams of 160 bytes + the 4-byte number.
COPIES_ON_INET=$(tshark -r "$CAPB" -Y 'udp && ip.dst == 172.17.0.2 && udp.length == 172' 2>/dev/null | wc -l)
echo "  inet capture: $COPIES_ON_INET datagrams of 160 + 4 bytes"
wp_expect "inet capture: the voice copies carry the 4-byte number (UDP length 8 + 160 + 4)" "$COPIES_ON_INET" -ge "$COUNT"

wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
wp_check "r2 exits 0 on SIGTERM" wp_router_stop r2
wp_finish
