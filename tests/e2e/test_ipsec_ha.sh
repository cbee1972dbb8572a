#!/bin/bash
# HA of IPsec state (issue #20, docs/ipsec.md § HA): IKE and Child SAs survive
# the death of the node that holds them.
#
#   site 172.16.0.9 (strongSwan, LAN 10.50.0.1) ═ WAN bridge ═ 172.16.0.2 [ra] 10.2.0.2 ═ LAN ═ s 10.2.0.10
#                                                           ╚ 172.16.0.3 [rb] 10.2.0.3 ╝
#   ra ══ hx (10.77.0.1 — 10.77.0.2) ══ rb: corosync ring (as test_ha.sh)
# ra and rb have the same ipsec_peers and tunnels; the site (charon with
# kernel-libipsec, PSK, dpd_delay 2 s) initiates to ra's WAN address. ra
# syncs the IKE SA and its Child SA to rb (rb lists a "peer copy"). Under an
# iperf3 TCP flow and a 3 MB upload at 300 KB/s (sha256 at the server) from
# the site's LAN to s through the tunnel, ra's waypointd is killed with -9: rb takes ra's
# addresses and installs the synced SAs; both flows finish through rb; a
# capture on the site's port shows no IKE_SA_INIT after the kill; swanctl
# lists the same IKE SPIs before and after; charon's DPD INFORMATIONALs are
# answered by rb (its responder counts them, the SA stays up); a 3 MB download
# at 300 KB/s from s to the site's LAN (the server's data sealed into the
# tunnel) was synced to rb as a session with a tunnel side (same UUID on both
# nodes, rb's tunnel_sessions_received) and finishes through rb byte-exact,
# forwarded by that synced session (its UUID unchanged after the kill); rb's counters
# show the takeover and GET /api/v1/ipsec says "taken over". Then ra returns:
# rb's resync carries the SA back, ra resumes it once it holds its address
# again (ike_ha_resumed), rb removes its installed copy (ike_ha_given_back),
# the site's next DPD is answered by ra and its LAN pings through ra; still
# the same IKE SPIs and no IKE_SA_INIT in the whole capture after the kill.
# IPSEC_HA_FAMILY=6 (run_all.sh's test_ipsec_ha/ipv6, docs/ipsec.md § IPv6 outer addresses):
# the same with IKE and ESP between the site's 2001:db8:16::9 and ra's 2001:db8:16::2 (rb
# claims it with Neighbor Advertisements), the inner traffic still IPv4 (ipsec_ha_lib.sh).
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

wp_init "wpe2e-ipsecha${IPSEC_HA_FAMILY:-}-"
echo "== test_ipsec_ha: IKE/Child SA takeover in an HA pair (IPv${IPSEC_HA_FAMILY:-4} outer addresses), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ] || ! command -v corosync >/dev/null || [ ! -x /usr/lib/ipsec/charon ]; then
  wp_fail "waypointd, corosync or strongSwan missing (setup.sh)"; wp_finish
fi
PSK=site1-ha-psk-0123456789abcdef IPSEC_HA_GROUP=wp-ipsec-pair IPSEC_HA_PEER=
source "$(dirname "$0")/ipsec_ha_lib.sh"
ipsec_ha_configs

ipsec_ha_topo || { wp_fail "topology setup"; wp_finish; }

mkdir -p "$WP_TMP/www"
head -c 3145728 /dev/urandom >"$WP_TMP/www/big.bin"
wp_bg s "$WP_TMP/iperf3.log" iperf3 -s -B 10.2.0.10 --forceflush
WP_PIDS+=("$WP_BG_PID")
wp_http_start s 10.2.0.10 80 "$WP_TMP/http.log" && wp_wait_listen s 5201 || { wp_fail "servers start"; wp_finish; }

wp_ha_pair_start "$WP_TMP/corosync.conf"

ipsec_ha_site site ""
wp_check "swanctl --initiate (IKE_SA_INIT + IKE_AUTH with ra)" swan --initiate --ike site --child lan --timeout 15
ike_spis() { swan --list-sas --ike site 2>/dev/null | awk '/^site: #/ && /ESTABLISHED/ {gsub(/\*/, ""); print $5 " " $6}'; }
before=$(ike_spis)
wp_check "strongSwan: IKE SA ESTABLISHED ($before)" test -n "$before"
ours=$(ipsec ra "' '.join(s['spi_i'] + '_i ' + s['spi_r'] + '_r' for s in d['ike_sas'] if s['ha'] == 'own')")
wp_check "ra holds it ('$ours'), ha own" test "$ours" = "$before"
wp_check "rb holds ra's IKE SA as a peer copy" \
  wp_until 10 ipsec_is rb "[s['spi_r'] for s in d['ike_sas'] if s['ha'] == 'peer copy'] == ['${before##* }'.split('_')[0]]" True
wp_expect "ra synced it (ike_ha_sas_synced)" "$(counter ra ike_ha_sas_synced)" -ge 1

# ---- flows through the tunnel, then kill -9 ra's waypointd
site_ping() { wp_exec site ping -c 2 -i 0.2 -W 2 -I 10.50.0.1 10.2.0.10 >/dev/null 2>&1; }
wp_check "the site's LAN reaches 10.2.0.10 through ra's tunnel" wp_until 15 site_ping
iperf_seconds() { grep -cE '^\[ *[0-9]+\] +[0-9.]+-[0-9.]+ +sec ' "$WP_TMP/iperf3.log" 2>/dev/null; }
secs=$(iperf_seconds)
iperf_moving() { [ "$(iperf_seconds)" -gt "$((secs + 1))" ]; }
timeout 60 ip netns exec "$(wp_ns site)" iperf3 -c 10.2.0.10 -B 10.50.0.1 -t 12 -b 8M -J --connect-timeout 5000 \
  >"$WP_TMP/iperf.json" 2>&1 &
IPID=$!
# An upload (the site's side sends, as iperf3's); http_server.py answers
# "LENGTH SHA256" of what arrived. Sessions with a tunnel side are synced
# (docs/ipsec.md § HA): the survivor forwards them with the synced session.
wp_exec site curl -sS --connect-timeout 10 --max-time 60 --interface 10.50.0.1 --limit-rate 300000 \
  -T "$WP_TMP/www/big.bin" -o "$WP_TMP/put.out" "http://10.2.0.10/upload.bin" 2>"$WP_TMP/curl.err" &
CPID=$!
# A download to the site's LAN (s sends, sealed into the tunnel), from a known port.
wp_exec site curl -sS --connect-timeout 10 --max-time 60 --interface 10.50.0.1 --local-port 41000 \
  --limit-rate 300000 -o "$WP_TMP/down.bin" "http://10.2.0.10/big.bin" 2>"$WP_TMP/down.err" &
DPID=$!
# The UUID of the download's session on ROUTER ("" when it holds none).
down_uuid() {
  wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/sessions?addr=10.50.0.1&limit=1000" 2>/dev/null |
    "$WP_PY" -c "import json,sys
try:
    d = json.load(sys.stdin)
except Exception:
    d = {}
print(''.join(x['uuid'] for x in d.get('sessions', []) if x['original']['src'] == '10.50.0.1'
              and str(x['original']['sport']) == '41000' and x['ingress'] == 'ipsec0'))"
}
wp_check "iperf3 moves data through the tunnel" wp_until 20 iperf_moving
upload_acked() {  # bytes of the upload the server acknowledged (the site's socket)
  # Two connections go to port 80: the download's (from port 41000) acks
  # only its request, so it is left out, and the largest count is taken
  # whatever order ss lists them in.
  wp_exec site ss -tniH state established "( dport = :80 and sport != :41000 )" 2>/dev/null |
    grep -o 'bytes_acked:[0-9]*' | cut -d: -f2 | sort -n | tail -n 1
}
upload_moving() { [ "$(upload_acked)" -ge 300000 ] 2>/dev/null; }
wp_check "the upload moves data through the tunnel" wp_until 20 upload_moving
down_has() { [ "$(stat -c %s "$WP_TMP/down.bin" 2>/dev/null || echo 0)" -ge 300000 ]; }
wp_check "the download moves data through the tunnel" wp_until 20 down_has
down_listed() { down_ra=$(down_uuid ra); [ -n "$down_ra" ]; }
wp_check "ra holds the download's session, side A the tunnel" wp_until 5 down_listed
# rb applied that very session from ra (its last received UUIDs, GET /api/v1/ha).
down_synced() { [ -n "$down_ra" ] && wp_ha_json rb | grep -q "\"${down_ra//-/}\""; }
wp_check "rb applied the same session (UUID $down_ra): synced with its tunnel side" wp_until 10 down_synced
wp_expect "rb applied tunnel sessions (tunnel_sessions_received)" "$(wp_ha_get rb counters.tunnel_sessions_received)" -ge 1
wp_check "rb knows the tunnel (no 'not configured here' in its log)" \
  test "$(grep -c 'not configured here' "$WP_TMP/rb.log")" -eq 0
ra_out=$(ipsec ra "d['tunnels'][0]['out_packets']")
wp_expect "ra's workers seal the tunnel's packets" "$ra_out" -ge 10
t_kill=$(date +%s.%N)
kill -9 "${WP_ROUTER_PID[ra]}"
wp_wait_exit "${WP_ROUTER_PID[ra]}" 10; wait "${WP_ROUTER_PID[ra]}" 2>/dev/null; unset "WP_ROUTER_PID[ra]"
wp_check "rb took ra's addresses" wp_wait_ha rb peer_addresses_taken true
# rb's claim (gratuitous ARP, or an unsolicited Neighbor Advertisement with Override for an
# IPv6 address) moved the site's neighbor entry of ra's WAN address to rb's MAC.
rb_mac=$(wp_exec rb cat /sys/class/net/bwan/address)
site_sees_rb() { wp_exec site ip neigh show "$IPSEC_HA_RA" dev s0 | grep -q "lladdr $rb_mac"; }
wp_check "the site's neighbor entry of $IPSEC_HA_RA is rb's MAC ($rb_mac)" wp_until 5 site_sees_rb
wp_check "rb installed ra's IKE SA (ike_ha_taken_over)" wp_until 10 ipsec_is rb "d['counters']['ike_ha_taken_over'] >= 1" True
wp_check "GET /api/v1/ipsec on rb: the IKE SA is 'taken over'" \
  ipsec_is rb "[s['ha'] for s in d['ike_sas'] if s['spi_r'] == '${before##* }'.split('_')[0]]" "['taken over']"
wp_check "rb's Child SA is INSTALLED in its workers' table" \
  ipsec_is rb "[c['state'] for c in d['child_sas']]" "['INSTALLED']"
# The download first: its session ends 30 s after its FINs (tcp_transitory), and the upload
# may take longer than that after the takeover on a busy host.
wait "$DPID" && [ "$(wp_sha "$WP_TMP/down.bin")" = "$(wp_sha "$WP_TMP/www/big.bin")" ] &&
  wp_pass "3 MB download to the site's LAN at 300 KB/s finished through rb, sha256 matches" ||
  wp_fail "download broke or bytes differ ($(stat -c %s "$WP_TMP/down.bin" 2>/dev/null) bytes; $(tr '\n' ' ' <"$WP_TMP/down.err" | head -c 200))"
down_kept() { [ "$(down_uuid rb)" = "$down_ra" ]; }
wp_check "rb forwarded it with the synced session (UUID $down_ra, not a new one)" wp_until 5 down_kept ||
  echo "rb lists the download's session as '$(down_uuid rb)', $(( $(date +%s) - $(stat -c %Y "$WP_TMP/down.bin") )) s after its last byte"
want="3145728 $(wp_sha "$WP_TMP/www/big.bin")"
wait "$IPID" && "$WP_PY" "$WP_E2E/iperf_summary.py" "$WP_TMP/iperf.json" &&
  wp_pass "iperf3 TCP through the tunnel finished through rb" || wp_fail "iperf3 broke ($(head -c 300 "$WP_TMP/iperf.json"))"
wait "$CPID" && [ "$(cat "$WP_TMP/put.out" 2>/dev/null)" = "$want" ] &&
  wp_pass "3 MB upload at 300 KB/s finished through rb, the server's sha256 matches" ||
  wp_fail "upload broke or bytes differ (server: $(head -c 100 "$WP_TMP/put.out" 2>/dev/null); $(tr '\n' ' ' <"$WP_TMP/curl.err" | head -c 200))"
wp_check "rb's workers sealed the tunnel's packets after the takeover (the document is up to 1 s old)" \
  wp_until 5 ipsec_is rb "d['tunnels'][0]['out_packets'] >= 10" True

# ---- DPD: charon's liveness checks (2 s of silence) answered by rb
resp0=$(ipsec rb "d['counters']['responses_sent']")
dpd_answered() { [ "$(ipsec rb "d['counters']['responses_sent']")" -ge "$((resp0 + 2))" ] 2>/dev/null; }
wp_check "charon's DPD INFORMATIONALs answered by rb (responses_sent from $resp0)" wp_until 20 dpd_answered
wp_expect "rb refused none of them (old/future message ID, integrity)" \
  "$(ipsec rb "d['refused']['old_message_id'] + d['refused']['future_message_id'] + d['refused']['integrity_failed'] + d['refused']['unknown_spi']")" -eq 0
after=$(ike_spis)
wp_check "swanctl lists the same IKE SPIs after the kill ($after)" test "$after" = "$before"

# ---- ra returns: rb's resync carries the SA (with the message IDs rb moved),
# ra resumes it once it answers for its address again, rb hands it back.
mv "$WP_TMP/ra.log" "$WP_TMP/ra-1.log"
wp_router_start ra "$WP_TMP/ra.yaml" 1 alan awan
wp_check "ra ready again" wp_wait_ready ra
wp_check "ra answers for its addresses again" wp_wait_ha ra own_addresses_held true 30
wp_check "rb handed them back" wp_wait_ha rb peer_addresses_taken false
# ra's claims (gratuitous ARP, or Neighbor Advertisements once its address passed DAD) move the
# site's neighbor entry back to ra's MAC.
ra_mac=$(wp_exec ra cat /sys/class/net/awan/address)
site_sees_ra() { wp_exec site ip neigh show "$IPSEC_HA_RA" dev s0 | grep -q "lladdr $ra_mac"; }
wp_check "the site's neighbor entry of $IPSEC_HA_RA is ra's MAC again ($ra_mac)" wp_until 10 site_sees_ra ||
  echo "  the site: $(wp_exec site ip neigh show "$IPSEC_HA_RA" dev s0)"
# (ra's own solicitations carry its MAC too, so the entry alone does not prove the claims.)
echo "  ra after the hand-back: ha_nd_claims_sent $(wp_stat ra counters.ha_nd_claims_sent), nd_dad_passed $(wp_stat ra counters.nd_dad_passed)"
wp_check "ra resumed its IKE SA from rb's copy (ike_ha_resumed)" \
  wp_until 10 ipsec_is ra "[s['ha'] for s in d['ike_sas'] if s['spi_r'] == '${before##* }'.split('_')[0]] == ['own'] and d['counters']['ike_ha_resumed'] >= 1" True
wp_check "rb removed its installed copy (ike_ha_given_back)" \
  wp_until 10 ipsec_is rb "d['counters']['ike_ha_given_back'] >= 1 and [c['state'] for c in d['child_sas']] == ['PEER_COPY']" True
ra_resp0=$(ipsec ra "d['counters']['responses_sent']")
ra_dpd() { [ "$(ipsec ra "d['counters']['responses_sent']")" -ge "$((ra_resp0 + 1))" ] 2>/dev/null; }
wp_check "charon's next DPD answered by ra (the message ID rb reached)" wp_until 20 ra_dpd
wp_expect "ra refused none of the site's requests" \
  "$(ipsec ra "d['refused']['old_message_id'] + d['refused']['future_message_id'] + d['refused']['integrity_failed'] + d['refused']['unknown_spi']")" -eq 0
wp_check "the site's LAN reaches 10.2.0.10 through ra's tunnel again" wp_until 15 site_ping
wp_check "ra's workers sealed the tunnel's packets (the document is up to 1 s old)" \
  wp_until 5 ipsec_is ra "d['tunnels'][0]['out_packets'] >= 2" True
wp_check "swanctl still lists the same IKE SPIs" test "$(ike_spis)" = "$before"
wp_cap_stop
new_inits=$(tshark -r "$WP_TMP/site.pcap" -Y "isakmp.exchangetype == 34" -T fields -e frame.time_epoch \
  2>/dev/null | "$WP_PY" -c 'import sys; t=float(sys.argv[1]); print(sum(1 for x in sys.stdin if x.strip() and float(x) > t))' "$t_kill")
all_inits=$(tshark -r "$WP_TMP/site.pcap" -Y "isakmp.exchangetype == 34" 2>/dev/null | wc -l)
wp_expect "the capture holds the first IKE_SA_INIT exchange" "$all_inits" -ge 2
wp_expect "no IKE_SA_INIT after the kill" "$new_inits" -eq 0
# The site's view of the gap: the longest silence of the ESP sealed toward it
# from ra's address ($IPSEC_HA_RA) in the 10 s after the kill (iperf3's ACKs and the
# server's replies flow all along; -1: nothing after the kill).
gap=$(tshark -r "$WP_TMP/site.pcap" -Y "$IPSEC_HA_IP.src == $IPSEC_HA_RA and udp.srcport == 4500 and esp" -T fields \
  -e frame.time_epoch 2>/dev/null | "$WP_PY" -c '
import sys
t = float(sys.argv[1])
v = sorted(float(x) for x in sys.stdin if x.strip() and t - 0.5 <= float(x) <= t + 10)
print(int(max(b - a for a, b in zip(v, v[1:])) * 1000) if len(v) > 1 and v[-1] > t else -1)' "$t_kill")
echo "longest ESP silence toward the site around the kill: $gap ms"
wp_expect "ESP from ra's address again after the kill (gap measured)" "$gap" -ge 0
rb_esp=$(tshark -r "$WP_TMP/site.pcap" -Y "$IPSEC_HA_IP.src == $IPSEC_HA_RA and eth.src == $rb_mac and esp" -T fields \
  -e frame.time_epoch 2>/dev/null | "$WP_PY" -c 'import sys; t=float(sys.argv[1]); print(sum(1 for x in sys.stdin if x.strip() and float(x) > t))' "$t_kill")
wp_expect "rb sealed ESP toward the site from ra's address $IPSEC_HA_RA (rb's MAC) after the kill" "$rb_esp" -ge 10
wp_check "charon never re-established (one 'established' in its log)" \
  test "$(grep -c 'IKE_SA site\[[0-9]*\] established' "$WP_TMP/charon.log")" -eq 1
echo "ra: $(ipsec ra "{k: v for k, v in d['counters'].items() if k.startswith('ike_ha')}")"
echo "rb: $(ipsec rb "{k: v for k, v in d['counters'].items() if k.startswith('ike_ha')}")"
wp_finish
