#!/bin/bash
# Per-session encryption end to end (issue #4), canonical topology:
#   client — r1 (branch) — WAN bridge — r2 (headend) — server
# Every policy uses {encryption: aes256-cbc, hmac: every-packet, adaptive: on}.
# Checks: a 1 MiB file whose every line holds an ASCII marker arrives
# byte-exact over HTTP while the WAN capture never shows the marker (the
# server-side capture does: the check can fail); both routers count encrypted
# sessions/packets and clamp the MSS; a captured steady-state UDP packet
# re-injected with one byte flipped is dropped as bad_packet_hmac, and
# replayed unchanged is dropped as replayed; HTTPS (curl -k to a TLS server)
# is byte-exact with encryption skipped by adaptive mode (sessions_adaptive_skip)
# while its packets are still HMAC-verified (packets_opened grows).
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

wp_init "wpe2e-crypto-"
echo "== test_crypto: 2 routers, AES-256-CBC + HMAC-SHA256-128, waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi
MARKER="WAYPOINT-CRYPTO-E2E-MARKER"

KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" 1 "$KEY"
crypto_conf() {  # FILE NEXT_PEER: every policy encrypts; a tls service on 443
  local np=${2:+, next_peer: $2}
  sed -i -e 's/service: web}/service: web, security: enc}/' -e 's/service: iperf-udp}/service: iperf-udp, security: enc}/' \
    -e "/^services:/a\\  - {name: tls, prefixes: [10.2.0.0/24], protocol: tcp, ports: [\"443\"]$np}" \
    -e "/^policies:/a\\  - {tenant: branch, service: tls, security: enc}" "$1"
  printf 'security_policies:\n  - {name: enc, encryption: aes256-cbc, hmac: every-packet, adaptive: on}\n' >>"$1"
}
crypto_conf "$WP_TMP/r1.yaml" r2
crypto_conf "$WP_TMP/r2.yaml" ""
wp_check "waypointd --check accepts r1.yaml" wp_check_config "$WP_TMP/r1.yaml"
wp_check "waypointd --check accepts r2.yaml" wp_check_config "$WP_TMP/r2.yaml"

wp_basic_up
# 1 MiB of marker lines (a marker in the first 256 bytes of every frame's data).
"$WP_PY" -c "
import sys
line = b'$MARKER %08d ' + b'x' * 30 + b'\n'
out = b''.join(line.replace(b'%08d', b'%08d' % i) for i in range(1048576 // len(line) + 1))
sys.stdout.buffer.write(out[:1048576])" >"$WP_TMP/www/marker.txt"

# TLS server: python http.server behind ssl, self-signed certificate.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WP_TMP/tls.key" -out "$WP_TMP/tls.crt" -days 1 \
  -subj /CN=10.2.0.10 >"$WP_TMP/openssl.log" 2>&1
wp_bg s "$WP_TMP/https.log" "$WP_PY" -u -c "
import functools, http.server, ssl
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory='$WP_TMP/www')
srv = http.server.ThreadingHTTPServer(('10.2.0.10', 443), h)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain('$WP_TMP/tls.crt', '$WP_TMP/tls.key')
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()"
WP_PIDS+=("$WP_BG_PID")
wp_check "TLS server listens on 10.2.0.10:443" wp_wait_listen s 443 10

wp_pair_start 1
wp_check "r1 logs the IPsec-MB arch of its crypto bursts" grep -q "session crypto AES-256-CBC .* arch [a-z0-9]*" "${WP_ROUTER_LOG[r1]}"

CAP=$WP_TMP/wan.pcap SCAP=$WP_TMP/server.pcap
wp_cap_start wan br0 "$CAP" || { wp_fail "tshark start (wan)"; wp_finish; }
wp_cap_start s s0 "$SCAP" || { wp_fail "tshark start (server)"; wp_finish; }

# --- HTTP (plain: encrypted by Waypoint), byte-exact, marker never on the WAN
http_ok() {
  wp_fetch c "http://10.2.0.10/marker.txt?$MARKER" "$WP_TMP/got.txt" 30 &&
    [ "$(wp_sha "$WP_TMP/got.txt")" = "$(wp_sha "$WP_TMP/www/marker.txt")" ]
}
wp_check "curl 1 MiB over HTTP through encrypting r1->r2, sha256 matches" http_ok

# --- UDP echo over the encrypted iperf-udp service, for the re-injection below
wp_udp_echo_start 5201
wp_check "UDP echo through the encrypted session (5 round trips)" \
  wp_exec c "$WP_PY" "$WP_E2E/udp_echo.py" send 10.2.0.10 5201 "$MARKER-udp-payload-for-reinjection" 3 5
wp_cap_stop

marker_count() { grep -a -c "$MARKER" "$1" || true; }
wp_expect "server-side capture shows the marker in clear (control)" "$(marker_count "$SCAP")" -gt 100
wp_expect "WAN capture never shows the marker" "$(marker_count "$CAP")" -eq 0
wp_expect "WAN capture holds the transfer (> 700 full-size frames from r2)" \
  "$(tshark -r "$CAP" -Y 'ip.src==172.16.0.2 && tcp.len > 1000' 2>/dev/null | wc -l)" -gt 700
wp_expect "no WAN frame exceeds the 1500-byte MTU" \
  "$(tshark -r "$CAP" -Y 'ip.len > 1500' 2>/dev/null | wc -l)" -eq 0
wp_expect "r1 counters.sessions_encrypted > 0" "$(wp_stat r1 counters.sessions_encrypted)" -gt 0
wp_expect "r2 counters.sessions_encrypted > 0" "$(wp_stat r2 counters.sessions_encrypted)" -gt 0
wp_expect "r2 counters.packets_encrypted > 700 (the file, reverse)" "$(wp_stat r2 counters.packets_encrypted)" -gt 700
wp_expect "r1 counters.packets_decrypted > 700" "$(wp_stat r1 counters.packets_decrypted)" -gt 700
wp_expect "r1 counters.mss_clamped > 0" "$(wp_stat r1 counters.mss_clamped)" -gt 0
wp_expect "r1 drops.mtu_exceeded = 0" "$(wp_stat r1 drops.mtu_exceeded)" -eq 0
wp_expect "r2 drops.mtu_exceeded = 0" "$(wp_stat r2 drops.mtu_exceeded)" -eq 0

# --- tamper and replay a captured steady-state UDP packet (r1 -> r2)
inject() { wp_exec wan "$WP_PY" "$WP_E2E/crypto_inject.py" "$CAP" 172.16.0.1 172.16.0.2 "$1" --iface br0 >>"$WP_TMP/inject.log" 2>&1; }
before=$(wp_stat r2 drops.bad_packet_hmac)
wp_check "re-inject a captured packet with one ciphertext byte flipped" inject tamper
wp_expect "r2 drops.bad_packet_hmac increments" "$(wp_wait_stat r2 drops.bad_packet_hmac $((before + 1)) 5)" -gt "$before"
before=$(wp_stat r2 drops.replayed)
wp_check "replay the captured packet unchanged" inject replay
wp_expect "r2 drops.replayed increments" "$(wp_wait_stat r2 drops.replayed $((before + 1)) 5)" -gt "$before"
wp_check "UDP echo still works after the attacks" \
  wp_exec c "$WP_PY" "$WP_E2E/udp_echo.py" send 10.2.0.10 5201 "after" 3 2

# --- HTTPS: adaptive mode leaves TLS unencrypted, HMAC still verified
skip1=$(wp_stat r1 counters.sessions_adaptive_skip) opened1=$(wp_stat r1 counters.packets_opened)
https_ok() {
  wp_fetch c https://10.2.0.10/marker.txt "$WP_TMP/got-tls.txt" 30 -k &&
    [ "$(wp_sha "$WP_TMP/got-tls.txt")" = "$(wp_sha "$WP_TMP/www/marker.txt")" ]
}
wp_check "curl -k 1 MiB over HTTPS, sha256 matches" https_ok
wp_expect "r1 counters.sessions_adaptive_skip increments" "$(wp_stat r1 counters.sessions_adaptive_skip)" -gt "$skip1"
wp_expect "r2 counters.sessions_adaptive_skip > 0" "$(wp_stat r2 counters.sessions_adaptive_skip)" -gt 0
wp_expect "r1 verified the TLS session's packets (packets_opened +700)" \
  "$(wp_stat r1 counters.packets_opened)" -gt $((opened1 + 700))

wp_stats_json r1 >"$WP_TMP/stats-r1.log"; wp_stats_json r2 >"$WP_TMP/stats-r2.log"
wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
wp_check "r2 exits 0 on SIGTERM" wp_router_stop r2
wp_finish
