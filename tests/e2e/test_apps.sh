#!/bin/bash
# Application classification end to end (docs/applications.md): real clients in the client
# namespaces, the canonical topology
#   c (10.1.0.10, tenant branch) / g (10.1.0.200, tenant guests) — r1 — wan — r2 — s (10.2.0.10)
# curl over HTTPS to a TLS server with a given server name, ssh to an sshd (skipped when
# openssh-server is missing), a DNS query (dig, or app_traffic.py without bind9-dnsutils) and a
# BitTorrent peer handshake (python socket). r1 (ingress) classifies each session with nDPI;
# r2 (egress) shows the same applications from TLV 35 with its classifier counter at 0; the
# guests' BitTorrent is refused (app_policy_deny); `wpctl apps` lists them; TLV 35 is on the wire.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WPCTL=${WPCTL:-$WP_REPO/build/tools/wpctl}
wp_init "wpe2e-apps-"
echo "== test_apps: application classification r1 -> r2, waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi
KEY=$(wp_keygen)

# conf NAME LAN WAN NEXT_PEER PEER:WAYPOINT
conf() {
  local np=${4:+, next_peer: $4}
  cat <<YAML
router:
  name: $1
  lan: {name: lan, device: net_af_packet0, address: $2}
  wan:
    - {name: wan0, device: net_af_packet1, address: $3}
tenants:
  - {name: branch, prefixes: [10.1.0.0/25]}
  - {name: guests, prefixes: [10.1.0.128/25]}
services:
  - {name: web-tls, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["443"]$np}
  - {name: ssh, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["22"], applications: [ssh]$np}
  - {name: dns, prefixes: [10.2.0.0/24], protocol: udp, ports: ["53"]$np}
  - {name: p2p, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["6881"]$np}
policies:
  - {tenant: branch, service: web-tls}
  - {tenant: branch, service: ssh}
  - {tenant: branch, service: dns}
  - {tenant: branch, service: p2p}
  - {tenant: guests, service: p2p, deny_applications: [bittorrent]}
peers:
  - {name: ${5%%:*}, waypoints: [${5#*:}], key: "$KEY"}
dataplane: {workers: 1, max_sessions: 65536, app_packets: 16}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
YAML
}
conf r1 10.1.0.1/24 172.16.0.1/24 r2 r2:172.16.0.2 >"$WP_TMP/r1.yaml"
conf r2 10.2.0.1/24 172.16.0.2/24 "" r1:172.16.0.1 >"$WP_TMP/r2.yaml"
for r in r1 r2; do wp_check "waypointd --check accepts $r.yaml" wp_check_config "$WP_TMP/$r.yaml"; done

wp_topo_basic || { wp_fail "topology setup"; wp_finish; }
mkdir -p "$WP_TMP/www" && echo hello >"$WP_TMP/www/hello.txt"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WP_TMP/tls.key" -out "$WP_TMP/tls.crt" -days 1 \
  -subj /CN=app.example.test >"$WP_TMP/openssl.log" 2>&1
wp_check "TLS server listens on 10.2.0.10:443" \
  wp_http_start s 10.2.0.10 443 "$WP_TMP/https.log" --tls "$WP_TMP/tls.crt" "$WP_TMP/tls.key"
wp_bg s "$WP_TMP/dns.log" "$WP_PY" -u "$WP_E2E/app_traffic.py" dns-server 10.2.0.10 53
WP_PIDS+=("$WP_BG_PID")
wp_bg s "$WP_TMP/sink.log" "$WP_PY" -u "$WP_E2E/app_traffic.py" tcp-sink 10.2.0.10 6881
WP_PIDS+=("$WP_BG_PID")
wp_check "DNS server and TCP sink up" wp_until 20 wp_log_has "$WP_TMP/dns.log" "^listening"
wp_check "TCP sink listens on 6881" wp_wait_listen s 6881
HAVE_SSHD=0
if [ -x /usr/sbin/sshd ]; then
  HAVE_SSHD=1
  ssh-keygen -q -t ed25519 -N "" -f "$WP_TMP/ssh_host_key" </dev/null
  mkdir -p /run/sshd
  wp_bg s "$WP_TMP/sshd.log" /usr/sbin/sshd -D -e -f /dev/null -h "$WP_TMP/ssh_host_key" \
    -o ListenAddress=10.2.0.10 -o PidFile=none
  WP_PIDS+=("$WP_BG_PID")
  wp_check "sshd listens on 10.2.0.10:22" wp_wait_listen s 22
fi

wp_pair_start 1
wp_cap_start wan br0 "$WP_TMP/wan.pcap" || { wp_fail "capture start"; wp_finish; }

# --- the clients
wp_check "curl over HTTPS (SNI app.example.test) through r1/r2" \
  wp_fetch c https://app.example.test/hello.txt "$WP_TMP/hello.txt" 20 -k --resolve app.example.test:443:10.2.0.10
if command -v dig >/dev/null; then
  wp_check "dig through r1/r2" wp_exec c dig +time=2 +tries=3 @10.2.0.10 app.example.test A
else
  echo "  (dig not installed, bind9-dnsutils is in setup.sh: the DNS query comes from app_traffic.py)"
  wp_check "DNS query through r1/r2" wp_exec c "$WP_PY" "$WP_E2E/app_traffic.py" dns-query 10.2.0.10 53 app.example.test
fi
wp_check "BitTorrent handshake from the branch through r1/r2" \
  wp_exec c "$WP_PY" "$WP_E2E/app_traffic.py" bittorrent 10.2.0.10 6881
if [ "$HAVE_SSHD" = 1 ]; then
  wp_exec c ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=10 nobody@10.2.0.10 true >"$WP_TMP/ssh.log" 2>&1
  wp_check "ssh reached the sshd (it refused the login)" grep -q "Permission denied" "$WP_TMP/ssh.log"
else
  echo "SKIP: ssh case: openssh-server is not installed (added to setup.sh)"
fi
# Guests may not use BitTorrent: r1 closes the session once it recognises the handshake.
wp_exec g "$WP_PY" "$WP_E2E/app_traffic.py" bittorrent 10.2.0.10 6881 >/dev/null 2>&1
wp_expect "r1 drops the guests' BitTorrent: app_policy_deny" "$(wp_wait_stat r1 drops.app_policy_deny 1 15)" -ge 1

# --- what each router recorded (/api/v1/stats "applications": from the session events)
app_sessions() {  # ROUTER APP: sessions counted for APP
  wp_stats_json "$1" | "$WP_PY" -c '
import json, sys
apps = {a["application"]: a for a in json.load(sys.stdin).get("applications", [])}
print(apps.get(sys.argv[1], {}).get("sessions", 0))' "$2"
}
app_seen() { [ "$(app_sessions "$1" "$2")" -ge "${3:-1}" ]; }
APPS="TLS DNS BitTorrent"
[ "$HAVE_SSHD" = 1 ] && APPS="$APPS SSH"
for a in $APPS; do
  wp_check "r1 classified a $a session (stats.applications)" wp_until 15 app_seen r1 "$a"
  wp_check "r2 shows a $a session too (from TLV 35)" wp_until 15 app_seen r2 "$a"
done
wp_expect "r1 inspected packets with nDPI" "$(wp_stat r1 counters.app_packets_inspected)" -gt 0
wp_expect "r1 app_sessions_classified >= ${APPS// /+} count" "$(wp_stat r1 counters.app_sessions_classified)" \
  -ge "$(echo $APPS | wc -w)"
wp_expect "r2 never ran nDPI: app_packets_inspected" "$(wp_stat r2 counters.app_packets_inspected)" -eq 0
wp_expect "r2 app_sessions_classified" "$(wp_stat r2 counters.app_sessions_classified)" -eq 0
wp_expect "r2 took applications from TLV 35" "$(wp_stat r2 counters.app_from_metadata)" -ge "$(echo $APPS | wc -w)"

# The DNS session is still live (UDP idle timeout): REST and wpctl name its application.
session_app() {
  wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/sessions?service=dns" |
    "$WP_PY" -c 'import json,sys; print(" ".join(s.get("application","") for s in json.load(sys.stdin).get("sessions",[])))'
}
dns_listed() { session_app "$1" | grep -qw DNS; }
wp_check "r1 GET /api/v1/sessions: the DNS session's application is DNS" wp_until 10 dns_listed r1
wp_check "r2 GET /api/v1/sessions: the DNS session's application is DNS" wp_until 10 dns_listed r2
wp_exec r1 "$WPCTL" --url "http://127.0.0.1:$WP_MGMT_PORT" apps >"$WP_TMP/wpctl-apps.txt" 2>&1
cat "$WP_TMP/wpctl-apps.txt"
for a in $APPS; do wp_check "wpctl apps lists $a" grep -q "^$a " "$WP_TMP/wpctl-apps.txt"; done
wp_check "wpctl apps lists the categories" grep -q "^CATEGORY" "$WP_TMP/wpctl-apps.txt"
uuid=$(wp_exec r1 curl -s "http://127.0.0.1:$WP_MGMT_PORT/api/v1/sessions?service=dns" |
  "$WP_PY" -c 'import json,sys; print(json.load(sys.stdin)["sessions"][0]["uuid"])' 2>/dev/null)
wp_exec r1 "$WPCTL" --url "http://127.0.0.1:$WP_MGMT_PORT" session "$uuid" >"$WP_TMP/wpctl-session.txt" 2>&1
wp_check "wpctl session shows the application" grep -q "^app *DNS" "$WP_TMP/wpctl-session.txt"
metrics_ok() { wp_exec r1 curl -s "http://127.0.0.1:$WP_MGMT_PORT/metrics" | grep -q 'waypoint_app_sessions_total{.*application="DNS"}'; }
wp_check "/metrics has waypoint_app_sessions_total by application" metrics_ok

# --- on the wire: TLV 35 in the forward metadata (first packet or a metadata-only update)
wp_cap_stop
"$WP_PY" "$WP_E2E/capcheck.py" "$WP_TMP/wan.pcap" --apps >"$WP_TMP/tlv35.txt"
cat "$WP_TMP/tlv35.txt"
for a in $APPS; do wp_check "TLV 35 = $a on the WAN" grep -q " $a\$" "$WP_TMP/tlv35.txt"; done
wp_capcheck "$WP_TMP/wan.pcap" "$KEY" 172.16.0.1 172.16.0.2

for r in r1 r2; do wp_check "$r exits 0 on SIGTERM" wp_router_stop $r; done
wp_finish
