#!/bin/bash
# IKEv2 interop (docs/ipsec.md): our responder (build/tools/ike_responder on
# UDP 500/4500) against a real strongSwan charon initiator in another
# namespace (kernel-libipsec, private strongswan.conf and /run, swanctl over a
# private VICI socket).
#  1. `swanctl --initiate` of a PSK site (through our COOKIE: the threshold
#     is 0): strongSwan lists the IKE SA
#     ESTABLISHED and the CHILD_SA INSTALLED, with the IKE and ESP SPIs our
#     state file holds (the Child SA is negotiated and its keys stored on our
#     side: there is no ESP dataplane yet) and the selectors narrowed to ours;
#  2. `swanctl --rekey --child`: CREATE_CHILD_SA answered, strongSwan's new
#     CHILD_SA INSTALLED with our new SPIs, the old one deleted on both sides;
#  3. `swanctl --rekey --ike`: the new IKE SA has our new SPI, the Child SA
#     moved to it, the old IKE SA deleted;
#  4. a second site with the wrong PSK: charon reports AUTHENTICATION_FAILED
#     and our authentication_failed counter is 1;
#  5. `swanctl --terminate` of the first: our IKE SA and Child SA are deleted.
# usage: sudo tests/e2e/test_ike.sh     (IKE_RESPONDER=path overrides the binary)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
IKE_RESPONDER=${IKE_RESPONDER:-$(dirname "$WAYPOINTD")/ike_responder}
[ -x "$IKE_RESPONDER" ] || { echo "test_ike: $IKE_RESPONDER not found (ninja ike_responder)" >&2; exit 2; }
if [ ! -x /usr/lib/ipsec/charon ] || ! command -v swanctl >/dev/null; then
  echo "test_ike: strongSwan not installed (setup.sh)" >&2; exit 2
fi

wp_init ike-
PSK1=site1-psk-0123456789abcdef
PSK2=site2-psk-fedcba9876543210
printf '%s\n' "$PSK1" > "$WP_TMP/site1.key"   # key_leak.py: neither PSK in any log
printf '%s\n' "$PSK2" > "$WP_TMP/site2.key"

wp_ns_add site hub
wp_veth site s0 hub h0
wp_exec site ip addr add 10.77.0.1/24 dev s0
wp_exec hub ip addr add 10.77.0.2/24 dev h0
# The site's LAN addresses (charon routes a Child SA's traffic from one of
# them; no dummy interfaces in this kernel, so on the veth).
wp_exec site ip addr add 10.50.0.1/24 dev s0
wp_exec site ip addr add 10.51.0.1/24 dev s0

cat > "$WP_TMP/ike.conf" <<EOF
listen = 10.77.0.2
# every IKE_SA_INIT must come back with our COOKIE (RFC 7296 § 2.6), so charon's cookie path runs
cookie_threshold = 0
ike_proposals = aes256-sha256-modp2048, aes256gcm16-prfsha256-ecp256
[peer site1]
local_id = headend.example
remote_id = site1.example
psk = $PSK1
esp_proposals = aes256gcm16, aes256-sha256
local_ts = 10.60.0.0/24
remote_ts = 10.50.0.0/16
[peer site2]
local_id = headend.example
remote_id = site2.example
psk = $PSK2
esp_proposals = aes256gcm16
local_ts = 10.60.0.0/24
remote_ts = 10.51.0.0/24
EOF
STATE=$WP_TMP/ike.state
wp_bg hub "$WP_TMP/ike_responder.log" "$IKE_RESPONDER" --config "$WP_TMP/ike.conf" --state "$STATE"
WP_PIDS+=("$WP_BG_PID")

SW=$WP_TMP/sw
mkdir -p "$SW"
{
  echo "connections {"
  wp_swan_connection site 10.77.0.1 10.77.0.2 aes256-sha256-modp2048 site1.example headend.example \
    lan 10.50.0.0/24 0.0.0.0/0 aes256gcm16
  wp_swan_connection bad 10.77.0.1 10.77.0.2 aes256gcm16-prfsha256-ecp256 site2.example headend.example \
    lan2 10.51.0.0/24 10.60.0.0/24 aes256gcm16
  echo "}"
  echo "secrets {"
  wp_swan_secret site1 site1.example headend.example "$PSK1"
  wp_swan_secret site2 site2.example headend.example not-the-psk-of-site2
  echo "}"
} > "$SW/swanctl.conf"
wp_check "charon's VICI socket is up" wp_charon_start site "$SW" "$WP_TMP/charon.log"
swan() { wp_swanctl site "$SW" "$@"; }
# initiate IKE CHILD OUT: swanctl --initiate (it returns once the exchange succeeded or failed).
initiate() { swan --initiate --ike "$1" --child "$2" --timeout 15 >"$3" 2>&1; }
load() { swan --load-all --file "$SW/swanctl.conf" >"$WP_TMP/load.out" 2>&1; }
wp_check "swanctl loads the site's configuration" load
state() { awk -v k="$1" -v n="$2" '$1 == k && $2 == n {print $3}' "$STATE"; }

# 1. a PSK site comes up.
wp_check "swanctl --initiate site (IKE_SA_INIT + IKE_AUTH with our responder)" \
  initiate site lan "$WP_TMP/initiate-site.out"
swan --list-sas >"$WP_TMP/list-sas.out" 2>&1
wp_check "strongSwan: IKE SA ESTABLISHED" grep -q "^site: #[0-9]*, ESTABLISHED, IKEv2" "$WP_TMP/list-sas.out"
wp_check "strongSwan: CHILD_SA INSTALLED" grep -q "lan: #[0-9]*, reqid [0-9]*, INSTALLED, TUNNEL" "$WP_TMP/list-sas.out"
# check_ike_spis WHEN: strongSwan's IKE SA is our one IKE SA.
check_ike_spis() {
  local ours theirs
  ours=$(awk '$1 == "ike_sa" && /ESTABLISHED/ && /id=site1.example/ {print $2 "_i" " " $3 "_r"}' "$STATE")
  theirs=$(awk '/^site: #/ {gsub(/\*/, ""); print $5 " " $6}' "$WP_TMP/list-sas.out")
  wp_check "$1: the IKE SPIs strongSwan lists are ours ($theirs)" test -n "$ours" -a "$ours" = "$theirs"
}
check_ike_spis "first IKE SA"
wp_expect "a COOKIE was asked for and charon came back with it" "$(state refused cookie_required)" -ge 1
wp_expect "no bad cookie" "$(state refused bad_cookie)" -eq 0
# check_esp_spis WHEN: strongSwan's one Child SA is our one Child SA, SPIs crossed.
check_esp_spis() {
  local our_in our_out their_in their_out
  our_in=$(awk '$1 == "child_sa" {sub("in=", "", $3); print $3}' "$STATE")
  our_out=$(awk '$1 == "child_sa" {sub("out=", "", $4); print $4}' "$STATE")
  # the INSTALLED one (a rekeyed one may still be listed while it is deleted)
  their_in=$(awk '/^  [a-z0-9]+: #/ {ok = /INSTALLED/} ok && $1 == "in" {sub(",", "", $2); print $2}' "$WP_TMP/list-sas.out")
  their_out=$(awk '/^  [a-z0-9]+: #/ {ok = /INSTALLED/} ok && $1 == "out" {sub(",", "", $2); print $2}' "$WP_TMP/list-sas.out")
  wp_check "$1: strongSwan's ESP out SPI '$their_out' is our inbound SPI" test -n "$our_in" -a "$our_in" = "$their_out"
  wp_check "$1: strongSwan's ESP in SPI '$their_in' is our outbound SPI" test -n "$our_out" -a "$our_out" = "$their_in"
}
check_esp_spis "first Child SA"
wp_check "remote selector 0.0.0.0/0 narrowed to our 10.60.0.0/24" \
  grep -Eq "^ +remote +10\.60\.0\.0/24$" "$WP_TMP/list-sas.out"
wp_check "our Child SA: aes256gcm16, stored (no ESP dataplane yet)" grep -q "esp=aes256gcm16 stored-not-in-dataplane" "$STATE"

# 2. strongSwan rekeys the Child SA (CREATE_CHILD_SA with REKEY_SA, then a
# Delete of the old one): the new SPIs on both sides, the old ones gone.
swan --rekey --child lan >"$WP_TMP/rekey.out" 2>&1
rekeyed() { [ "$(state counter child_sas_installed)" = 2 ] && [ "$(state counter child_sas_deleted)" = 1 ]; }
wp_check "swanctl --rekey --child lan: a new Child SA, the old one deleted" wp_until 10 rekeyed
swan --list-sas >"$WP_TMP/list-sas.out" 2>&1
wp_check "strongSwan: the rekeyed CHILD_SA INSTALLED" grep -q "lan: #2, reqid [0-9]*, INSTALLED, TUNNEL" "$WP_TMP/list-sas.out"
check_esp_spis "rekeyed Child SA"

# 3. strongSwan rekeys the IKE SA (CREATE_CHILD_SA with an IKE proposal and a
# KE, then a Delete of the old IKE SA): the Child SA lives on under the new one.
swan --rekey --ike site >"$WP_TMP/rekey-ike.out" 2>&1
ike_rekeyed() { [ "$(state counter ike_sas_rekeyed)" = 1 ] && [ "$(grep -c "^ike_sa " "$STATE")" = 1 ]; }
wp_check "swanctl --rekey --ike site: a new IKE SA, the old one deleted" wp_until 10 ike_rekeyed
swan --list-sas >"$WP_TMP/list-sas.out" 2>&1
check_ike_spis "rekeyed IKE SA"
check_esp_spis "Child SA under the rekeyed IKE SA"

# 4. the wrong PSK.
initiate bad lan2 "$WP_TMP/initiate-bad.out"
wp_check "charon: AUTHENTICATION_FAILED from our responder" \
  grep -q "received AUTHENTICATION_FAILED notify error" "$WP_TMP/initiate-bad.out" "$WP_TMP/charon.log"
wp_expect "our authentication_failed counter" "$(state refused authentication_failed)" -eq 1
wp_check "the refusal is logged with the peer's address" grep -q "10.77.0.1:[0-9]*: authentication_failed" "$WP_TMP/ike_responder.log"
wp_expect "site1's IKE SA untouched (IKE SAs established)" "$(state counter ike_sas_established)" -eq 1

# 5. delete.
swan --terminate --ike site --timeout 10 >"$WP_TMP/terminate.out" 2>&1
gone() { [ "$(state counter ike_sas_deleted)" = 2 ] && ! grep -q "^ike_sa " "$STATE"; }
wp_check "swanctl --terminate: our IKE SA deleted" wp_until 10 gone
wp_expect "our Child SA deleted with it" "$(state counter child_sas_deleted)" -eq 2
wp_finish
