#!/bin/bash
# Crafted IPv6 frames at r1's LAN port are dropped, each counted by its own reason, while
# IPv4 traffic crosses (dataplane/ip/README.md § IPv6 (parser and reassembly)):
#   client/attacker — r1 (branch) — WAN bridge — r2 (headend) — server    (lib.sh wp_topo_basic)
# usage: test_ipv6.sh [WORKERS]   (default 1)
# The attacker (ns g) sends, with ipv6_craft.py: nine extension headers, a 264-byte hop-by-hop
# header, hop-by-hop out of order, a header past the datagram, a tiny first fragment (RFC 7112),
# a UDP length that lies, a well-formed IPv6 frame (not routed yet: not_ipv4), and Neighbor
# Solicitations for r1's address with hop limit 64, a bad checksum, code 1 (nd_bad_hop_limit,
# icmpv6_bad_checksum, nd_malformed), a multicast target and a body too short (not_ipv4: the
# worker passes up only what can be for us). A curl from
# the client before and after must be byte-exact. Then Neighbor Discovery and ICMPv6 echo
# (docs/ipv6.md): the client's kernel, IPv6 enabled, resolves r1's LAN address and link-local
# address (our Neighbor Advertisements) and pings both. DAD: the client holds one of r1's
# configured addresses before r1 starts; r1 finds it a duplicate and never answers for it. (ipv6_malformed is unit-tested only: the LAN
# bridge's br_netfilter drops IPv6 with a bad version or payload length before r1 sees it.)
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WORKERS=${1:-1}
wp_init "wpe2e-ipv6-"
echo "== test_ipv6: 2 routers, $WORKERS worker(s), waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi

KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" "$WORKERS" "$KEY"
sed -i 's|address: 10.1.0.1/24}|address: 10.1.0.1/24, ipv6_addresses: ["2001:db8:1::1/64", "2001:db8:1::99/64"]}|' "$WP_TMP/r1.yaml"
wp_basic_up
# Duplicate Address Detection (docs/ipv6.md): the client already holds 2001:db8:1::99 when r1
# starts, so its kernel answers r1's DAD probe and r1 must leave that address alone.
wp_exec c sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.c0.disable_ipv6=0 net.ipv6.conf.c0.accept_dad=0
wp_exec c ip -6 addr add 2001:db8:1::99/64 dev c0 nodad
wp_pair_start "$WORKERS"
wp_expect "DAD: r1 found 2001:db8:1::99 in use by the client (nd_dad_duplicates)" \
  "$(wp_wait_stat r1 counters.nd_dad_duplicates 1)" -eq 1
wp_expect "DAD: r1's link-local and 2001:db8:1::1 passed (nd_dad_passed)" "$(wp_wait_stat r1 counters.nd_dad_passed 2)" -eq 2
wp_expect "DAD: r1 sent one probe per LAN address, none on its IPv4-only WAN" "$(wp_stat r1 counters.nd_dad_probes_sent)" -eq 3
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
# Bad Neighbor Solicitations for r1's address (RFC 4861 § 7.1.1): refused by the control thread,
# or by the worker already when they cannot be for us (a multicast target, no room for one).
crafted nd-hop nd_bad_hop_limit
crafted nd-csum icmpv6_bad_checksum
crafted nd-code nd_malformed
crafted nd-mcast not_ipv4
crafted nd-short not_ipv4
wp_expect "r1 drops.parse_error stays 0 (IPv6 is not counted as a broken IPv4 header)" \
  "$(wp_stat r1 drops.parse_error)" -eq 0
wp_check "curl after the crafted IPv6, sha256 matches" http_ok

# Neighbor Discovery and echo: the client's kernel against r1.
wp_exec c sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.c0.disable_ipv6=0 net.ipv6.conf.c0.accept_dad=0
wp_exec c ip -6 addr add 2001:db8:1::10/64 dev c0 nodad
R1LL=$("$WP_PY" -c 'import sys; m=[int(x,16) for x in sys.argv[1].split(":")]; m[0]^=2
print("fe80::%x:%x:%x:%x" % (m[0]<<8|m[1], m[2]<<8|0xff, 0xfe00|m[3], m[4]<<8|m[5]))' "$R1MAC")
ping6_ok() { wp_exec c ping -6 -c 1 -W 1 "$1" >/dev/null 2>&1; }
wp_check "ping -6 r1's LAN address 2001:db8:1::1 (ND resolved by the client's kernel)" wp_until 20 ping6_ok 2001:db8:1::1
wp_check "ping -6 r1's link-local $R1LL%c0" wp_until 20 ping6_ok "$R1LL%c0"
wp_expect "the client's neighbor entry for 2001:db8:1::1 is r1's MAC" \
  "$(wp_exec c ip -6 neigh show 2001:db8:1::1 dev c0 | grep -c "lladdr $R1MAC")" -eq 1
wp_expect "r1 sent Neighbor Advertisements" "$(wp_stat r1 counters.nd_adverts_sent)" -ge 2
wp_expect "r1 answered echo requests" "$(wp_stat r1 counters.icmpv6_echo_replies)" -ge 2
wp_expect "r1 drops.icmpv6_bad_checksum stays at the crafted 5 (the kernel's ND and echo all verify)" \
  "$(wp_stat r1 drops.icmpv6_bad_checksum)" -eq 5
wp_expect "DAD: the client's address is not counted as a conflict after the verdict" "$(wp_stat r1 counters.nd_address_conflict)" -eq 0

wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
wp_check "r2 exits 0 on SIGTERM" wp_router_stop r2
wp_finish
