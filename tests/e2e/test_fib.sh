#!/bin/bash
# Routes from FRR (docs/operations.md § Routes from FRR): real zebra + staticd
# in r2's namespace feed waypointd's FIB over FPM (dplane_fpm_nl).
#   client — r1 (branch) — WAN bridge — r2 (headend, + zebra/staticd) — server
# The server also holds 10.200.0.10, a prefix r2 knows only from FRR
# (`ip route 10.200.0.0/16 10.2.0.10` in staticd). A kernel interface in r2's
# namespace carries the LAN subnet so zebra resolves that next hop; waypointd
# maps it to its LAN by the gateway's connected prefix.
# Checks: the route appears in GET /api/v1/routes; curl from the client to
# 10.200.0.10 through the SVR pair is byte-exact; `no ip route` in vtysh
# withdraws it and a new session is dropped with no_route.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

wp_init "wpe2e-fib-"
echo "== test_fib: FRR zebra -> FPM -> FIB, waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi
if [ ! -x /usr/lib/frr/zebra ] || [ ! -x /usr/lib/frr/staticd ]; then wp_fail "FRR not installed (setup.sh)"; wp_finish; fi

KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" 1 "$KEY"
# Both routers offer the FRR-routed prefix as part of the web service; r2 listens for zebra.
sed -i 's|prefixes: \[10.2.0.0/24\], protocol: tcp|prefixes: [10.2.0.0/24, 10.200.0.0/16], protocol: tcp|' \
  "$WP_TMP/r1.yaml" "$WP_TMP/r2.yaml"
echo 'fpm: {listen: "127.0.0.1:2620", replay_quiet_ms: 500}' >>"$WP_TMP/r2.yaml"
wp_check "waypointd --check accepts r2.yaml with fpm" wp_check_config "$WP_TMP/r2.yaml"

wp_basic_up
wp_addr s s0 10.200.0.10/32
wp_http_start s 10.200.0.10 8000 "$WP_TMP/http200.log" || { wp_fail "server on 10.200.0.10"; wp_finish; }
# (a veth pair inside r2's namespace: this kernel has no dummy module)
ip -n "$(wp_ns r2)" link add wplan type veth peer name wplanp && wp_addr r2 wplan 10.2.0.1/24 &&
  ip -n "$(wp_ns r2)" link set wplanp up && ip -n "$(wp_ns r2)" link set wplan up ||
  { wp_fail "LAN stand-in interface for zebra"; wp_finish; }

wp_pair_start 1

# FRR with private config and run dirs, in r2's namespace (RECIPES: daemons drop to user frr).
FRR=$WP_TMP/frr
mkdir -p "$FRR" && touch "$FRR/vtysh.conf"
printf 'fpm address 127.0.0.1 port 2620\nno fpm use-next-hop-groups\n' >"$FRR/zebra.conf"
printf 'ip route 10.200.0.0/16 10.2.0.10\n' >"$FRR/staticd.conf"
chown -R frr:frr "$FRR"
wp_bg r2 "$FRR/zebra.log" /usr/lib/frr/zebra -M dplane_fpm_nl -f "$FRR/zebra.conf" -i "$FRR/zebra.pid" \
  -z "$FRR/zserv.api" --vty_socket "$FRR" --log stdout
WP_PIDS+=("$WP_BG_PID")
wp_check "zebra's socket" wp_until 20 test -S "$FRR/zserv.api"
wp_bg r2 "$FRR/staticd.log" /usr/lib/frr/staticd -f "$FRR/staticd.conf" -i "$FRR/staticd.pid" \
  -z "$FRR/zserv.api" --vty_socket "$FRR" --log stdout
WP_PIDS+=("$WP_BG_PID")

routes_json() { wp_exec r2 curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/routes" 2>/dev/null; }
has_route() { routes_json | grep -q '"prefix": "10.200.0.0/16"'; }
wp_check "10.200.0.0/16 from FRR in GET /api/v1/routes" wp_until 30 has_route
wp_check "the route's next hop is 10.2.0.10 on lan" wp_until 5 sh -c \
  "ip netns exec $(wp_ns r2) curl -s http://127.0.0.1:$WP_MGMT_PORT/api/v1/routes | tr -d ' \n' | grep -q '\"gateway\":\"10.2.0.10\",\"interface\":\"lan\"'"

head -c 262144 /dev/urandom >"$WP_TMP/www/fib.bin"
wp_exec c curl -s --max-time 10 -o "$WP_TMP/got.bin" "http://10.200.0.10:8000/fib.bin"
same_bytes() { [ "$(wp_sha "$WP_TMP/got.bin" 2>/dev/null)" = "$(wp_sha "$WP_TMP/www/fib.bin")" ]; }
wp_check "curl to 10.200.0.10 through the SVR pair is byte-exact" same_bytes

# Withdraw in FRR: the route leaves the FIB, a new session gets no_route.
vtysh --vty_socket "$FRR" --config_dir "$FRR" -c 'configure terminal' -c 'no ip route 10.200.0.0/16 10.2.0.10' \
  >"$WP_TMP/vtysh.log" 2>&1
no_route() { ! has_route; }
wp_check "withdrawn in vtysh: gone from GET /api/v1/routes" wp_until 10 no_route
before=$(wp_stat r2 drops.no_route)
wp_exec c curl -s --max-time 2 -o /dev/null "http://10.200.0.10:8000/fib.bin"
wp_expect "a new session to 10.200.0.10 is dropped with no_route at r2" \
  "$(wp_wait_stat r2 drops.no_route $((before + 1)))" -gt "$before"
wp_check "FIB counters in /metrics" sh -c \
  "ip netns exec $(wp_ns r2) curl -s http://127.0.0.1:$WP_MGMT_PORT/metrics | grep -q '^waypoint_fib_routes_withdrawn_total{router=\"r2\"} 1'"

wp_check "r1 exits cleanly" wp_router_stop r1
wp_check "r2 exits cleanly" wp_router_stop r2
wp_finish
