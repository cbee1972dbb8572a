#!/bin/bash
# Crafted IPv6 frames at r1's LAN port are dropped, each counted by its own reason, while
# IPv4 traffic crosses (dataplane/ip/README.md § IPv6 (parser and reassembly)):
#   client/attacker — r1 (branch) — WAN bridge — r2 (headend) — server    (lib.sh wp_topo_basic)
# usage: test_ipv6.sh [WORKERS]   (default 1)
# The attacker (ns g) sends, with ipv6_craft.py: nine extension headers, a 264-byte hop-by-hop
# header, hop-by-hop out of order, a header past the datagram, a tiny first fragment (RFC 7112),
# a UDP length that lies, and a well-formed IPv6 frame (not routed yet: not_ipv4). A curl from
# the client before and after must be byte-exact. (ipv6_malformed is unit-tested only: the LAN
# bridge's br_netfilter drops IPv6 with a bad version or payload length before r1 sees it.)
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WORKERS=${1:-1}
wp_init "wpe2e-ipv6-"
echo "== test_ipv6: 2 routers, $WORKERS worker(s), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi

KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" "$WORKERS" "$KEY"
wp_basic_up
wp_pair_start "$WORKERS"
R1MAC=$(wp_mac r1 r1l)
# No IPv6 of the attacker's own kernel (router solicitations, MLD) in the counts.
wp_exec g sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.g0.disable_ipv6=1 || true
http_ok() {
  wp_fetch c http://10.2.0.10/file.bin "$WP_TMP/got.bin" 20 &&
    [ "$(wp_sha "$WP_TMP/got.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "curl 1 MiB before the crafted IPv6, sha256 matches" http_ok

crafted() {  # KIND DROP_REASON
  local before after
  before=$(wp_stat r1 "drops.$2")
  wp_exec g "$WP_PY" "$WP_E2E/ipv6_craft.py" --iface g0 --dmac "$R1MAC" --kind "$1" --count 5 \
    >>"$WP_TMP/craft.log" 2>&1 || { wp_fail "$1: ipv6_craft.py failed"; return; }
  after=$(wp_wait_stat r1 "drops.$2" $((before + 5)))
  wp_expect "$1: r1 drops.$2 grows by 5" "$after" -ge $((before + 5))
}
crafted chain ipv6_ext_chain_too_long
crafted long ipv6_ext_too_long
crafted order ipv6_ext_order
crafted truncated ipv6_ext_truncated
crafted tiny ipv6_first_fragment_short
crafted short ipv6_l4_truncated
crafted good not_ipv4
wp_expect "r1 drops.parse_error stays 0 (IPv6 is not counted as a broken IPv4 header)" \
  "$(wp_stat r1 drops.parse_error)" -eq 0
wp_check "curl after the crafted IPv6, sha256 matches" http_ok

wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
wp_check "r2 exits 0 on SIGTERM" wp_router_stop r2
wp_finish
