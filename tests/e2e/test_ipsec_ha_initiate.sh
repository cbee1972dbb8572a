#!/bin/bash
# HA of IKE SAs we initiated (issue #20, docs/ipsec.md § HA "SAs we initiated"
# and "Who initiates in a pair"): the pair initiates to a site that only
# responds, and the SA survives the death of the node that initiated it.
#
#   site 172.16.0.9 (strongSwan, LAN 10.50.0.1) ═ WAN bridge ═ 172.16.0.2 [ra] 10.2.0.2 ═ LAN ═ s 10.2.0.10
#                                                           ╚ 172.16.0.3 [rb] 10.2.0.3 ╝
#   ra ══ hx (10.77.0.1 — 10.77.0.2) ══ rb: corosync ring (as test_ipsec_ha.sh)
# ra and rb have the same ipsec_peers with `initiate: true` and
# `initiate_from: 172.16.0.2` (ra's WAN address); charon (kernel-libipsec,
# PSK) has no start_action: it only responds (and sends DPD after 2 s of
# silence). Checked: ra initiates from 172.16.0.2, rb never initiates
# (initiate_standby counted, initiations 0) and holds ra's SA as a "peer
# copy" with role initiator; the site's LAN pings 10.2.0.10 through the
# tunnel. Under a paced ping, ra's waypointd is killed with -9: rb takes
# 172.16.0.2 over and carries the SA on ("taken over", role initiator), pings
# flow through rb, rb's own DPD (dpd_interval_s 5) goes on with the right
# message IDs (the SA stays up for 3 DPD intervals; an unanswered DPD would
# fail it and start a new one), swanctl lists the same IKE SPIs, charon
# never established a second SA and the capture of the site's port holds no
# IKE_SA_INIT after the kill. Then ra returns: it resumes the SA from rb's
# copy without initiating (ike_ha_resumed, initiations 0), rb gives it back
# (ike_ha_given_back), pings flow through ra, still the same IKE SPIs and no
# IKE_SA_INIT in the whole capture after the kill.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

wp_init "wpe2e-ipsechai-"
echo "== test_ipsec_ha_initiate: an HA pair initiates, the survivor carries the SA on, waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ] || ! command -v corosync >/dev/null || [ ! -x /usr/lib/ipsec/charon ]; then
  wp_fail "waypointd, corosync or strongSwan missing (setup.sh)"; wp_finish
fi
PSK=site1-hai-psk-0123456789abcdef IPSEC_HA_GROUP=wp-ipsec-ipair
IPSEC_HA_PEER=", initiate: true, initiate_from: 172.16.0.2, dpd_interval_s: 5"
source "$(dirname "$0")/ipsec_ha_lib.sh"
ipsec_ha_configs
sed '/initiate_from/s/, initiate_from: 172.16.0.2//' "$WP_TMP/ra.yaml" >"$WP_TMP/bad.yaml"
! wp_check_config "$WP_TMP/bad.yaml" && grep -q "ipsec_peers\[0\].initiate_from: required" "$WP_TMP/check-bad.yaml.log" &&
  wp_pass "waypointd --check refuses initiate without initiate_from in an HA pair" ||
  wp_fail "bad.yaml: $(head -c 300 "$WP_TMP/check-bad.yaml.log")"
ipsec_ha_topo || { wp_fail "topology setup"; wp_finish; }

# ---- the site first: charon only responds (no start_action), DPD after 2 s of silence
ipsec_ha_site hub " (it only responds)"

wp_ha_pair_start "$WP_TMP/corosync.conf"

ra_up() { ipsec_is ra "[(s['role'], s['ha'], s['state'], s['local']) for s in d['ike_sas']]" \
  "[('initiator', 'own', 'ESTABLISHED', '172.16.0.2:4500')]"; }
wp_check "ra initiated the IKE SA from 172.16.0.2 (role initiator, ha own)" wp_until 40 ra_up
ike_spis() { swan --list-sas --ike hub 2>/dev/null | awk '/^hub: #/ && /ESTABLISHED/ {gsub(/\*/, ""); print $5 " " $6}'; }
before=$(ike_spis)
wp_check "strongSwan: hub ESTABLISHED, strongSwan the responder ($before)" test -n "$before"
spi_i=${before%%_i *}
rb_copy() { ipsec_is rb "[(s['role'], s['ha'], s['spi_i']) for s in d['ike_sas']]" "[('initiator', 'peer copy', '$spi_i')]"; }
wp_check "rb holds ra's initiated SA as a peer copy" wp_until 10 rb_copy
wp_expect "rb never initiated (initiations)" "$(counter rb initiations)" -eq 0
wp_expect "rb stands by (initiate_standby)" "$(counter rb initiate_standby)" -ge 1

site_ping() { wp_exec site ping -c 2 -i 0.2 -W 2 -I 10.50.0.1 10.2.0.10 >/dev/null 2>&1; }
wp_check "the site's LAN reaches 10.2.0.10 through ra's tunnel" wp_until 15 site_ping

# ---- kill -9 ra under a paced ping (10 per second for 15 s)
wp_bg site "$WP_TMP/ping.log" ping -c 150 -i 0.1 -W 1 -I 10.50.0.1 10.2.0.10
PING_PID=$WP_BG_PID
WP_PIDS+=("$PING_PID")
ping_seen() { [ "$(grep -c 'bytes from' "$WP_TMP/ping.log" 2>/dev/null)" -ge 10 ]; }
wp_check "the paced ping flows through ra" wp_until 10 ping_seen
t_kill=$(date +%s.%N)
kill -9 "${WP_ROUTER_PID[ra]}"
wp_wait_exit "${WP_ROUTER_PID[ra]}" 10; wait "${WP_ROUTER_PID[ra]}" 2>/dev/null; unset "WP_ROUTER_PID[ra]"
wp_check "rb took ra's addresses" wp_wait_ha rb peer_addresses_taken true
rb_carries() { ipsec_is rb "[(s['role'], s['ha'], s['spi_i'], s['local']) for s in d['ike_sas']]" \
  "[('initiator', 'taken over', '$spi_i', '172.16.0.2:4500')]"; }
wp_check "rb carries the SA on as its initiator (taken over, same SPIi, from 172.16.0.2)" wp_until 10 rb_carries
wp_check "rb's Child SA is INSTALLED" wp_until 5 ipsec_is rb "[c['state'] for c in d['child_sas']]" "['INSTALLED']"
wp_wait_exit "$PING_PID" 30
received=$(grep -o '[0-9]* received' "$WP_TMP/ping.log" | cut -d' ' -f1)
echo "paced ping across the kill: ${received:-0} of 150 answered"
wp_expect "the paced ping went on through rb (most of 150 answered)" "${received:-0}" -ge 75
wp_check "the site's LAN reaches 10.2.0.10 through rb" wp_until 15 site_ping
# rb's DPD every 5 s of silence and charon's every 2 s: after 3 DPD
# intervals the SA must still be the same one (an unanswered DPD of ours
# fails the SA after 15.5 s and starts a new IKE_SA_INIT; one of charon's
# that rb dropped ends it at charon).
sleep_until() { [ "$(date +%s)" -ge "$1" ]; }
wp_until 40 sleep_until "$(( ${t_kill%.*} + 20 ))"
wp_expect "rb still never initiated (initiations)" "$(counter rb initiations)" -eq 0
wp_check "rb's SA is still the taken-over one" rb_carries
after=$(ike_spis)
wp_check "swanctl lists the same IKE SPIs after the kill ($after)" test "$after" = "$before"
wp_check "the site's LAN still reaches 10.2.0.10 through rb" wp_until 15 site_ping

# ---- ra returns: rb's resync carries the SA back (with the message IDs rb
# moved), ra resumes it as its initiator once it answers for 172.16.0.2
# again (no IKE_SA_INIT of its own), rb gives it back without a Delete.
mv "$WP_TMP/ra.log" "$WP_TMP/ra-1.log"
wp_router_start ra "$WP_TMP/ra.yaml" 1 alan awan
wp_check "ra ready again" wp_wait_ready ra
wp_check "ra answers for its addresses again" wp_wait_ha ra own_addresses_held true 30
wp_check "rb handed them back" wp_wait_ha rb peer_addresses_taken false
ra_back() { ipsec_is ra "[(s['role'], s['ha'], s['spi_i']) for s in d['ike_sas']] == [('initiator', 'own', '$spi_i')] and d['counters']['ike_ha_resumed'] >= 1" True; }
wp_check "ra resumed the initiated SA from rb's copy (ike_ha_resumed, same SPIi)" wp_until 10 ra_back
wp_check "rb gave it back (ike_ha_given_back, a peer copy again)" \
  wp_until 10 ipsec_is rb "d['counters']['ike_ha_given_back'] >= 1 and [s['ha'] for s in d['ike_sas']] == ['peer copy']" True
wp_expect "ra did not initiate after its restart (initiations)" "$(counter ra initiations)" -eq 0
wp_check "the site's LAN reaches 10.2.0.10 through ra again" wp_until 15 site_ping
wp_check "swanctl still lists the same IKE SPIs" test "$(ike_spis)" = "$before"
wp_cap_stop
new_inits=$(tshark -r "$WP_TMP/site.pcap" -Y "isakmp.exchangetype == 34" -T fields -e frame.time_epoch \
  2>/dev/null | "$WP_PY" -c 'import sys; t=float(sys.argv[1]); print(sum(1 for x in sys.stdin if x.strip() and float(x) > t))' "$t_kill")
all_inits=$(tshark -r "$WP_TMP/site.pcap" -Y "isakmp.exchangetype == 34" 2>/dev/null | wc -l)
infos=$(tshark -r "$WP_TMP/site.pcap" -Y "isakmp.exchangetype == 37 and ip.src == 172.16.0.2" -T fields -e frame.time_epoch \
  2>/dev/null | "$WP_PY" -c 'import sys; t=float(sys.argv[1]); print(sum(1 for x in sys.stdin if x.strip() and float(x) > t))' "$t_kill")
wp_expect "the capture holds ra's IKE_SA_INIT exchange" "$all_inits" -ge 2
wp_expect "no IKE_SA_INIT after the kill" "$new_inits" -eq 0
wp_expect "INFORMATIONALs (DPD both ways) from 172.16.0.2 after the kill, sent by rb" "$infos" -ge 2
wp_check "charon established only one IKE SA" \
  test "$(grep -c 'IKE_SA hub\[[0-9]*\] established' "$WP_TMP/charon.log")" -eq 1
echo "rb: $(ipsec rb "{k: v for k, v in d['counters'].items() if k.startswith('ike_ha') or k.startswith('initiat')}")"
wp_finish
