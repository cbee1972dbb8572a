#!/bin/bash
# QoS on a shaped WAN port (docs/qos.md), canonical topology (lib.sh wp_topo_basic):
#   client — r1 (branch, wan0 shaped to 20 Mbit/s) — WAN bridge — r2 (headend) — server
# usage: test_qos.sh [WORKERS]   (default 2: sessions on either worker, the port's
# scheduler on worker 0, so packets of the other worker reach it through its ring)
# An iperf3 TCP transfer (service web, class bulk) saturates the port while a
# 200 kbit/s voice flow (service voice, class voice, tests/e2e/voice_flow.py with
# its own send timestamps) crosses it. Checks: the port holds its rate (bulk
# <= 20.5 Mbit/s) and bulk gets most of it (> 15 Mbit/s); voice loses nothing and
# its one-way delay p99 stays within 10 ms of its minimum (strict priority: it
# never waits behind the bulk queue); the WAN capture shows voice as EF (46) and
# bulk as AF11 (10); a DNS query (service dns, no class) that r1's nDPI recognises
# is AF21 (18) by r1's qos.applications (DNS -> interactive: the application's class
# wins, docs/qos.md § Classes by application); the qos section of /api/v1/stats,
# waypoint_qos_* on /metrics and `wpctl qos` show the classes; the router exits 0.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WORKERS=${1:-2}
wp_init "wpe2e-qos-"
echo "== test_qos: 2 routers, $WORKERS worker(s), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi
WPCTL=${WPCTL:-$(dirname "$WAYPOINTD")/wpctl}

KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" "$WORKERS" "$KEY"
# r1: wan0 shaped to 20 Mbit/s; web (iperf3 TCP on 5201) is bulk, a voice service on UDP 6000.
sed -i -e 's|^\(    - {name: wan0, device: net_af_packet1, address: 172.16.0.1/24\)}|\1, qos: {rate_kbps: 20000}}|' \
  -e 's|^\(  - {name: web, .*\)}$|\1, qos_class: bulk}|' \
  -e 's|^services:$|services:\n  - {name: voice, prefixes: [10.2.0.0/24], protocol: udp, ports: ["6000"], next_peer: r2, qos_class: voice}\n  - {name: dns, prefixes: [10.2.0.0/24], protocol: udp, ports: ["53"], next_peer: r2}|' \
  -e 's|^policies:$|policies:\n  - {tenant: branch, service: voice}\n  - {tenant: branch, service: dns}|' "$WP_TMP/r1.yaml"
echo 'qos: {applications: [{application: DNS, class: interactive}]}' >>"$WP_TMP/r1.yaml"
sed -i -e 's|^services:$|services:\n  - {name: voice, prefixes: [10.2.0.0/24], protocol: udp, ports: ["6000"]}\n  - {name: dns, prefixes: [10.2.0.0/24], protocol: udp, ports: ["53"]}|' \
  -e 's|^policies:$|policies:\n  - {tenant: branch, service: voice}\n  - {tenant: branch, service: dns}|' "$WP_TMP/r2.yaml"
wp_check "r1.yaml shapes wan0 and classes web and voice" grep -q "qos: {rate_kbps: 20000}" "$WP_TMP/r1.yaml"
wp_check "waypointd --check accepts r1.yaml" wp_check_config "$WP_TMP/r1.yaml"
wp_check "waypointd --check accepts r2.yaml" wp_check_config "$WP_TMP/r2.yaml"

wp_basic_up
wp_pair_start "$WORKERS"
wp_expect "r1 stats: wan0 shaped to 20 Mbit/s" "$(wp_stat r1 qos.ports.0.rate_bps)" -eq 20000000
wp_expect "r2 stats: no shaped port" "$(wp_stat r2 qos.ports.0.rate_bps)" -eq -1

# r1's qos counter of CLASS (index in docs/qos.md order) FIELD.
qos_stat() { wp_stat r1 "qos.ports.0.classes.$1.$2"; }
VOICE=1 BULK=4

# Voice receiver on the server.
wp_bg s "$WP_TMP/voice_recv.log" "$WP_PY" -u "$WP_E2E/voice_flow.py" recv 10.2.0.10 6000 "$WP_TMP/voice.json"
RECV_PID=$WP_BG_PID; WP_PIDS+=("$RECV_PID")
wp_check "voice receiver listening" wp_until 20 wp_log_has "$WP_TMP/voice_recv.log" "^listening" || wp_finish
wp_bg s "$WP_TMP/dns.log" "$WP_PY" -u "$WP_E2E/app_traffic.py" dns-server 10.2.0.10 53
WP_PIDS+=("$WP_BG_PID")
wp_check "DNS server listening" wp_until 20 wp_log_has "$WP_TMP/dns.log" "^listening" || wp_finish

# Bulk: iperf3 TCP for 9 s through the shaped port.
wp_bg c "$WP_TMP/bulk.json" iperf3 -c 10.2.0.10 -p 5201 -t 9 -J --connect-timeout 5000
IPERF_PID=$WP_BG_PID; WP_PIDS+=("$IPERF_PID")
# Saturated: the bulk queue holds packets (the shaper, not the sender, sets the pace).
bulk_queued() { [ "$(qos_stat $BULK depth)" -gt 5 ] || [ "$(qos_stat $BULK dropped)" -gt 0 ]; }
wp_check "bulk saturates the shaped port (queue builds)" wp_until 20 bulk_queued

# Capture the WAN while both flows run (the first 3000 frames from r1).
CAP=$WP_TMP/wan.pcap
wp_cap_start wan w1 "$CAP" -c 3000 -f "ip src 172.16.0.1" || wp_fail "capture start"
# The clock brackets the two stats reads (each takes a curl), so the byte window lies inside it.
wp_check "DNS query through r1/r2 (class interactive by its application)" \
  wp_exec c "$WP_PY" "$WP_E2E/app_traffic.py" dns-query 10.2.0.10 53 qos.example.test
t0=${EPOCHREALTIME//[!0-9]/}
before_bytes=$(qos_stat $BULK sent_bytes)
wp_exec c "$WP_PY" "$WP_E2E/voice_flow.py" send 10.2.0.10 6000 4 --kbps 200 --size 200 >"$WP_TMP/voice_send.log" 2>&1
after_bytes=$(qos_stat $BULK sent_bytes)
t1=${EPOCHREALTIME//[!0-9]/}
wp_check "voice receiver saw the end of the flow" wp_wait_exit "$RECV_PID" 15
wp_check "iperf3 finished" wp_wait_exit "$IPERF_PID" 30
wait "$IPERF_PID"; iperf_rc=$?
wp_cap_stop
wp_expect "iperf3 exit status" "$iperf_rc" -eq 0

# Voice: nothing lost, queueing delay small.
vf() { "$WP_PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); v=r[sys.argv[2]]; print(int(round(v*1000)) if isinstance(v,float) else v)' "$WP_TMP/voice.json" "$1" 2>/dev/null || echo -1; }
echo "  voice: $(cat "$WP_TMP/voice.json" 2>/dev/null)"
wp_expect "voice: all datagrams arrived (sent)" "$(vf sent)" -ge 400
wp_expect "voice: lost 0" "$(vf lost)" -eq 0
wp_expect "voice: one-way delay p99 - min < 10 ms (us)" "$(vf queueing_p99_ms)" -lt 10000
wp_expect "r1 qos voice: dropped 0" "$(qos_stat $VOICE dropped)" -eq 0
wp_expect "r1 qos voice: sent >= 400" "$(qos_stat $VOICE sent)" -ge 400

# Bulk: the scheduler's bytes during the voice window (Ethernet frames) and iperf3's receiver rate.
window_kbps=$(( (after_bytes - before_bytes) * 8 * 1000 / (t1 - t0) ))
echo "  bulk during the voice flow: $window_kbps kbit/s on the wire"
wp_expect "bulk on the wire during voice <= 20500 kbit/s (the shaper holds)" "$window_kbps" -le 20500
wp_expect "bulk on the wire during voice > 15000 kbit/s" "$window_kbps" -gt 15000
rx_kbps=$("$WP_PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]/1000))' "$WP_TMP/bulk.json" 2>/dev/null || echo -1)
echo "  iperf3 TCP received: $rx_kbps kbit/s"
wp_expect "iperf3 TCP goodput > 15000 kbit/s" "$rx_kbps" -gt 15000
wp_expect "iperf3 TCP goodput <= 20000 kbit/s" "$rx_kbps" -le 20000

# DSCP on the WAN.
dscp_count() { tshark -r "$CAP" -Y "ip.dsfield.dscp == $1 && ip.dst == 172.16.0.2" 2>/dev/null | wc -l; }
ef=$(dscp_count 46); af11=$(dscp_count 10); af21=$(dscp_count 18)
other=$(tshark -r "$CAP" -Y "!(ip.dsfield.dscp in {46 10 18 48}) && ip.dst == 172.16.0.2" 2>/dev/null | wc -l)
wp_expect "WAN capture: voice frames marked EF (46)" "$ef" -ge 50
wp_expect "WAN capture: bulk frames marked AF11 (10)" "$af11" -ge 1000
wp_expect "WAN capture: the DNS query marked AF21 (18) by its application" "$af21" -ge 1
wp_expect "WAN capture: no frame with another DSCP" "$other" -eq 0

# Visibility.
metrics=$(wp_exec r1 curl -s --max-time 5 "http://127.0.0.1:$WP_MGMT_PORT/metrics")
wp_check "/metrics: waypoint_qos_sent_packets_total for voice" \
  grep -q 'waypoint_qos_sent_packets_total{router="r1",interface="wan0",class="voice"} [1-9]' <<<"$metrics"
wp_check "/metrics: waypoint_qos_rate_bytes_per_second" grep -q 'waypoint_qos_rate_bytes_per_second{router="r1",interface="wan0"} 2500000' <<<"$metrics"
if [ -x "$WPCTL" ]; then
  wp_exec r1 "$WPCTL" --url "http://127.0.0.1:$WP_MGMT_PORT" qos >"$WP_TMP/wpctl_qos.out" 2>&1
  wp_check "wpctl qos: a voice row on wan0" grep -q '^wan0 .* voice ' "$WP_TMP/wpctl_qos.out"
  cat "$WP_TMP/wpctl_qos.out"
fi
wp_expect "r1 drops: qos_ring_full 0" "$(wp_stat r1 drops.qos_ring_full)" -eq 0

wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
wp_check "r2 exits 0 on SIGTERM" wp_router_stop r2
wp_finish
