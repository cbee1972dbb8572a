#!/bin/bash
# #5 offload: the capability probe against a real PMD. net_tap is the one vdev
# on our machines that implements rte_flow_validate; wpflowprobe brings one up
# (its tap interface inside a namespace of ours) and validates every rule
# shape the offload manager needs plus simple diagnostic shapes. Checks the
# probe ran against the real PMD and records what it accepts: net_tap takes a
# plain ingress 5-tuple rule with QUEUE or DROP (also with the IPv6 session
# pattern: ETH / IPV6 src, dst, next header / UDP ports), refuses transfer rules (so
# it cannot offload sessions: waypointd would fall back to software) and has
# no template API.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

PROBE=${WPFLOWPROBE:-$WP_REPO/build/tools/wpflowprobe}
wp_init "wpe2e-offtap-"
echo "== test_offload_tap: rte_flow probe on net_tap, probe=$PROBE"
if [ ! -x "$PROBE" ]; then wp_fail "wpflowprobe not found at $PROBE"; wp_finish; fi
wp_ns_add t || { wp_fail "namespace"; wp_finish; }

OUT=$WP_TMP/probe.json
wp_check "wpflowprobe on net_tap exits 0" \
  wp_exec t timeout 30 "$PROBE" -- --no-huge --no-pci -m 256 --no-shconf -l 0 --log-level=error \
  --vdev "net_tap0,iface=wptap$$" >"$OUT" 2>"$WP_TMP/probe.log"
cat "$OUT"
shape() {  # SHAPE -> true|false|missing
  "$WP_PY" -c '
import json, sys
j = json.loads(open(sys.argv[1]).readline())
m = [s for s in j.get("shapes", []) if s["shape"] == sys.argv[2]]
print(("true" if m[0]["accepted"] else "false") if m else "missing")' "$OUT" "$1"
}
field() { "$WP_PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline()).get(sys.argv[2]))' "$OUT" "$1"; }
is() { [ "$1" = "$2" ] || { echo "  got '$1', want '$2'"; return 1; }; }
wp_check "probed the real net_tap PMD" is "$(field driver)" net_tap
wp_check "net_tap accepts ingress 5-tuple + QUEUE" is "$(shape ingress-5tuple-queue)" true
wp_check "net_tap accepts ingress 5-tuple + DROP" is "$(shape ingress-5tuple-drop)" true
wp_check "net_tap refuses the session rule (transfer)" is "$(shape session-udp)" false
wp_check "net_tap refuses the cookie punt rule" is "$(shape cookie-punt-tcp)" false
wp_check "net_tap accepts the IPv6 session pattern (ETH / IPV6 / UDP) + QUEUE" is "$(shape ingress-ipv6-5tuple-queue)" true
wp_check "net_tap refuses the IPv6 session rule (transfer)" is "$(shape session6-udp)" false
wp_check "net_tap refuses the rule of a session between IPv6 waypoints (transfer, SET_IPV6, MODIFY_FIELD)" \
  is "$(shape waypoint6-udp)" false
wp_check "net_tap refuses the IPv6 cookie punt rule" is "$(shape cookie-punt6-tcp)" false
wp_check "so the port cannot offload" is "$(field can_offload)" False
wp_check "and has no template API" is "$(field template_api)" False
wp_finish
