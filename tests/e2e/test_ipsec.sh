#!/bin/bash
# IKE inside waypointd (docs/ipsec.md § IKE in waypointd): the canonical
# topology, r2 (the headend) with two `ipsec_peers`, and a strongSwan charon
# (kernel-libipsec, private strongswan.conf and /run, swanctl over a private
# VICI socket) in namespace `site` on the WAN segment, initiating to r2's WAN
# address. The workers hand UDP 500/4500 to r2's control thread, its IKE
# service answers out of the WAN port.
#  1. site1 comes up: swanctl lists the IKE SA ESTABLISHED and the CHILD_SA
#     INSTALLED; `wpctl ipsec` (and GET /api/v1/ipsec) on r2 shows the same IKE
#     and ESP SPIs, the Child SA INSTALLED in the workers' SA table, no key;
#  2. site2 with the wrong PSK: AUTHENTICATION_FAILED, counted by r2;
#  3. traffic through r1 -> r2 still flows (before and after), r2 drops the
#     IKE packets it did not answer as ike_unanswered only;
#  4. a live commit that changes ipsec_peers is refused (restart needed);
#  5. swanctl --terminate: r2's SAs are gone; r2 exits cleanly.
#  6. (before 5) r2 initiates to site3 (`initiate: true`; charon's `hub`
#     connection has no start_action, it only responds): the IKE SA comes up
#     with role initiator, IKE_AUTH on UDP 4500 (NAT-T, charon's log and both
#     ends' ports), site3's LAN pings 10.2.0.10 through it, counted both ways.
# Between 1 and 2 (1b), ESP in r2's workers: the site's LAN (10.50.0.1, through
# charon's ipsec0 TUN) pings and fetches 3 MiB (sha256) from 10.2.0.10 behind
# r2 as tenant branch; a service without policy is dropped as policy_deny; a
# capture of the site's port holds only ESP in UDP 4500 (and IKE, ARP); the
# tunnel's counters in GET /api/v1/ipsec.
# 1c. the tunnel's kernel interface, docs/ipsec.md § Dynamic routing over tunnels:
# ipsec0 has address 169.254.10.1/30 and r2's punt path is on, so r2's
# namespace holds a TUN `ipsec0` with that address, MTU 1400, up; the site
# pings it from 169.254.10.2 through the tunnel, the kernel behind the TUN
# answers, and `ip -s link` on it counts the packets both ways. The TUN follows
# the tunnel (linux_cp/tunnel_links.h): up once the Child SA is installed, down
# again after swanctl --terminate (5).
# 9. (before 5) certificates (docs/ipsec.md § Certificates): site7 authenticates
#    with an ECDSA P-256 certificate, r2 with an RSA one, both from a CA made
#    here with openssl; strongSwan logs RFC 7427 signatures verified both ways,
#    site7's LAN pings 10.2.0.10 through ipsec7; a certificate from another CA
#    (site8) is refused and counted as bad_certificate.
# usage: sudo tests/e2e/test_ipsec.sh
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
WPCTL=${WPCTL:-$(dirname "$WAYPOINTD")/wpctl}
if [ ! -x /usr/lib/ipsec/charon ] || ! command -v swanctl >/dev/null; then
  echo "test_ipsec: strongSwan not installed (setup.sh)" >&2; exit 2
fi

wp_init ipsec-
echo "== test_ipsec: IKE responder in waypointd against strongSwan, waypointd=$WAYPOINTD"
PSK1=site1-psk-0123456789abcdef
PSK2=site2-psk-fedcba9876543210
PSK3=site3-psk-00112233445566778899
KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" 1 "$KEY"
# 9: a CA, r2's RSA certificate, site7's ECDSA one; site8's from a CA r2 does not trust.
PKI=$WP_TMP/pki
mkdir -p "$PKI"
mkcert() {  # mkcert NAME CA KEYGEN...: NAME.key, NAME.pem with subjectAltName DNS:NAME.example
  local name=$1 ca=$2; shift 2
  openssl "$@" -out "$PKI/$name.key" 2>/dev/null &&
    openssl req -new -key "$PKI/$name.key" -subj "/CN=$name.example" -out "$PKI/$name.csr" &&
    openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.pem" -CAkey "$PKI/$ca.key" -CAcreateserial -days 2 \
      -extfile <(printf 'subjectAltName=DNS:%s.example\n' "$name") -out "$PKI/$name.pem" 2>/dev/null
}
for ca in ca otherca; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$ca.key" -out "$PKI/$ca.pem" \
    -days 2 -subj "/CN=Waypoint test $ca" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
done
mkcert headend ca genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 && mkcert site7 ca ecparam -genkey -name prime256v1 -noout &&
  mkcert site8 otherca ecparam -genkey -name prime256v1 -noout
wp_check "openssl made the test PKI (CA, r2's RSA and the sites' ECDSA certificates)" \
  test -s "$PKI/headend.pem" -a -s "$PKI/site7.pem" -a -s "$PKI/site8.pem"
cat >> "$WP_TMP/r2.yaml" <<YAML
ipsec_peers:
  - {name: site1, address: 172.16.0.9, local_id: headend.example, remote_id: site1.example, psk: "$PSK1",
     ike_proposals: [aes256-sha256-modp2048], esp_proposals: [aes256gcm16], local_ts: [10.2.0.0/24, 169.254.10.0/30],
     remote_ts: [10.50.0.0/24, 169.254.10.0/30]}
  - {name: site2, address: 172.16.0.10, local_id: headend.example, remote_id: site2.example, psk: "$PSK2"}
  - {name: site3, address: 172.16.0.11, local_id: headend.example, remote_id: site3.example, psk: "$PSK3",
     initiate: true, ike_proposals: [aes256-sha256-modp2048], esp_proposals: [aes256gcm16],
     local_ts: [10.2.0.0/24], remote_ts: [10.52.0.0/24]}
  - {name: site7, address: 172.16.0.14, local_id: headend.example, remote_id: site7.example,
     certificate_file: pki/headend.pem, private_key_file: pki/headend.key, ca_file: pki/ca.pem,
     ike_proposals: [aes256gcm16-prfsha256-ecp256], esp_proposals: [aes256gcm16],
     local_ts: [10.2.0.0/24], remote_ts: [10.56.0.0/24]}
  - {name: site8, address: 172.16.0.15, local_id: headend.example, remote_id: site8.example,
     certificate_file: pki/headend.pem, private_key_file: pki/headend.key, ca_file: pki/ca.pem}
tunnels:
  - {name: ipsec0, peer: site1, tenant: branch, address: 169.254.10.1/30}
  - {name: ipsec1, peer: site2, tenant: branch}
  - {name: ipsec2, peer: site3, tenant: branch}
  - {name: ipsec7, peer: site7, tenant: branch}
  - {name: ipsec8, peer: site8, tenant: branch}
YAML
# The site's LAN (10.50.0.0/24) comes out of ipsec0 as tenant branch: ping (any
# protocol to the server), web (wp_conf_common), not ssh (no policy); a
# route names the tunnel.
"$WP_PY" - "$WP_TMP/r2.yaml" <<'PY'
import sys, yaml
f = sys.argv[1]
c = yaml.safe_load(open(f))
c["services"][0:0] = [{"name": "admin", "prefixes": ["10.2.0.10/32"], "protocol": "tcp", "ports": ["22"]},
                      {"name": "site-any", "prefixes": ["10.2.0.10/32"], "protocol": "any"}]
c["policies"].append({"tenant": "branch", "service": "site-any"})
c.setdefault("routes", []).append({"prefix": "10.50.0.0/24", "interface": "ipsec0"})
c["routes"].append({"prefix": "10.52.0.0/24", "interface": "ipsec2"})  # 6: site3, r2 initiates
c["routes"].append({"prefix": "10.56.0.0/24", "interface": "ipsec7"})  # 9: site7, certificates
c["router"]["punt"] = {"enabled": True}  # 1c: the tunnel's kernel interface
yaml.safe_dump(c, open(f, "w"), sort_keys=False)
PY
wp_check "r2's config with ipsec_peers is valid" wp_check_config "$WP_TMP/r2.yaml"
wp_basic_up
wp_ns_add site
wp_veth site s0 wan w9 && ip -n "$(wp_ns wan)" link set dev w9 master br0
wp_exec site ip addr add 172.16.0.9/24 dev s0
wp_exec site ip addr add 172.16.0.10/24 dev s0
wp_exec site ip addr add 10.50.0.1/24 dev s0   # the site's LAN (charon's Child SA source)
wp_exec site ip addr add 172.16.0.11/24 dev s0  # 6: site3, which only responds
wp_exec site ip addr add 10.52.0.1/24 dev s0    # site3's LAN
wp_exec site ip addr add 169.254.10.2/32 dev s0  # the site's end of ipsec0's /30 (1c)
wp_exec site ip addr add 172.16.0.14/24 dev s0  # 9: site7 (certificates)
wp_exec site ip addr add 172.16.0.15/24 dev s0  # 9: site8 (a certificate r2 does not trust)
wp_exec site ip addr add 10.56.0.1/24 dev s0    # site7's LAN
wp_pair_start 1
URL=http://127.0.0.1:$WP_MGMT_PORT
ctl() { wp_exec r2 "$WPCTL" --url "$URL" "$@"; }
wp_check "curl through r1 -> r2 before IKE" wp_fetch c http://10.2.0.10/file.bin "$WP_TMP/got0.bin" 20

SW=$WP_TMP/sw
mkdir -p "$SW"
{
  echo "connections {"
  wp_swan_connection site 172.16.0.9 172.16.0.2 aes256-sha256-modp2048 site1.example headend.example \
    lan 10.50.0.0/24,169.254.10.2/32 0.0.0.0/0 aes256gcm16
  wp_swan_connection bad 172.16.0.10 172.16.0.2 aes256gcm16-prfsha256-ecp256 site2.example headend.example \
    lan2 10.51.0.0/24 0.0.0.0/0 aes256gcm16
  # 6: no start_action: charon only responds, r2 initiates (ipsec_peers[].initiate).
  wp_swan_connection hub 172.16.0.11 172.16.0.2 aes256-sha256-modp2048 site3.example headend.example \
    lan3 10.52.0.0/24 10.2.0.0/24 aes256gcm16
  # 9: certificates; swanctl loads private keys only from its own directories (next to swanctl.conf).
  for n in 7 8; do
    cat <<EOF
  cert$n { remote_addrs = 172.16.0.2
    local_addrs = 172.16.0.$((n + 7))
    version = 2
    proposals = aes256gcm16-prfsha256-ecp256
    local { auth = pubkey
      certs = $PKI/site$n.pem
      id = site$n.example }
    remote { auth = pubkey
      id = headend.example }
    children { lan$n { local_ts = 10.56.0.0/24
        remote_ts = 10.2.0.0/24
        esp_proposals = aes256gcm16 } } }
EOF
  done
  echo "}"
  echo "authorities { testca { cacert = $PKI/ca.pem } }"
  echo "secrets {"
  wp_swan_secret site1 site1.example headend.example "$PSK1"
  wp_swan_secret site2 site2.example headend.example not-the-psk-of-site2
  wp_swan_secret site3 site3.example headend.example "$PSK3"
  echo "}"
} > "$SW/swanctl.conf"
mkdir -p "$SW/ecdsa" && cp "$PKI/site7.key" "$PKI/site8.key" "$SW/ecdsa/"
wp_check "charon's VICI socket is up" wp_charon_start site "$SW" "$WP_TMP/charon.log"
swan() { wp_swanctl site "$SW" "$@"; }
initiate() { swan --initiate --ike "$1" --child "$2" --timeout 15 >"$3" 2>&1; }
load() { swan --load-all --file "$SW/swanctl.conf" >"$WP_TMP/load.out" 2>&1; }
wp_check "swanctl loads the sites' configuration" load

# 1. site1 comes up.
wp_check "swanctl --initiate site (IKE_SA_INIT + IKE_AUTH with waypointd)" initiate site lan "$WP_TMP/initiate.out"
# Only site1's IKE SA ("site"): r2 may have brought up site3's (§ 6, "hub") by now, whose Child SA is also named "lan".
swan --list-sas --ike site >"$WP_TMP/list-sas.out" 2>&1
wp_check "strongSwan: IKE SA ESTABLISHED" grep -q "^site: #[0-9]*, ESTABLISHED, IKEv2" "$WP_TMP/list-sas.out"
wp_check "strongSwan: CHILD_SA INSTALLED" grep -q "lan: #[0-9]*, reqid [0-9]*, INSTALLED, TUNNEL" "$WP_TMP/list-sas.out"
ctl -o json ipsec >"$WP_TMP/ipsec.json"
ctl ipsec >"$WP_TMP/ipsec.txt"
cat "$WP_TMP/ipsec.txt"
jq_py() { "$WP_PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$WP_TMP/ipsec.json"; }
ours_ike=$(jq_py '" ".join(s["spi_i"] + "_i " + s["spi_r"] + "_r" for s in d["ike_sas"] if s["state"] == "ESTABLISHED" and s["peer"] == "site1")')
theirs_ike=$(awk '/^site: #/ {gsub(/\*/, ""); print $5 " " $6}' "$WP_TMP/list-sas.out")
wp_check "the IKE SPIs strongSwan lists are r2's ($theirs_ike)" test -n "$ours_ike" -a "$ours_ike" = "$theirs_ike"
our_in=$(jq_py '" ".join(c["spi_in"] for c in d["child_sas"] if c["state"] == "INSTALLED" and c["tunnel"] == "ipsec0")')
our_out=$(jq_py '" ".join(c["spi_out"] for c in d["child_sas"] if c["tunnel"] == "ipsec0")')
their_in=$(awk '/^  lan: #/ {ok = /INSTALLED/} ok && $1 == "in" {sub(",", "", $2); print $2}' "$WP_TMP/list-sas.out")
their_out=$(awk '/^  lan: #/ {ok = /INSTALLED/} ok && $1 == "out" {sub(",", "", $2); print $2}' "$WP_TMP/list-sas.out")
wp_check "strongSwan's ESP out SPI '$their_out' is r2's inbound SPI, INSTALLED in its SA table" \
  test -n "$our_in" -a "$our_in" = "$their_out"
wp_check "strongSwan's ESP in SPI '$their_in' is r2's outbound SPI" test -n "$our_out" -a "$our_out" = "$their_in"
wp_check "wpctl ipsec shows the same SPIs" grep -q "^site1 .*ipsec0 .*INSTALLED .*$our_in .*$our_out .*aes256gcm16" "$WP_TMP/ipsec.txt"
wp_check "wpctl ipsec: r2 is the responder of the site's IKE SA" grep -Eq "^site1 +responder +172\.16\.0\.[0-9]+(:[0-9]+)? +ESTABLISHED " "$WP_TMP/ipsec.txt"
wp_check "remote selector 0.0.0.0/0 narrowed to r2's 10.2.0.0/24 (and 169.254.10.0/30)" \
  grep -Eq "^ +remote +10\.2\.0\.0/24( 169\.254\.10\.0/30)?$" "$WP_TMP/list-sas.out"
# 1b. the site's LAN through the tunnel: ESP opened and sealed by r2's workers.
head -c 3145728 /dev/urandom >"$WP_TMP/www/big.bin"
wp_check "capture of the site's WAN port" wp_cap_start wan w9 "$WP_TMP/site-wan.pcap" -f "host 172.16.0.9 or net 10.50.0.0/24"
site_ping() {
  wp_exec site ping -c 3 -i 0.2 -W 2 -I 10.50.0.1 10.2.0.10 >"$WP_TMP/ping.out" 2>&1 && grep -q " 3 received" "$WP_TMP/ping.out"
}
wp_check "the site's LAN pings 10.2.0.10 through the tunnel (3 of 3 answered)" wp_until 15 site_ping
wp_check "the site's LAN fetches 3 MiB through the tunnel" \
  wp_fetch site http://10.2.0.10/big.bin "$WP_TMP/got-site.bin" 30 --interface 10.50.0.1
wp_check "byte-exact (sha256)" test "$(wp_sha "$WP_TMP/got-site.bin")" = "$(wp_sha "$WP_TMP/www/big.bin")"
wp_exec site curl -s --connect-timeout 2 --interface 10.50.0.1 http://10.2.0.10:22/ >/dev/null 2>&1
wp_check "ssh (no policy for the tunnel's tenant): dropped as policy_deny" wp_wait_stat r2 drops.policy_deny 1 5
wp_cap_stop
cap_count() { tcpdump -nr "$WP_TMP/site-wan.pcap" "$1" 2>/dev/null | wc -l; }
wp_expect "ESP in UDP 4500 between the site and r2" "$(cap_count 'udp port 4500 and udp[8:4] != 0')" -ge 100
wp_expect "nothing else but IKE and ARP (no plaintext)" "$(cap_count 'not (udp port 4500 or udp port 500 or arp)')" -eq 0
ctl -o json ipsec >"$WP_TMP/ipsec.json"
wp_expect "r2's ipsec0: packets in" "$(jq_py '[t for t in d["tunnels"] if t["name"] == "ipsec0"][0]["in_packets"]')" -ge 100
wp_expect "r2's ipsec0: packets out" "$(jq_py '[t for t in d["tunnels"] if t["name"] == "ipsec0"][0]["out_packets"]')" -ge 100
wp_expect "r2's ipsec0: no refusal" "$(jq_py '[t for t in d["tunnels"] if t["name"] == "ipsec0"][0]["in_drops"]')" -eq 0
fits_schema() {
  /usr/bin/python3 -c 'import json, sys, yaml, jsonschema
spec = yaml.safe_load(open(sys.argv[1]))
jsonschema.validate(json.load(open(sys.argv[2])), spec["components"]["schemas"]["Ipsec"])' \
    "$WP_REPO/docs/api/openapi.yaml" "$1"
}
wp_check "GET /api/v1/ipsec fits docs/api/openapi.yaml's Ipsec schema" fits_schema "$WP_TMP/ipsec.json"
wp_check "no PSK in GET /api/v1/ipsec" bash -c "! grep -q -e '$PSK1' -e '$PSK2' '$WP_TMP/ipsec.json' '$WP_TMP/ipsec.txt'"

# 1c. the tunnel's kernel interface.
wp_check "r2's namespace has the TUN ipsec0 with 169.254.10.1/30" \
  bash -c "ip -n $(wp_ns r2) -o addr show dev ipsec0 | grep -q 'inet 169.254.10.1/30'"
wp_check "ipsec0 is up, MTU 1400, no ARP" bash -c "ip -n $(wp_ns r2) -o link show dev ipsec0 | grep -q 'NOARP,UP,LOWER_UP.* mtu 1400 '"
tun_stat() { wp_exec r2 cat "/sys/class/net/ipsec0/statistics/$1" 2>/dev/null || echo 0; }
rx0=$(tun_stat rx_packets) tx0=$(tun_stat tx_packets)
tunnel_ping() {
  wp_exec site ping -c 3 -i 0.2 -W 2 -I 169.254.10.2 169.254.10.1 >"$WP_TMP/ping-tun.out" 2>&1 &&
    grep -q " 3 received" "$WP_TMP/ping-tun.out"
}
wp_check "the site pings r2's tunnel address 169.254.10.1 through the tunnel (the kernel answers)" wp_until 15 tunnel_ping
wp_exec r2 ip -s link show dev ipsec0
wp_expect "ip -s link: ipsec0 received the echo requests" "$(( $(tun_stat rx_packets) - rx0 ))" -ge 3
wp_expect "ip -s link: ipsec0 sent the echo replies" "$(( $(tun_stat tx_packets) - tx0 ))" -ge 3
wp_expect "r2 counters.punt_icmp >= 3" "$(wp_stat r2 counters.punt_icmp)" -ge 3
wp_expect "r2 drops.esp_inner_to_us = 0" "$(wp_stat r2 drops.esp_inner_to_us)" -eq 0

wp_check "wpctl ipsec on r1 (no ipsec_peers) says so" \
  bash -c "ip netns exec $(wp_ns r1) $WPCTL --url $URL ipsec | grep -q 'no ipsec_peers configured'"

# 2. the wrong PSK.
initiate bad lan2 "$WP_TMP/initiate-bad.out"
wp_check "charon: AUTHENTICATION_FAILED from waypointd" \
  grep -q "received AUTHENTICATION_FAILED notify error" "$WP_TMP/initiate-bad.out" "$WP_TMP/charon.log"
ctl -o json ipsec >"$WP_TMP/ipsec.json"
wp_expect "r2 counts authentication_failed" "$(jq_py 'd["refused"]["authentication_failed"]')" -eq 1
wp_expect "site1's IKE SA untouched" "$(jq_py 'len([s for s in d["ike_sas"] if s["state"] == "ESTABLISHED" and s["peer"] == "site1"])')" -eq 1
wp_check "the refusal is logged with the site's address" grep -q "172.16.0.10:[0-9]*: authentication_failed" "$WP_TMP/r2.log"

# 3. the router keeps forwarding; IKE drops only as ike_unanswered.
wp_check "curl through r1 -> r2 with IKE up" wp_fetch c http://10.2.0.10/file.bin "$WP_TMP/got1.bin" 20
# Every IKE datagram the site sent (swanctl streams charon's log of each initiate,
# retransmits included) reached r2's IKE service: none was taken for something
# else (the router's not_for_us also counts unrelated frames on the segment).
ctl -o json ipsec >"$WP_TMP/ipsec.json"
sent=$(cat "$WP_TMP/initiate.out" "$WP_TMP/initiate-bad.out" | grep -c "sending packet: from .* to 172\.16\.0\.2\[")
# (The responder's `requests`: site3's answers to r2's requests go to r2's initiator.)
wp_expect "r2's IKE responder got every IKE datagram the site sent ($sent)" "$(jq_py 'd["counters"]["requests"]')" -eq "$sent"
echo "r2 drops.not_for_us: $(wp_stat r2 drops.not_for_us)"

# 4. a live commit may not change ipsec_peers.
sed "s/$PSK2/$PSK2-changed/" "$WP_TMP/r2.yaml" >"$WP_TMP/r2-changed.yaml"
ctl config push "$WP_TMP/r2-changed.yaml" >"$WP_TMP/push.out" 2>&1; rc=$?
wp_expect "wpctl config push changing ipsec_peers: refused" "$rc" -eq 1
wp_check "the refusal names ipsec_peers and a restart" grep -q "ipsec_peers.*restart" "$WP_TMP/push.out"

# 6. r2 initiates to site3 (ipsec_peers[].initiate; charon's `hub` only
# responds): it started at r2's first poll (retried with backoff until charon
# answered), NAT_DETECTION in IKE_SA_INIT moved IKE_AUTH to UDP 4500 (RFC 7296
# § 2.23), the Child SA's ESP is in UDP 4500 both ways.
hub_up() {
  ctl -o json ipsec >"$WP_TMP/ipsec.json" &&
    [ "$(jq_py 'len([s for s in d["ike_sas"] if s["peer"] == "site3" and s["role"] == "initiator" and s["state"] == "ESTABLISHED"])')" = 1 ] &&
    [ "$(jq_py 'len([c for c in d["child_sas"] if c["tunnel"] == "ipsec2" and c["state"] == "INSTALLED"])')" -ge 1 ]
}
wp_check "r2 initiated site3's IKE SA: ESTABLISHED, role initiator, its Child SA INSTALLED" wp_until 40 hub_up
wp_check "GET /api/v1/ipsec: site3's IKE SA on UDP 4500 at both ends" \
  test "$(jq_py '" ".join(s["local"] + " " + s["remote"] for s in d["ike_sas"] if s["peer"] == "site3")')" = \
  "172.16.0.2:4500 172.16.0.11:4500"
wp_expect "r2 counts initiator_nat_t" "$(jq_py 'd["counters"]["initiator_nat_t"]')" -ge 1
# Our NAT_DETECTION hashes against strongSwan's: its NAT_DETECTION_DESTINATION_IP
# is the hash of our address and port as we compute it (no "NAT in front of
# us"); its source hash is faked (kernel-libipsec forces UDP encapsulation).
wp_check "r2's log: NAT-T, the hash of our address matches strongSwan's" \
  grep -q "ike: 172.16.0.11:500: initiator: NAT-T, IKE moves to UDP 4500, NAT in front of the peer$" "$WP_TMP/r2.log"
ctl ipsec >"$WP_TMP/ipsec-hub.txt"
wp_check "wpctl ipsec: r2 is the initiator of site3's IKE SA, on 172.16.0.11:4500" \
  grep -Eq "^site3 +initiator +172\.16\.0\.11:4500 +ESTABLISHED " "$WP_TMP/ipsec-hub.txt"
swan --list-sas --ike hub >"$WP_TMP/list-hub.out" 2>&1
cat "$WP_TMP/list-hub.out"
wp_check "strongSwan: hub ESTABLISHED, strongSwan the responder (its SPI is _r)" \
  grep -q "^hub: #[0-9]*, ESTABLISHED, IKEv2, [0-9a-f]*_i [0-9a-f]*_r\*" "$WP_TMP/list-hub.out"
wp_check "strongSwan: the peer is r2 at 172.16.0.2[4500]" \
  grep -q "remote 'headend.example' @ 172.16.0.2\[4500\]" "$WP_TMP/list-hub.out"
wp_check "charon's log: IKE_AUTH request received from 172.16.0.2[4500] on 172.16.0.11[4500]" \
  bash -c "grep -A1 'received packet: from 172.16.0.2\[4500\] to 172.16.0.11\[4500\]' '$WP_TMP/charon.log' | grep -q 'parsed IKE_AUTH request'"
hub_ping() {
  wp_exec site ping -c 3 -i 0.2 -W 2 -I 10.52.0.1 10.2.0.10 >"$WP_TMP/ping-hub.out" 2>&1 &&
    grep -q " 3 received" "$WP_TMP/ping-hub.out"
}
tun2() { jq_py "[t for t in d['tunnels'] if t['name'] == 'ipsec2'][0]['$1']"; }
hub_in0=$(tun2 in_packets) hub_out0=$(tun2 out_packets)
wp_check "site3's LAN pings 10.2.0.10 through the tunnel r2 initiated (3 of 3 answered)" wp_until 15 hub_ping
# The document's tunnel counters are at most a second old: polled.
hub_counted() {
  ctl -o json ipsec >"$WP_TMP/ipsec.json" &&
    [ "$(( $(tun2 in_packets) - hub_in0 ))" -ge 3 ] && [ "$(( $(tun2 out_packets) - hub_out0 ))" -ge 3 ]
}
wp_check "r2's ipsec2 counts the echo requests in (ESP opened) and the replies out (ESP sealed)" wp_until 5 hub_counted
echo "r2's ipsec2: in $(( $(tun2 in_packets) - hub_in0 )), out $(( $(tun2 out_packets) - hub_out0 )) packets"
wp_expect "r2's ipsec2: no refusal" "$(tun2 in_drops)" -eq 0

# 9. certificates: site7 (ECDSA) to r2 (RSA), RFC 7427 signatures both ways.
wp_check "swanctl --initiate cert7 (certificate authentication both ways)" initiate cert7 lan7 "$WP_TMP/initiate7.out"
swan --list-sas --ike cert7 >"$WP_TMP/list-cert7.out" 2>&1
wp_check "strongSwan: cert7 ESTABLISHED with r2 as headend.example" \
  grep -q "^cert7: #[0-9]*, ESTABLISHED, IKEv2" "$WP_TMP/list-cert7.out"
# charon's file log is buffered: polled.
wp_check "charon's log: r2's certificate chains to the test CA and its RSA PKCS#1 SHA-256 signature verifies" \
  wp_until 10 grep -q "authentication of 'headend.example' with RSA_EMSA_PKCS1_SHA2_256 successful" "$WP_TMP/charon.log"
wp_check "charon's log: site7 signed with ECDSA SHA-256 (RFC 7427)" \
  wp_until 10 grep -q "authentication of 'site7.example' (myself) with ECDSA_WITH_SHA256_DER successful" "$WP_TMP/charon.log"
ctl -o json ipsec >"$WP_TMP/ipsec.json"
wp_check "r2: site7's IKE SA ESTABLISHED, its Child SA INSTALLED on ipsec7" \
  test "$(jq_py 'len([s for s in d["ike_sas"] if s["peer"] == "site7" and s["state"] == "ESTABLISHED"]) + len([c for c in d["child_sas"] if c["tunnel"] == "ipsec7" and c["state"] == "INSTALLED"])')" = 2
cert_ping() {
  wp_exec site ping -c 3 -i 0.2 -W 2 -I 10.56.0.1 10.2.0.10 >"$WP_TMP/ping-cert.out" 2>&1 &&
    grep -q " 3 received" "$WP_TMP/ping-cert.out"
}
wp_check "site7's LAN pings 10.2.0.10 through the certificate-authenticated tunnel (3 of 3)" wp_until 15 cert_ping
bad_certs() { ctl -o json ipsec >"$WP_TMP/ipsec.json" && jq_py 'd["refused"].get("bad_certificate", 0)'; }
refused0=$(bad_certs)
initiate cert8 lan8 "$WP_TMP/initiate8.out"
bad_cert_counted() { [ "$(bad_certs)" -gt "${refused0:-0}" ]; }
wp_check "site8's certificate (another CA) is refused: r2 counts bad_certificate" wp_until 10 bad_cert_counted
wp_check "strongSwan: cert8 did not come up (AUTHENTICATION_FAILED)" grep -q "AUTHENTICATION_FAILED" "$WP_TMP/initiate8.out"
wp_check "r2 never logged a private key" bash -c "! grep -q 'PRIVATE KEY' '$WP_TMP/r2.log'"

# 5. delete.
swan --terminate --ike site --timeout 10 >"$WP_TMP/terminate.out" 2>&1
gone() {
  ctl -o json ipsec >"$WP_TMP/ipsec.json" &&
    [ "$(jq_py 'len([s for s in d["ike_sas"] + d["child_sas"] if s["peer"] == "site1"])')" = 0 ]
}
wp_check "swanctl --terminate: r2's IKE SA and Child SA deleted" wp_until 10 gone
tun_down() { ip -n "$(wp_ns r2)" -o link show dev ipsec0 >"$WP_TMP/tun.txt" && ! grep -q '[<,]UP[,>]' "$WP_TMP/tun.txt"; }
wp_check "the TUN ipsec0 is down with the tunnel (no outbound SA)" wp_until 5 tun_down
wp_check "r2 exits cleanly" wp_router_stop r2
wp_finish
