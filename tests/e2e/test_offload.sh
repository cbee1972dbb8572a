#!/bin/bash
# #5 offload: both routers of the canonical topology (lib.sh wp_topo_basic)
# offload established sessions to the software NIC model, which runs on its
# own lcore between the ports and the workers.
# Checks: curl 1 MiB and 16 MiB byte-exact with sessions offloaded; iperf3 TCP: after
# the handshake the NIC forwards (its hits grow, the workers' fast path does
# not); a steady UDP session longer than twice its idle timeout stays
# offloaded, is never aged while packets flow, and its totals (worker + NIC)
# equal what the client and the server sent; closing (idle timeout) removes
# both rules; with max_rules 20 and 50 sessions exactly 10 are offloaded and
# every echo still comes back; routers exit 0 on SIGTERM.
# IPv6 (docs/ipv6.md § Offload of routed IPv6 sessions): r1 also routes the client's
# 2001:db8:71::10 to 2001:db8:72::10 (held by the wan namespace, gateway 2001:db8:70::2);
# a curl -6 of 16 MiB is byte-exact, r1 offloads the session once established (REST:
# sessions6_offloaded, the rules installed, NIC hits carrying the transfer) and removes
# the rules when it ends, with a closed record that says ipv6 and carries the NIC's share.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WORKERS=${1:-1}
export WP_EXTRA_LCORES=1  # the NIC model's lcore (and its queue pair)
wp_init "wpe2e-offload-"
echo "== test_offload: 2 routers, $WORKERS worker(s), NIC model, waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ]; then wp_fail "waypointd not found at $WAYPOINTD"; wp_finish; fi

KEY=$(wp_keygen)
UDP_TIMEOUT=3
CLI6=2001:db8:71::10
SRV6=2001:db8:72::10
wp_gen_basic_configs "$WP_TMP" "$WORKERS" "$KEY"
# r1 routes IPv6 too: the branch tenant's IPv6 clients may reach web6 through the gateway.
sed -i -e 's|address: 10.1.0.1/24}|address: 10.1.0.1/24, ipv6_addresses: ["2001:db8:71::1/64"]}|' \
  -e 's|address: 172.16.0.1/24}|address: 172.16.0.1/24, ipv6_addresses: ["2001:db8:70::1/64"]}|' \
  -e 's|{name: branch, prefixes: \[10.1.0.0/25\]}|{name: branch, prefixes: [10.1.0.0/25], ipv6_prefixes: ["2001:db8:71::/112"]}|' \
  -e 's|^services:$|services:\n  - {name: web6, prefixes: ["2001:db8:72::/64"], protocol: tcp, ports: ["80"]}|' \
  -e 's|^policies:$|policies:\n  - {tenant: branch, service: web6}|' "$WP_TMP/r1.yaml"
echo 'routes: [{prefix: "2001:db8:72::/64", next_hop: "2001:db8:70::2", interface: wan0}]' >>"$WP_TMP/r1.yaml"
for r in r1 r2; do
  echo "offload: {enabled: true, nic_model: true, max_rules: 20, poll_ms: 50}" >>"$WP_TMP/$r.yaml"
  echo "timeouts: {udp: $UDP_TIMEOUT, tcp_transitory: 2}" >>"$WP_TMP/$r.yaml"
done
wp_check "waypointd --check accepts r1.yaml with offload" wp_check_config "$WP_TMP/r1.yaml"

wp_basic_up
# IPv6 on the client and in the wan namespace (the gateway and the IPv6 server).
v6_topo() {
  wp_v6on c c0 && wp_v6on wan br0 || return 1
  ip -n "$(wp_ns c)" -6 addr add "$CLI6/64" dev c0 nodad || return 1
  ip -n "$(wp_ns c)" -6 route add 2001:db8:72::/64 via 2001:db8:71::1 src "$CLI6" || return 1
  ip -n "$(wp_ns wan)" -6 addr add 2001:db8:70::2/64 dev br0 nodad || return 1
  ip -n "$(wp_ns wan)" -6 addr add "$SRV6/128" dev br0 nodad || return 1
  ip -n "$(wp_ns wan)" -6 route add 2001:db8:71::/64 via 2001:db8:70::1
}
wp_check "IPv6 addresses on the client and the wan namespace" v6_topo
wp_check "HTTP server on [$SRV6] in the wan namespace" wp_http_start wan "$SRV6" 80 "$WP_TMP/http6.log"
wp_pair_start "$WORKERS"
wp_check "r1 log: offload on with the NIC model" grep -q "offload on (nic-model)" "${WP_ROUTER_LOG[r1]}"

off() { wp_offload "$1" "$2"; }  # /api/v1/offload value by dotted path (-1 when missing)
# The closed-session record of r1 for local UDP port $1, field $2 (e.g. packets.0).
closed_rec() {
  wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/offload" | "$WP_PY" -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["closed"] if r["proto"] == 17 and r["sport"] == int(sys.argv[1])]
v = recs[-1] if recs else None
for k in sys.argv[2].split("."):
    v = None if v is None else (v[int(k)] if isinstance(v, list) else v[k])
print(-1 if v is None else int(v))' "$2" "$3"
}
off_is() { WP_V=$(off "$1" "$2"); [ "$WP_V" "$3" "$4" ]; }
wait_off() {  # NAME KEY OP VALUE SECONDS: prints the last value
  local WP_V=-1
  wp_until "$5" off_is "$1" "$2" "$3" "$4"
  echo "$WP_V"
}

# --- curl 1 MiB, byte-exact, offloaded
hits0=$(off r1 nic_model.hits)
http_ok() {
  wp_fetch c http://10.2.0.10/file.bin "$WP_TMP/got.bin" 20 &&
    [ "$(wp_sha "$WP_TMP/got.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
wp_check "curl 1 MiB through r1->r2 with offload on, sha256 matches" http_ok
wp_expect "r1 offloaded the HTTP session" "$(off r1 counters.sessions_offloaded)" -ge 1
wp_expect "r2 offloaded the HTTP session" "$(off r2 counters.sessions_offloaded)" -ge 1
wp_expect "r1's NIC forwarded most of the transfer (hits > 500)" "$(($(off r1 nic_model.hits) - hits0))" -gt 500

# --- bulk TCP: a 16 MiB curl is byte-exact; during iperf3 TCP the NIC carries
# the session and the workers do not (iperf3's own byte counts stop at the
# deadline with data still in flight, so they cannot show exactness).
head -c 16777216 /dev/urandom >"$WP_TMP/www/big.bin"
big_ok() {
  wp_fetch c http://10.2.0.10/big.bin "$WP_TMP/big.bin" 30 &&
    [ "$(wp_sha "$WP_TMP/big.bin")" = "$(wp_sha "$WP_TMP/www/big.bin")" ]
}
wp_check "curl 16 MiB with offload on, sha256 matches" big_ok
fp0=$(wp_stat r1 counters.fast_path_packets)
hits0=$(off r1 nic_model.hits)
wp_check "iperf3 TCP -t 3" wp_iperf iperf-tcp -t 3
fp=$(($(wp_stat r1 counters.fast_path_packets) - fp0))
hits=$(($(off r1 nic_model.hits) - hits0))
wp_log "iperf3 TCP: r1 workers' fast path $fp packets, r1 NIC hits $hits"
wp_expect "r1 NIC forwarded > 20x what the workers did during iperf3 TCP" "$hits" -gt $((20 * fp))

# --- IPv6: a routed TCP session offloaded mid-flow, byte-exact, its rules removed at the end
# The closed IPv6 TCP record of r1 (the last one), field $2 (e.g. nic_packets.0).
closed6() {
  wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/offload" | "$WP_PY" -c '
import json, sys
recs = [r for r in json.load(sys.stdin)["closed"] if r.get("family") == "ipv6" and r["proto"] == 6]
v = recs[-1] if recs else None
if v is not None and v["src"] != sys.argv[2]: v = None
for k in sys.argv[1].split("."):
    v = None if v is None else (v[int(k)] if isinstance(v, list) else v[k])
print(-1 if v is None else int(v))' "$2" "$CLI6"
}
s6_0=$(off r1 counters.sessions6_offloaded)
hits0=$(off r1 nic_model.hits)
v6_ok() {
  wp_fetch c "http://[$SRV6]/big.bin" "$WP_TMP/big6.bin" 60 -g -6 --interface "$CLI6" &&
    [ "$(wp_sha "$WP_TMP/big6.bin")" = "$(wp_sha "$WP_TMP/www/big.bin")" ]
}
wp_check "curl -6 16 MiB routed by r1 with offload on, sha256 matches" v6_ok
hits6=$(($(off r1 nic_model.hits) - hits0))
wp_log "IPv6: r1 sessions6_offloaded +$(($(off r1 counters.sessions6_offloaded) - s6_0)), NIC hits +$hits6"
wp_expect "IPv6: r1 offloaded the routed TCP session" "$(($(off r1 counters.sessions6_offloaded) - s6_0))" -ge 1
wp_expect "IPv6: r1's NIC carried the transfer (hits > 5000 for 16 MiB)" "$hits6" -gt 5000
closed6_seen() { [ "$(closed6 r1 nic_packets.0)" -ge 0 ]; }
wp_check "IPv6: r1 closed the session (FIN, tcp_transitory 2 s) with an ipv6 record" wp_until 30 closed6_seen
n6_fwd=$(closed6 r1 nic_packets.0); n6_rev=$(closed6 r1 nic_packets.1)
p6_fwd=$(closed6 r1 packets.0); p6_rev=$(closed6 r1 packets.1)
wp_log "IPv6 closed record: packets fwd $p6_fwd (NIC $n6_fwd) rev $p6_rev (NIC $n6_rev)"
wp_expect "IPv6: the NIC carried most of the server's segments (NIC rev > 90% of rev)" "$((n6_rev * 10))" -gt $((p6_rev * 9))
wp_expect "IPv6: the session's totals include the NIC's (rev packets >= NIC rev)" "$p6_rev" -ge "$n6_rev"
wp_expect "IPv6: the session's totals include the NIC's (fwd packets >= NIC fwd)" "$p6_fwd" -ge "$n6_fwd"
wp_expect "IPv6: r1's rules are removed once the sessions ended (rules_active 0)" \
  "$(wait_off r1 rules_active -eq 0 $((UDP_TIMEOUT * 4 + 10)))" -eq 0

# --- a steady UDP session for > 2x its idle timeout: stays offloaded, exact totals
wp_udp_echo_start 5201
# The aged counter is per router: let the curl and iperf3 sessions' rules go
# first, so a count taken during the steady session can only be that session's.
# (The manager's rules_active: the NIC model also holds each WAN port's
# cookie punt rules, which stay.)
wp_expect "r1: the TCP sessions' rules are gone before the steady UDP session" \
  "$(wait_off r1 rules_active -eq 0 $((UDP_TIMEOUT * 4 + 10)))" -eq 0
aged0=$(off r1 counters.aged)
ev0=$(off r1 counters.evicted)
off0=$(off r1 counters.sessions_offloaded)
COUNT=$((UDP_TIMEOUT * 2 * 50 + 100))  # 50 per second for > 2x the timeout
wp_exec c "$WP_PY" "$WP_E2E/udp_steady.py" 10.2.0.10 5201 "$COUNT" 0.02 200 >"$WP_TMP/steady.json" &
steady=$!
# `aged` read while the datagrams are being sent (they end COUNT x 20 ms from now at the
# earliest): once they stop, the rule ages after $UDP_TIMEOUT s, as it should, and on a loaded
# machine a read after the flow came that late (CI counted that aging as one during the flow).
aged1=$aged0
sent_by=$((${EPOCHREALTIME/./} / 1000 + COUNT * 20))
while kill -0 "$steady" 2>/dev/null && [ $((${EPOCHREALTIME/./} / 1000)) -lt "$sent_by" ]; do
  a=$(off r1 counters.aged)
  [ "$a" -gt "$aged1" ] && aged1=$a
  sleep 0.5
done
wait "$steady"
cat "$WP_TMP/steady.json"
PORT=$("$WP_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$WP_TMP/steady.json")
ECHOED=$("$WP_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["echoed"])' "$WP_TMP/steady.json")
wp_expect "steady UDP: every datagram echoed ($ECHOED of $COUNT)" "$ECHOED" -eq "$COUNT"
wp_expect "steady UDP: offloaded once on r1" "$(($(off r1 counters.sessions_offloaded) - off0))" -eq 1
wp_expect "steady UDP: never aged while packets flowed" "$aged1" -eq "$aged0"
wp_expect "steady UDP: never evicted" "$(off r1 counters.evicted)" -eq "$ev0"
# The session ends by idle timeout; its closed record carries the totals.
closed() { [ "$(closed_rec r1 "$PORT" packets.0)" -ge 0 ]; }
wp_check "steady UDP: r1 closed the session after $UDP_TIMEOUT s idle" wp_until $((UDP_TIMEOUT + 20)) closed
SERVER_GOT=$(grep -c "^from 10.1.0.10:$PORT " "$WP_TMP/udp_echo.log")
p_fwd=$(closed_rec r1 "$PORT" packets.0); p_rev=$(closed_rec r1 "$PORT" packets.1)
n_fwd=$(closed_rec r1 "$PORT" nic_packets.0); n_rev=$(closed_rec r1 "$PORT" nic_packets.1)
b_fwd=$(closed_rec r1 "$PORT" bytes.0)
wp_log "steady UDP: r1 totals fwd $p_fwd (NIC $n_fwd) rev $p_rev (NIC $n_rev); client sent $COUNT, server got $SERVER_GOT"
wp_expect "r1 session forward packets (worker + NIC) == client sent" "$p_fwd" -eq "$COUNT"
wp_expect "r1 session forward bytes == client sent x (200 + 28)" "$b_fwd" -eq $((COUNT * 228))
wp_expect "r1 session reverse packets == echoes received" "$p_rev" -eq "$ECHOED"
wp_expect "r1 NIC carried all but the handshake (forward)" "$n_fwd" -ge $((COUNT - 3))
wp_expect "r1 NIC carried all but the handshake (reverse)" "$n_rev" -ge $((ECHOED - 3))
wp_expect "r1: the closed session's rules are gone (rules_active 0)" "$(wait_off r1 rules_active -eq 0 10)" -eq 0
wp_expect "r2: rules_active 0 after every session ended" "$(wait_off r2 rules_active -eq 0 40)" -eq 0

# --- rule budget: max_rules 20 = 10 sessions; 50 concurrent sessions
bf0=$(off r1 counters.budget_full)
wp_exec c "$WP_PY" "$WP_E2E/udp_steady.py" many 10.2.0.10 5201 50 15 0.05 >"$WP_TMP/many.json" &
MANY=$!
# The peak of rules while the sessions run (and for their idle timeout after:
# one more look once the client is done).
peak=0
peak_sample() { local v; v=$(off r1 rules_active); [ "$v" -le "$peak" ] || peak=$v; }
while wp_alive "$MANY"; do peak_sample; sleep 0.1; done
peak_sample
wait "$MANY"
cat "$WP_TMP/many.json"
ECHOED=$("$WP_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["echoed"])' "$WP_TMP/many.json")
for r in r1 r2; do wp_exec $r curl -s "http://127.0.0.1:$WP_MGMT_PORT/api/v1/offload" >"$WP_TMP/offload-$r.json"; done
SERVER_GOT=$(grep -cE "^from 10.1.0.10:[0-9]+ [23]$" "$WP_TMP/udp_echo.log")
wp_log "50 sessions: server got $SERVER_GOT; r1 NIC $(wp_exec r1 curl -s "http://127.0.0.1:$WP_MGMT_PORT/api/v1/offload" | "$WP_PY" -c 'import json,sys; print(json.load(sys.stdin)["nic_model"])')"
wp_expect "50 sessions: every datagram echoed (750)" "$ECHOED" -eq 750
wp_expect "50 sessions: exactly 10 offloaded on r1 (20 rules at the peak)" "$peak" -eq 20
wp_expect "50 sessions: the other 40 stayed in software (budget_full)" "$(($(off r1 counters.budget_full) - bf0))" -ge 40

# --- shutdown
wp_check "r1 exits 0 on SIGTERM" wp_router_stop r1
wp_check "r2 exits 0 on SIGTERM" wp_router_stop r2
wp_finish
