# The HA pair and legacy site of test_ipsec_ha.sh and test_ipsec_ha_initiate.sh (issue #20,
# docs/ipsec.md § HA), sourced after lib.sh:
#   site (172.16.0.9, LAN 10.50.0.1) ── wan ── ra (172.16.0.2) / rb (172.16.0.3) ── lanh ── s (10.2.0.10)
#   ra ══ hx (10.77.0.1 — 10.77.0.2) ══ rb: corosync ring (as test_ha.sh)
# Uses PSK, IPSEC_HA_GROUP (the pair's ha.group) and IPSEC_HA_PEER (extra fields of
# ipsec_peers[0], e.g. ", initiate: true").
# IPSEC_HA_FAMILY=6 (test_ipsec_ha.sh's variant ipv6, docs/ipsec.md § IPv6 outer addresses):
# the WAN carries 2001:db8:16::/64 too (site ::9, ra ::2, rb ::3, each node's
# ha.peer_addresses6 the other's) and IKE/ESP run between the site's and ra's IPv6 addresses
# (ipsec_peers[0].address the site's, local_address ra's on both nodes); the IPv4 WAN
# addresses stay (ha.peer_waypoints), the inner traffic stays IPv4.
if [ "${IPSEC_HA_FAMILY:-4}" = 6 ]; then
  IPSEC_HA_SITE=2001:db8:16::9 IPSEC_HA_RA=2001:db8:16::2 IPSEC_HA_IP=ipv6 IPSEC_HA_CLAIMS=icmp6
else
  IPSEC_HA_SITE=172.16.0.9 IPSEC_HA_RA=172.16.0.2 IPSEC_HA_IP=ip IPSEC_HA_CLAIMS=arp
fi

# ipsec_ha_hub NAME LAN WAN NODE PEER_WAN PEER_LAN WAN6 PEER_WAN6: one node's YAML on stdout
# (WAN6 and PEER_WAN6 used with IPSEC_HA_FAMILY=6).
ipsec_ha_hub() {
  local wan6="" local6="" ha6=""
  if [ "$IPSEC_HA_IP" = ipv6 ]; then
    wan6=", ipv6_addresses: [\"$7/64\"]" local6=", local_address: \"$IPSEC_HA_RA\"" ha6=", peer_addresses6: [\"$8\"]"
  fi
  cat <<YAML
router: {name: $1, lan: {name: lan, device: net_af_packet0, address: $2/24}, wan: [{name: wan0, device: net_af_packet1, address: $3/24$wan6}]}
tenants:
  - {name: branch, prefixes: [10.50.0.0/24]}
services:
  - {name: server, prefixes: [10.2.0.10/32], protocol: any}
policies:
  - {tenant: branch, service: server}
ipsec_peers:
  - {name: site1, address: "$IPSEC_HA_SITE"$local6, local_id: headend.example, remote_id: site1.example, psk: "$PSK",
     ike_proposals: [aes256-sha256-modp2048], esp_proposals: [aes256gcm16], local_ts: [10.2.0.0/24],
     remote_ts: [10.50.0.0/24]${IPSEC_HA_PEER:-}}
tunnels:
  - {name: ipsec0, peer: site1, tenant: branch}
routes:
  - {prefix: 10.50.0.0/24, interface: ipsec0}
dataplane: {workers: 1, max_sessions: 65536}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
ha: {node_id: $4, group: $IPSEC_HA_GROUP, peer_waypoints: [$5], peer_lan: [$6]$ha6}
YAML
}

# ra.yaml and rb.yaml in WP_TMP, checked by waypointd --check, and the corosync ring's config.
ipsec_ha_configs() {
  ipsec_ha_hub hub-a 10.2.0.2 172.16.0.2 1 172.16.0.3 10.2.0.3 2001:db8:16::2 2001:db8:16::3 >"$WP_TMP/ra.yaml"
  ipsec_ha_hub hub-b 10.2.0.3 172.16.0.3 2 172.16.0.2 10.2.0.2 2001:db8:16::3 2001:db8:16::2 >"$WP_TMP/rb.yaml"
  local f
  for f in ra rb; do wp_check "waypointd --check accepts $f.yaml" wp_check_config "$WP_TMP/$f.yaml"; done
  wp_corosync_conf 10.77.0.1 10.77.0.2 >"$WP_TMP/corosync.conf"
}

ipsec_ha_topo() {
  wp_ns_add site wan ra rb lanh s || return 1
  wp_veth site s0 wan w9 && wp_veth ra awan wan pwa && wp_veth rb bwan wan pwb && wp_bridge wan br0 w9 pwa pwb || return 1
  wp_veth ra alan lanh pla && wp_veth rb blan lanh plb && wp_veth s s0 lanh pls && wp_bridge lanh br0 pla plb pls || return 1
  wp_veth ra hx1 rb hx2 && wp_addr ra hx1 10.77.0.1/24 && wp_addr rb hx2 10.77.0.2/24 || return 1
  wp_addr site s0 172.16.0.9/24 && wp_addr site s0 10.50.0.1/24 || return 1
  wp_addr s s0 10.2.0.10/24 && wp_gw s 10.2.0.2 || return 1
  if [ "$IPSEC_HA_IP" = ipv6 ]; then
    wp_v6on site s0 && wp_exec site ip -6 addr add "$IPSEC_HA_SITE/64" dev s0 nodad
  fi
}

# Short names for lib.sh's wp_ipsec and wp_ipsec_is (GET /api/v1/ipsec of ROUTER).
ipsec() { wp_ipsec "$@"; }
ipsec_is() { wp_ipsec_is "$@"; }
counter() { ipsec "$1" "d['counters']['$2']"; }

# ipsec_ha_site CONN WHAT: charon (kernel-libipsec, PSK, DPD after 2 s of silence) in the site's
# namespace with one connection CONN to ra's address ($IPSEC_HA_RA), loaded (WHAT names it in
# the check), and a capture of the site's port in WP_TMP/site.pcap (with the address claims:
# ARP, or ICMPv6 for Neighbor Advertisements); swan() is its swanctl.
ipsec_ha_site() {
  SW=$WP_TMP/sw
  mkdir -p "$SW"
  cat >"$SW/swanctl.conf" <<SWAN
connections {
  $1 { remote_addrs = $IPSEC_HA_RA
    local_addrs = $IPSEC_HA_SITE
    version = 2
    proposals = aes256-sha256-modp2048
    dpd_delay = 2s
    local { auth = psk
      id = site1.example }
    remote { auth = psk
      id = headend.example }
    children { lan { local_ts = 10.50.0.0/24
        remote_ts = 10.2.0.0/24
        esp_proposals = aes256gcm16 } } }
}
secrets {
$(wp_swan_secret site1 site1.example headend.example "$PSK")
}
SWAN
  wp_check "charon's VICI socket is up" wp_charon_start site "$SW" "$WP_TMP/charon.log"
  wp_check "swanctl loads the site$2" swan --load-all --file "$SW/swanctl.conf"
  wp_check "capture of the site's port" wp_cap_start wan w9 "$WP_TMP/site.pcap" -f "host $IPSEC_HA_SITE or $IPSEC_HA_CLAIMS"
}
swan() { wp_swanctl site "$SW" "$@"; }
