# shellcheck shell=bash
# End-to-end helpers for Waypoint (docs/architecture.md § Tests): network namespaces,
# veths and bridges, real waypointd processes on net_af_packet vdevs, real
# clients/servers, tshark captures and the stats endpoint.
#
# Source it, then call wp_init PREFIX. Every namespace is named PREFIX<name>
# (namespaces left over by a crashed run with the same prefix are removed
# first), every background process is tracked by pid and every temp file lives
# in $WP_TMP; an EXIT trap tears all of it down, printing logs on failure.
# Traffic only ever goes to addresses inside the namespaces created here.

WP_REPO=${WP_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WAYPOINTD=${WAYPOINTD:-$WP_REPO/build/tools/waypointd}
WP_E2E=$WP_REPO/tests/e2e
WP_PY=${WP_PY:-/usr/bin/python3}   # the Debian python: it has scapy
WP_EAL_MEM=${WP_EAL_MEM:-256}
WP_MGMT_PORT=${WP_MGMT_PORT:-9101}
# shellcheck disable=SC2034  # used by examples/demo.sh
WP_COOKIE_FILTER='4c:48:db:c6:dd:f6:67:0c'   # SVR cookie, for tshark filters

WP_PREFIX=""
WP_TMP=""
WP_NPASS=0
WP_NFAIL=0
WP_PIDS=()              # every background process we started (cleanup kills these)
declare -A WP_ROUTER_PID WP_ROUTER_LOG
WP_CAP_PIDS=()
WP_CAP_FILES=()
WP_KEEP=${WP_KEEP:-0}   # 1: keep $WP_TMP after the run

wp_log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

wp_pass() { WP_NPASS=$((WP_NPASS + 1)); echo "PASS: $*"; }
wp_fail() { WP_NFAIL=$((WP_NFAIL + 1)); echo "FAIL: $*"; }

# wp_check DESC CMD...: run CMD, PASS/FAIL by its exit status.
wp_check() {
  local desc=$1; shift
  if "$@"; then wp_pass "$desc"; return 0; fi
  wp_fail "$desc"; return 1
}

# wp_expect DESC A OP B: numeric comparison (OP as for test: -gt, -eq, ...).
wp_expect() {
  local desc=$1 a=$2 op=$3 b=$4
  local num='^-?[0-9]+$'
  if [[ $a =~ $num && $b =~ $num ]] && test "$a" "$op" "$b"; then
    wp_pass "$desc ($a $op $b)"
  else
    wp_fail "$desc (got '$a', want $op $b)"
  fi
}

wp_ns() { echo "${WP_PREFIX}$1"; }
wp_exec() { local ns; ns=$(wp_ns "$1"); shift; ip netns exec "$ns" "$@"; }

# wp_bg NS LOG CMD...: start CMD in namespace NS in the background, output to
# LOG; WP_BG_PID is its pid (ip netns exec execs CMD, so it is CMD's own pid and
# a child of this shell: wait gives its exit status).
WP_BG_PID=""
wp_bg() {
  local ns log=$2; ns=$(wp_ns "$1"); shift 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  WP_BG_PID=$!
}

# Alive and not a zombie (a zombie child still answers kill -0).
wp_alive() {
  local pid=$1 st
  [ -r "/proc/$pid/stat" ] || return 1
  st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wp_until SECONDS CMD...: run CMD until it succeeds (status 0), or fail
# (status 1) once SECONDS (whole) of wall-clock time have passed. Every wait in
# these tests is a condition polled against a deadline, never a fixed sleep: on
# a loaded host the condition takes longer to come true and each try takes
# longer to run. Deadlines are generous; they only cost time on failure.
# Tries come every 0.1 s for the first second, then every 0.25 s, then 0.5 s:
# a try is often a process or two (a stats query is ~60 ms of CPU), and a
# wait of many seconds polled at 10 Hz would load the 2-core host itself.
wp_until() {
  local end=$((${EPOCHREALTIME//[!0-9]/} + $1 * 1000000)) tries=0; shift
  while :; do
    "$@" && return 0
    [ "${EPOCHREALTIME//[!0-9]/}" -lt "$end" ] || return 1
    tries=$((tries + 1))
    if [ "$tries" -le 10 ]; then sleep 0.1; elif [ "$tries" -le 30 ]; then sleep 0.25; else sleep 0.5; fi
  done
}

wp_dead() { ! wp_alive "$1"; }

# Wait up to $2 seconds (default 10) for pid $1 to exit.
wp_wait_exit() { wp_until "${2:-10}" wp_dead "$1"; }

# wp_kill PID [SIG] [GRACE]: end a process we started: SIG (default TERM), then
# SIGKILL after GRACE seconds (default 5).
wp_kill() {
  local pid=$1 sig=${2:-TERM} grace=${3:-5}
  wp_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
  kill -s "$sig" "$pid" 2>/dev/null
  wp_wait_exit "$pid" "$grace" || { kill -9 "$pid" 2>/dev/null; wp_wait_exit "$pid" 5; }
  wait "$pid" 2>/dev/null
  return 0
}

# Remove namespaces with our prefix, ending processes still inside them
# (by pid; they can only be left over from an earlier run of the same test).
wp_remove_namespaces() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${WP_PREFIX}" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
}

wp_dump_logs() {
  local f
  [ -n "$WP_TMP" ] && [ -d "$WP_TMP" ] || return 0
  for f in "$WP_TMP"/*.log; do
    [ -s "$f" ] || continue
    echo "----- $(basename "$f") (last 60 lines) -----"
    tail -n 60 "$f"; echo
  done
}

wp_cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  trap '' PIPE   # a closed stdout (| head) must not cut the teardown short
  set +e
  for pid in "${WP_CAP_PIDS[@]}"; do wp_kill "$pid" INT; done
  for pid in "${WP_ROUTER_PID[@]}"; do wp_kill "$pid" TERM; done
  for pid in "${WP_PIDS[@]}"; do wp_kill "$pid" TERM; done
  # Every test, whatever it checked: no configured key in any of its logs.
  if [ -n "$WP_TMP" ] && [ -d "$WP_TMP" ] && ! "$WP_PY" "$WP_E2E/key_leak.py" "$WP_TMP"; then
    WP_NFAIL=$((WP_NFAIL + 1))
    [ "$rc" -ne 0 ] || rc=1
  fi
  if [ "$rc" -ne 0 ] || [ "$WP_NFAIL" -gt 0 ]; then wp_dump_logs; fi
  wp_remove_namespaces
  rm -rf /var/run/dpdk/wp-*-"$$" 2>/dev/null
  if [ -n "$WP_TMP" ] && [ -d "$WP_TMP" ]; then
    if [ "$WP_KEEP" = 1 ]; then echo "kept $WP_TMP"; else rm -rf "$WP_TMP"; fi
  fi
  exit "$rc"
}

# wp_init PREFIX: check privileges, clear stale state, set the cleanup trap.
# WP_NS_TAG (env) is put in front of PREFIX so that runs from two checkouts at
# once (e.g. two developers' worktrees on one machine) never share a namespace.
wp_init() {
  WP_PREFIX=${WP_NS_TAG:-}$1
  if [ "$(id -u)" -ne 0 ]; then echo "must run as root" >&2; exit 2; fi
  wp_remove_namespaces
  WP_TMP=$(mktemp -d "/tmp/${WP_PREFIX}XXXXXX")
  chmod 755 "$WP_TMP"
  trap wp_cleanup EXIT
  trap 'exit 130' INT TERM
}

# Finish a test: summary line, exit status (the EXIT trap cleans up).
wp_finish() {
  echo "$(basename "$0"): $WP_NPASS passed, $WP_NFAIL failed"
  [ "$WP_NFAIL" -eq 0 ]
  exit $?
}

# ---------------------------------------------------------------- topology

# wp_ns_add NAME...: namespaces with lo up and IPv6 off (clean captures).
wp_ns_add() {
  local n ns
  for n in "$@"; do
    ns=$(wp_ns "$n")
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null
  done
}

wp_offload_off() { wp_exec "$1" ethtool -K "$2" tx off rx off gso off tso off gro off >/dev/null 2>&1 || true; }

# IPv6 on in namespace NS and on each IFACE, without DAD or router advertisements.
wp_v6on() {  # NS IFACE...
  local ns=$1 i; shift
  wp_exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.all.accept_dad=0 >/dev/null || return 1
  for i in "$@"; do
    wp_exec "$ns" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=0" "net.ipv6.conf.$i.accept_dad=0" \
      "net.ipv6.conf.$i.accept_ra=0" >/dev/null || return 1
  done
}

# wp_veth NS1 IF1 NS2 IF2: a veth pair between two namespaces, offloads off, up.
wp_veth() {
  local a b
  a=$(wp_ns "$1"); b=$(wp_ns "$3")
  ip link add "$2" netns "$a" type veth peer name "$4" netns "$b" || return 1
  ip netns exec "$a" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" >/dev/null 2>&1
  ip netns exec "$b" sysctl -qw "net.ipv6.conf.$4.disable_ipv6=1" >/dev/null 2>&1
  wp_offload_off "$1" "$2"; wp_offload_off "$3" "$4"
  ip -n "$a" link set dev "$2" up; ip -n "$b" link set dev "$4" up
}

# wp_bridge NS BR PORT...: a bridge (no STP, no forward delay) with ports.
wp_bridge() {
  local ns br=$2 p; ns=$(wp_ns "$1")
  ip -n "$ns" link add "$br" type bridge stp_state 0 forward_delay 0 || return 1
  for p in "${@:3}"; do ip -n "$ns" link set dev "$p" master "$br"; done
  ip -n "$ns" link set dev "$br" up
}

wp_addr() { ip -n "$(wp_ns "$1")" addr add "$3" dev "$2"; }
wp_gw() { ip -n "$(wp_ns "$1")" route add default via "$2"; }
wp_mac() { wp_exec "$1" cat "/sys/class/net/$2/address"; }

# Canonical topology (docs/architecture.md § Tests):
#   c (10.1.0.10) ─┐
#                 lan bridge ── r1l [r1] r1w ── wan bridge (capture) ── r2w [r2] r2l ── s (10.2.0.10)
#   g (10.1.0.200)┘
# Router namespaces hold only their veths (no addresses: waypointd owns them).
wp_topo_basic() {
  wp_ns_add c g lan r1 wan r2 s || return 1
  wp_veth c c0 lan lc && wp_veth g g0 lan lg && wp_veth r1 r1l lan lr || return 1
  wp_bridge lan br0 lc lg lr || return 1
  wp_veth r1 r1w wan w1 && wp_veth r2 r2w wan w2 && wp_bridge wan br0 w1 w2 || return 1
  wp_veth r2 r2l s s0 || return 1
  wp_addr c c0 10.1.0.10/24 && wp_gw c 10.1.0.1
  wp_addr g g0 10.1.0.200/24 && wp_gw g 10.1.0.1
  wp_addr s s0 10.2.0.10/24 && wp_gw s 10.2.0.1
}

# Two-path topology (test_paths, test_dup):
#   c (10.1.0.10) ── r1l [r1] r1a ── wa (mpls) ── r2a [r2] r2l ── s (10.2.0.10)
#                            r1b ── wb (inet, bridge br0) ── r2b
# wp_topo_two_paths [MPLS]: MPLS=bridge (default) bridges a1/a2 in wa; MPLS=open leaves
# them unconnected for a relay of the test's own (a lossy or delaying link).
wp_topo_two_paths() {
  wp_ns_add c r1 wa wb r2 s || return 1
  wp_veth c c0 r1 r1l || return 1
  wp_veth r1 r1a wa a1 && wp_veth r2 r2a wa a2 || return 1
  if [ "${1:-bridge}" = bridge ]; then wp_bridge wa br0 a1 a2 || return 1; fi
  wp_veth r1 r1b wb b1 && wp_veth r2 r2b wb b2 && wp_bridge wb br0 b1 b2 || return 1
  wp_veth r2 r2l s s0 || return 1
  wp_addr c c0 10.1.0.10/24 && wp_gw c 10.1.0.1 && wp_addr s s0 10.2.0.10/24 && wp_gw s 10.2.0.1
}

# wp_two_paths_router NAME LAN SIDE(1|2): the router and tenant blocks of a router of that
# topology (WANs mpls 172.16.0.SIDE/24 and inet 172.17.0.SIDE/24; tenant branch 10.1.0.0/24).
wp_two_paths_router() {
  cat <<YAML
router:
  name: $1
  lan: {name: lan, device: net_af_packet0, address: $2}
  wan:
    - {name: mpls, device: net_af_packet1, address: 172.16.0.$3/24}
    - {name: inet, device: net_af_packet2, address: 172.17.0.$3/24}
tenants:
  - {name: branch, prefixes: [10.1.0.0/24]}
YAML
}

# wp_basic_up: wp_topo_basic and wp_servers_start; the test ends here if either fails.
wp_basic_up() {
  wp_topo_basic || { wp_fail "topology setup"; wp_finish; }
  wp_servers_start || { wp_fail "servers start"; wp_finish; }
}

# ------------------------------------------------------------------ servers

# Wait up to $3 s (default 20) for a TCP listener on port $2 in namespace $1.
wp_listening() { wp_exec "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q LISTEN; }
wp_wait_listen() { wp_until "${3:-20}" wp_listening "$1" "$2"; }

# wp_log_has FILE PATTERN [MIN]: FILE has at least MIN (default 1) lines matching PATTERN.
wp_log_has() { [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ]; }

# wp_http_start NS ADDR PORT LOG [--tls CERT KEY]: http_server.py serving
# $WP_TMP/www; waits until it listens.
wp_http_start() {
  wp_bg "$1" "$4" "$WP_PY" -u "$WP_E2E/http_server.py" "$2" "$3" "$WP_TMP/www" "${@:5}"
  WP_PIDS+=("$WP_BG_PID")
  wp_wait_listen "$1" "$3"
}

# wp_servers_start [ADDR] [BYTES]: an HTTP server on ADDR:80 (default 10.2.0.10)
# serving $WP_TMP/www/file.bin (BYTES random, default 1 MiB) and iperf3 -s on ADDR,
# both in namespace s. Logs: $WP_TMP/http.log, iperf3.log.
wp_servers_start() {
  local addr=${1:-10.2.0.10}
  mkdir -p "$WP_TMP/www"
  head -c "${2:-1048576}" /dev/urandom >"$WP_TMP/www/file.bin"
  wp_bg s "$WP_TMP/iperf3.log" iperf3 -s -B "$addr"
  WP_PIDS+=("$WP_BG_PID")
  wp_http_start s "$addr" 80 "$WP_TMP/http.log" && wp_wait_listen s 5201
}

# UDP echo server (udp_echo.py) on 10.2.0.10:$1 in namespace s; waits until it is bound.
wp_udp_echo_start() {
  wp_bg s "$WP_TMP/udp_echo.log" "$WP_PY" -u "$WP_E2E/udp_echo.py" serve 10.2.0.10 "$1"
  WP_PIDS+=("$WP_BG_PID")
  wp_until 20 wp_log_has "$WP_TMP/udp_echo.log" "^listening"
}

# ------------------------------------------------------------------ routers

wp_keygen() { "$WP_PY" -c 'import secrets; print(secrets.token_hex(32))'; }

# wp_eal_args NAME WORKERS IFACE...: EAL args for one router whose ethdevs are
# net_af_packet0..N-1 bound to the given veths, main lcore + WORKERS workers.
# WP_EXTRA_LCORES (default 0; #5 offload: 1 for the software NIC model) adds
# that many lcores and queue pairs per port.
wp_eal_args() {
  local name=$1 w=$2 i ncpu lc="" x=${WP_EXTRA_LCORES:-0}; shift 2
  ncpu=$(nproc)
  for ((i = 0; i <= w + x; i++)); do lc+="${lc:+,}$i@$((i % ncpu))"; done
  echo -n "--no-huge --no-pci -m $WP_EAL_MEM --file-prefix wp-$name-$$ --lcores $lc"
  for ((i = 1; i <= $#; i++)); do
    echo -n " --vdev net_af_packet$((i - 1)),iface=${!i},qpairs=$((w + 1 + x))"
  done
}

# wp_router_start NAME CONFIG WORKERS IFACE...: waypointd in namespace NAME,
# in the background, stderr+stdout to $WP_TMP/NAME.log.
wp_router_start() {
  local name=$1 cfg=$2 w=$3 eal; shift 3
  eal=$(wp_eal_args "$name" "$w" "$@")
  WP_ROUTER_LOG[$name]=$WP_TMP/$name.log
  wp_log "start $name: waypointd --config $cfg -- $eal"
  # shellcheck disable=SC2086
  wp_bg "$name" "${WP_ROUTER_LOG[$name]}" "$WAYPOINTD" --config "$cfg" -- $eal
  WP_ROUTER_PID[$name]=$WP_BG_PID
}

# wp_pair_start WORKERS: r1 and r2 of wp_topo_basic on $WP_TMP/r1.yaml and
# r2.yaml; the test ends here unless both answer.
wp_pair_start() {
  wp_router_start r1 "$WP_TMP/r1.yaml" "$1" r1l r1w
  wp_router_start r2 "$WP_TMP/r2.yaml" "$1" r2l r2w
  wp_check "r1 ready" wp_wait_ready r1 || wp_finish
  wp_check "r2 ready" wp_wait_ready r2 || wp_finish
}

# Raw stats JSON of router NAME ("" if it does not answer).
wp_stats_json() {
  # shellcheck disable=SC2086  # #7: WP_MGMT_TOKEN when the routers' REST API wants a bearer token
  wp_exec "$1" curl -s --max-time 2 ${WP_MGMT_TOKEN:+-H "Authorization: Bearer $WP_MGMT_TOKEN"} \
    "http://127.0.0.1:$WP_MGMT_PORT/api/v1/stats" 2>/dev/null
}

# wp_wait_ready NAME [SECONDS]: the stats endpoint answers JSON (default 30 s:
# EAL start-up on a busy host takes a while; a router that dies fails at once).
wp_ready_try() {
  wp_alive "${WP_ROUTER_PID[$1]}" || { WP_EXITED=1; return 0; }
  wp_stats_json "$1" | "$WP_PY" -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null
}
wp_wait_ready() {
  local WP_EXITED=0
  wp_until "${2:-30}" wp_ready_try "$1" || return 1
  [ "$WP_EXITED" = 0 ] || { wp_log "$1 exited during start"; return 1; }
}

# wp_json_int KEY: the integer at dotted path KEY of the JSON document on stdin
# (a number indexes a list); -1 if the document or the key is missing.
wp_json_int() {
  "$WP_PY" -c '
import json, sys
try:
    v = json.load(sys.stdin)
    for k in sys.argv[1].split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
    print(int(v))
except Exception:
    print(-1)' "$1"
}

# wp_stat NAME KEY: one value from the stats JSON by dotted path
# (e.g. drops.policy_deny; a number indexes a list: qos.ports.0.rate_bps);
# prints -1 if the router or the key is missing.
wp_stat() { wp_stats_json "$1" | wp_json_int "$2"; }

# wp_offload NAME KEY: one value from GET /api/v1/offload of router NAME by dotted path
# (e.g. counters.waypoint6_offloaded, nic_model.hits); -1 if missing.
wp_offload() {
  wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/offload" 2>/dev/null | wp_json_int "$2"
}

# wp_wait_stat NAME KEY MIN [SECONDS]: wait (default 10 s) until KEY >= MIN; prints the value.
wp_stat_ge() { WP_V=$(wp_stat "$1" "$2"); [ "$WP_V" -ge "$3" ]; }
wp_wait_stat() {
  local WP_V=-1
  wp_until "${4:-10}" wp_stat_ge "$1" "$2" "$3"
  echo "$WP_V"
}

# wp_router_stop NAME: SIGTERM, wait; returns 0 only on a clean exit 0.
wp_router_stop() {
  local name=$1 pid=${WP_ROUTER_PID[$1]:-} rc
  [ -n "$pid" ] || return 1
  wp_alive "$pid" || wp_log "$name had already exited before SIGTERM (crashed during the test?)"
  kill -TERM "$pid" 2>/dev/null
  if wp_wait_exit "$pid" 30; then
    wait "$pid"; rc=$?
  else
    wp_log "$name ignored SIGTERM for 30 s: kill -9"
    kill -9 "$pid" 2>/dev/null; wp_wait_exit "$pid" 5; wait "$pid" 2>/dev/null; rc=137
  fi
  unset "WP_ROUTER_PID[$name]"
  [ "$rc" -eq 0 ] || wp_log "$name exit status $rc"
  return "$rc"
}

# ------------------------------------------------------------------ capture

# wp_cap_start NS IF FILE [dumpcap args, e.g. -f FILTER]: a capture of IF in
# classic pcap format (snaplen 256 keeps big transfers small; the cookie and
# headers fit). dumpcap is the capture engine tshark itself runs; started
# directly it skips tshark's dissector set-up (~1 s of CPU per capture).
# Waits until the capture is running: dumpcap writes the file header only
# after it opened the interface and set the filter, so every frame from then
# on is queued for it. Several captures may run at once; wp_cap_stop stops them all.
# Without a -f filter of the test's own, IGMP is left out: the kernel of the test's
# namespaces sends membership reports (0.0.0.0 -> 224.0.0.22) when links come up, a
# race with the capture's start that once failed "only waypoint addresses" checks in CI.
# Waypoint sends no IGMP.
wp_cap_running() {  # FILE PID: the file header written (or dumpcap died)
  wp_alive "$2" || { WP_EXITED=1; return 0; }
  [ -s "$1" ]
}
wp_cap_start() {
  local f=$3 WP_EXITED=0
  rm -f "$f"
  local filter=(-f "not igmp") a
  for a in "${@:4}"; do [ "$a" = -f ] && filter=(); done
  wp_bg "$1" "$WP_TMP/dumpcap-$(basename "$f").log" dumpcap -q -i "$2" -s 256 -P -w "$f" "${filter[@]}" "${@:4}"
  WP_CAP_PIDS+=("$WP_BG_PID")
  WP_CAP_FILES+=("$f")
  wp_until 20 wp_cap_running "$f" "$WP_BG_PID" && [ "$WP_EXITED" = 0 ]
}

# Stops every capture once its file stopped growing (what the kernel still
# holds for it is written first; a stopped dumpcap loses it).
wp_cap_sizes() { local f; for f in "${WP_CAP_FILES[@]}"; do stat -c %s "$f" 2>/dev/null || echo 0; done | tr '\n' ' '; }
wp_cap_settled() {  # the same sizes 3 polls in a row
  local now; now=$(wp_cap_sizes)
  if [ "$now" = "$WP_CAP_LAST" ]; then WP_CAP_SAME=$((WP_CAP_SAME + 1)); else WP_CAP_SAME=0; fi
  WP_CAP_LAST=$now
  [ "$WP_CAP_SAME" -ge 3 ]
}
wp_cap_stop() {
  local pid WP_CAP_LAST="" WP_CAP_SAME=0
  [ ${#WP_CAP_PIDS[@]} -gt 0 ] || return 0
  wp_until 10 wp_cap_settled
  # SIGINT: dumpcap writes what it buffered and closes the file (SIGKILL would cut it).
  for pid in "${WP_CAP_PIDS[@]}"; do wp_kill "$pid" INT 20; done
  WP_CAP_PIDS=() WP_CAP_FILES=()
}

# wp_capcheck CAPTURE KEY WAYPOINT...: capcheck.py's checks of a WAN capture
# (addresses, ports, metadata only on setup) and of the metadata HMAC trailers
# with the pair KEY of that WAN leg; its PASS/FAIL lines are counted here.
wp_capcheck() {
  local cap=$1 key=$2 out rc tag; shift 2
  out=$WP_TMP/capcheck-$(basename "$cap").out
  tag=$(basename "$cap" .pcap)
  { "$WP_PY" "$WP_E2E/capcheck.py" "$cap" "$@"; "$WP_PY" "$WP_E2E/capcheck.py" "$cap" --hmac "$key"; } >"$out" 2>&1
  rc=$?
  sed "s/^\\(PASS\\|FAIL\\): /\\1: [$tag] /" "$out"
  WP_NPASS=$((WP_NPASS + $(grep -c '^PASS' "$out")))
  WP_NFAIL=$((WP_NFAIL + $(grep -c '^FAIL' "$out")))
  if [ "$rc" -ne 0 ] && ! grep -q '^FAIL' "$out"; then wp_fail "capcheck.py $cap: exit $rc"; fi
}

# ------------------------------------------------------------------ clients

# wp_fetch NS URL OUT [SECONDS] [extra curl args]: curl, exit status of curl.
wp_fetch() {
  local ns=$1 url=$2 out=$3 t=${4:-20}; shift 4 2>/dev/null || shift $#
  wp_exec "$ns" curl -sS --connect-timeout "$t" --max-time "$t" -o "$out" "$@" "$url"
}

# wp_ping3 NS OUT ARGS...: ping -c 3 (0.2 s apart, 2 s for each answer) from ns NS with
# ARGS (options such as -6 or -I SRC, then the target), its output to OUT; status 0 only
# when all 3 echoes were answered (ping's own status is 0 with one answer of 3).
wp_ping3() {
  local ns=$1 out=$2; shift 2
  wp_exec "$ns" ping -c 3 -i 0.2 -W 2 "$@" >"$out" 2>&1 && grep -q " 3 received" "$out"
}

wp_sha() { sha256sum "$1" | awk '{print $1}'; }

# wp_iperf NAME ARGS...: iperf3 client in ns c to 10.2.0.10 (or $WP_IPERF_SERVER), JSON to
# $WP_TMP/NAME.json; prints a one-line summary; status of iperf3.
wp_iperf() {
  local name=$1 rc; shift
  timeout 40 ip netns exec "$(wp_ns c)" iperf3 -c "${WP_IPERF_SERVER:-10.2.0.10}" -J --connect-timeout 5000 "$@" \
    >"$WP_TMP/$name.json" 2>"$WP_TMP/$name.err"
  rc=$?
  "$WP_PY" "$WP_E2E/iperf_summary.py" "$WP_TMP/$name.json" || rc=1
  return "$rc"
}

# wp_topo_v6_pair (test_svr6, test_svr6v6): client ns c (c0: $CLI and $GUEST in
# 2001:db8:71::/64) - r1 (r1l | r1w) - bridge br0 in ns wan - (r2w | r2l) r2 - server
# ns s (s0: $SRV in 2001:db8:72::/64, default via 2001:db8:72::1). The routers' ports
# are DPDK's (af_packet); their addresses come from their configs.
wp_topo_v6_pair() {
  wp_ns_add c r1 wan r2 s || return 1
  wp_veth c c0 r1 r1l || return 1
  wp_veth r1 r1w wan w1 && wp_veth r2 r2w wan w2 && wp_bridge wan br0 w1 w2 || return 1
  wp_veth r2 r2l s s0 || return 1
  wp_v6on c c0 && wp_v6on s s0 || return 1
  ip -n "$(wp_ns c)" -6 addr add "$CLI/64" dev c0 nodad || return 1
  ip -n "$(wp_ns c)" -6 addr add "$GUEST/64" dev c0 nodad || return 1
  ip -n "$(wp_ns c)" -6 route add 2001:db8:72::/64 via 2001:db8:71::1 src "$CLI" || return 1
  ip -n "$(wp_ns s)" -6 addr add "$SRV/64" dev s0 nodad || return 1
  ip -n "$(wp_ns s)" -6 route add default via 2001:db8:72::1
}
# IPv6 clients (test_ipv6_route, test_svr6, test_svr6v6): ns c fetches from / runs
# iperf3 against the server address $SRV, from its address $CLI (the test sets both).
# wp_http6_ok: $SRV's /file.bin arrives whole (sha256 of $WP_TMP/www/file.bin).
wp_http6_ok() {
  wp_fetch c "http://[$SRV]/file.bin" "$WP_TMP/got.bin" 60 -g -6 --interface "$CLI" &&
    [ "$(wp_sha "$WP_TMP/got.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]
}
# wp_iperf6 NAME ARGS...: iperf3 -6 from $CLI to $SRV, JSON to $WP_TMP/NAME.json, a summary line.
wp_iperf6() {
  local name=$1; shift
  timeout 40 ip netns exec "$(wp_ns c)" iperf3 -6 -c "$SRV" -B "$CLI" -J --connect-timeout 5000 "$@" \
    >"$WP_TMP/$name.json" 2>"$WP_TMP/$name.err" && "$WP_PY" "$WP_E2E/iperf_summary.py" "$WP_TMP/$name.json"
}
# wp_check_cookie_at_setup PCAP: the SVR metadata cookie is in the capture at setup
# (SYN and SYN-ACK) and only then (a few packets per session, not thousands).
wp_check_cookie_at_setup() {
  local n
  n=$(tshark -r "$1" -Y "frame contains $WP_COOKIE_FILTER" 2>/dev/null | wc -l)
  wp_expect "tshark: the metadata cookie only during setup (a few packets per session, not thousands)" "$n" -lt 40
  wp_expect "tshark: the cookie is there at setup (SYN and SYN-ACK)" "$n" -ge 2
}

# ------------------------------------------------------------------ configs

# Tenants, services and policies shared by every router of the basic and
# transit topologies. $1: next_peer for the services ("" = deliver on LAN).
wp_conf_common() {
  local np=${1:+, next_peer: $1}
  cat <<YAML
tenants:
  - {name: branch, prefixes: [10.1.0.0/25]}
  - {name: guests, prefixes: [10.1.0.128/25]}
services:
  - {name: web, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["80", "8000", "5201"]$np}
  - {name: iperf-udp, prefixes: [10.2.0.0/24], protocol: udp, ports: ["5201"]$np}
policies:
  - {tenant: branch, service: web}
  - {tenant: branch, service: iperf-udp}
YAML
}

# wp_conf_router NAME LAN_CIDR WORKERS NEXT_PEER WAN... -- PEER...
#   WAN  = wanN:CIDR (devices: lan is net_af_packet0, WANs follow in order)
#   PEER = name:waypoint:key
wp_conf_router() {
  local name=$1 lan=$2 w=$3 np=$4 i=1 x pn pw pk; shift 4
  echo "router:"
  echo "  name: $name"
  echo "  lan: {name: lan, device: net_af_packet0, address: $lan}"
  echo "  wan:"
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    echo "    - {name: ${1%%:*}, device: net_af_packet$i, address: ${1#*:}}"
    i=$((i + 1)); shift
  done
  shift
  wp_conf_common "$np"
  echo "peers:"
  for x in "$@"; do
    IFS=: read -r pn pw pk <<<"$x"
    echo "  - {name: $pn, waypoints: [$pw], key: \"$pk\"}"
  done
  echo "dataplane: {workers: $w, max_sessions: 65536}"
  echo "mgmt: {listen: \"127.0.0.1:$WP_MGMT_PORT\"}"
}

# wp_gen_basic_configs DIR WORKERS KEY: DIR/r1.yaml (branch) and DIR/r2.yaml (headend).
wp_gen_basic_configs() {
  wp_conf_router r1 10.1.0.1/24 "$2" r2 wan0:172.16.0.1/24 -- "r2:172.16.0.2:$3" >"$1/r1.yaml"
  wp_conf_router r2 10.2.0.1/24 "$2" "" wan0:172.16.0.2/24 -- "r1:172.16.0.1:$3" >"$1/r2.yaml"
}

# wp_check_config FILE: waypointd --check accepts it.
wp_check_config() {
  "$WAYPOINTD" --check --config "$1" >"$WP_TMP/check-$(basename "$1").log" 2>&1
}

# ------------------------------------------------------------------ #6 HA: corosync pair

# wp_corosync_conf ADDR1 ADDR2: corosync.conf for a two-node pair (knet,
# votequorum two_node + wait_for_all: a restarted corosync is not quorate
# until it has seen its peer, so waypointd takes nothing over from it).
# token 400 / consensus 500 ms: a dead node is seen in ~0.9 s (measured on
# our hosts); a dead CPG process (waypointd) in milliseconds. sched_rr (as
# corosync runs in production): on a loaded host a SCHED_OTHER corosync went
# 1.4 s unscheduled beside the busy-polling workers, lost the 400 ms token and
# the ring re-formed on its own, a membership change the test had not made.
wp_corosync_conf() {
  cat <<CONF
totem {
    version: 2
    cluster_name: wp-pair
    transport: knet
    crypto_cipher: none
    crypto_hash: none
    token: 400
    consensus: 500
}
nodelist {
    node {
        ring0_addr: $1
        nodeid: 1
        name: n1
    }
    node {
        ring0_addr: $2
        nodeid: 2
        name: n2
    }
}
quorum {
    provider: corosync_votequorum
    two_node: 1
    wait_for_all: 1
}
logging {
    to_stderr: yes
    to_syslog: no
    timestamp: on
}
system {
    sched_rr: yes
}
CONF
}

# wp_corosync_start NAME NS CONF: corosync in namespace NS with its own mount
# namespace (private /run and /var/lib/corosync under $WP_TMP/NAME);
# WP_COROSYNC_PID[NAME] is corosync's own pid (unshare and sh exec it).
declare -A WP_COROSYNC_PID
wp_corosync_start() {
  local name=$1 ns=$2 conf=$3 d=$WP_TMP/$1
  mkdir -p "$d/run" "$d/lib"
  wp_bg "$ns" "$WP_TMP/$name.log" unshare -m sh -c \
    "mount --bind $d/run /run && mount --bind $d/lib /var/lib/corosync && exec corosync -f -c $conf"
  WP_COROSYNC_PID[$name]=$WP_BG_PID
  WP_PIDS+=("$WP_BG_PID")
}

# wp_corosync_pair_start CONF: corosync csa in ra and csb in rb (wp_corosync_start),
# checked quorate on both within 30 s.
wp_cs_quorate() { wp_exec "$1" corosync-quorumtool -s 2>/dev/null | grep -q "Quorate: *Yes"; }
wp_corosync_pair_start() {
  wp_corosync_start csa ra "$1"
  wp_corosync_start csb rb "$1"
  wp_check "corosync on ra is quorate" wp_until 30 wp_cs_quorate ra
  wp_check "corosync on rb is quorate" wp_until 30 wp_cs_quorate rb
}
# wp_ha_pair_start CONF: the corosync pair, then waypointd ra (ra.yaml, ports alan/awan)
# and rb (rb.yaml, blan/bwan) with one worker each, both ready and HA-active
# (wp_finish when a router does not start).
wp_ha_pair_start() {
  wp_corosync_pair_start "$1"
  wp_router_start ra "$WP_TMP/ra.yaml" 1 alan awan
  wp_router_start rb "$WP_TMP/rb.yaml" 1 blan bwan
  local r
  for r in ra rb; do wp_check "$r ready" wp_wait_ready "$r" || wp_finish; done
  wp_check "ra active" wp_wait_ha ra state active 30
  wp_check "rb active" wp_wait_ha rb state active 30
}

# HA status of router NAME (GET /api/v1/ha), and one value by dotted path.
wp_ha_json() { wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/ha" 2>/dev/null; }
wp_ha_get() {
  wp_ha_json "$1" | "$WP_PY" -c '
import json, sys
try:
    v = json.load(sys.stdin)
    for k in sys.argv[1].split("."):
        v = v[k]
    print(str(v).lower() if isinstance(v, bool) else v)
except Exception:
    print("?")' "$2"
}
# wp_ipsec ROUTER EXPR: one Python expression over GET /api/v1/ipsec of ROUTER
# (as d; "?" when unreachable); wp_ipsec_is ROUTER EXPR VALUE: it prints VALUE.
wp_ipsec() {
  wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/ipsec" 2>/dev/null |
    "$WP_PY" -c "import json,sys
try:
    d = json.load(sys.stdin); print($2)
except Exception:
    print('?')"
}
wp_ipsec_is() { [ "$(wp_ipsec "$1" "$2")" = "$3" ]; }
# wp_wait_ha NAME KEY VALUE [SECONDS]: until the HA status shows KEY == VALUE (default 20 s).
wp_ha_is() { [ "$(wp_ha_get "$1" "$2")" = "$3" ]; }
wp_wait_ha() { wp_until "${4:-20}" wp_ha_is "$1" "$2" "$3"; }

# ------------------------------------------- #8 perf lab: wpgen over net_memif
# wpgen (tools/wpgen.cc) plays client and server ends through r1 -> r2. Every
# link is a net_memif pair (perf/vdev_compare.sh: ~10x net_af_packet on veth
# here); sockets are files in $WP_TMP, so nothing touches the network:
#   wpgen[memif0 server lan1.sock] -- r1[memif0 client | memif1 server wan.sock]
#     -- r2[memif1 client wan.sock | memif0 client lan2.sock] -- wpgen[memif1 server]
# Routers run in namespaces r1/r2 only to keep their stats ports apart.
WPGEN=${WPGEN:-$WP_REPO/build/tools/wpgen}
# net_memif, or net_af_packet on veths r1l/r1w/r2w/r2l that the caller made
# (perf/wpbench.sh compares with a kernel NAT over the same veth I/O).
WP_BENCH_DEV=${WP_BENCH_DEV:-net_memif}

# wp_bench_vdevs ROUTER WORKERS: the router's two --vdev arguments.
wp_bench_vdevs() {
  local q=$(($2 + 1))
  if [ "$WP_BENCH_DEV" = net_af_packet ]; then
    # WP_AFP_ARGS: extra af_packet devargs (#8 perf: ",framecnt=4096" for rings deeper than wpgen's window)
    echo -n "--vdev net_af_packet0,iface=$1l,qpairs=$q${WP_AFP_ARGS:-} --vdev net_af_packet1,iface=$1w,qpairs=$q${WP_AFP_ARGS:-}"
  elif [ "$1" = r1 ]; then
    echo -n "$(wp_memif lan1 client 0) $(wp_memif wan server 1)"
  else
    echo -n "$(wp_memif lan2 client 0) $(wp_memif wan client 1)"
  fi
}

# wp_memif SOCKET ROLE INDEX: one --vdev argument.
wp_memif() { echo -n "--vdev net_memif$3,role=$2,socket=$WP_TMP/$1.sock,socket-abstract=no"; }

# wp_bench_extra_waypoints ADDR PREFIX SUFFIX (#17 perf): with WP_BENCH_WAYPOINTS=N > 1, the
# N-1 extra waypoint addresses of the router whose WAN address is ADDR (172.16.0.X gets
# 172.16.0.X+10, X+20, ...), comma-separated between PREFIX and SUFFIX; nothing otherwise.
# Each router then has N waypoint addresses and lists the peer's N: N x N waypoint pairs,
# each with its own ~9.4 M port pairs (docs/operations.md § Waypoint addresses).
wp_bench_extra_waypoints() {
  local n=${WP_BENCH_WAYPOINTS:-1} i out="" base=${1%.*} last=${1##*.}
  [ "$n" -gt 1 ] || return 0
  for ((i = 1; i < n; i++)); do out+="${out:+, }$base.$((last + 10 * i))"; done
  echo -n "$2$out$3"
}

# wp_conf_bench_router NAME LAN_CIDR WAN_CIDR PEER PEER_WAYPOINT KEY WORKERS MAX_SESSIONS NEXT_PEER:
# tenant bench 10.1.0.0/16 -> service bench-udp 10.2.0.0/16 UDP 5201.
wp_conf_bench_router() {
  local np=${9:+, next_peer: $9}
  cat <<YAML
router:
  name: $1
  lan: {name: lan, device: ${WP_BENCH_DEV}0, address: $2}
  wan:
    - {name: wan0, device: ${WP_BENCH_DEV}1, address: $3$(wp_bench_extra_waypoints "${3%/*}" ", waypoint_addresses: [" "]")}
tenants:
  - {name: bench, prefixes: [10.1.0.0/16]}
services:
  - {name: bench-udp, prefixes: [10.2.0.0/16], protocol: udp, ports: ["5201"]$np}
policies:
  - {tenant: bench, service: bench-udp${WP_BENCH_SECURITY:+, security: bench-sec}}
peers:
  - {name: $4, waypoints: [$5$(wp_bench_extra_waypoints "$5" ", " "")], key: "$6"}
dataplane: {workers: $7, max_sessions: $8${WP_BENCH_DATAPLANE:+, $WP_BENCH_DATAPLANE}}
YAML
  # #8 perf: WP_BENCH_MGMT=off leaves the REST server (and its session snapshot) out.
  [ "${WP_BENCH_MGMT:-on}" = off ] || echo "mgmt: {listen: \"127.0.0.1:$WP_MGMT_PORT\"}"
  # #8 perf: WP_BENCH_SECURITY=aes256-cbc encrypts every bench session (HMAC on
  # every packet); WP_BENCH_DATAPLANE adds dataplane fields ("crypto_sessions: 4096");
  # WP_BENCH_YAML appends top-level YAML ("timeouts: {udp: 3600}").
  [ -n "${WP_BENCH_SECURITY:-}" ] &&
    printf 'security_policies:\n  - {name: bench-sec, encryption: %s, hmac: every-packet, adaptive: off}\n' "$WP_BENCH_SECURITY"
  [ -z "${WP_BENCH_YAML:-}" ] || echo "$WP_BENCH_YAML"
}

# wp_bench_pair_start WORKERS MAX_SESSIONS [EAL_MB]: configs, namespaces r1/r2,
# both routers on memif (main lcore + WORKERS workers each), waits for both.
# The memif servers must be listening first: wpgen (wp_wpgen_start) for the
# LAN sockets, then r1 for the WAN socket r2 connects to.
wp_bench_pair_start() {
  local w=$1 max=$2 mb=${3:-$WP_EAL_MEM} key i lc=""
  key=$(wp_keygen)
  wp_conf_bench_router r1 10.1.0.1/16 172.16.0.1/24 r2 172.16.0.2 "$key" "$w" "$max" r2 >"$WP_TMP/r1.yaml"
  wp_conf_bench_router r2 10.2.0.1/16 172.16.0.2/24 r1 172.16.0.1 "$key" "$w" "$max" "" >"$WP_TMP/r2.yaml"
  for i in r1 r2; do [ -e "/run/netns/$(wp_ns $i)" ] || wp_ns_add $i || return 1; done
  for ((i = 0; i <= w; i++)); do lc+="${lc:+,}$i@$((i % $(nproc)))"; done
  WP_ROUTER_LOG[r1]=$WP_TMP/r1.log
  WP_ROUTER_LOG[r2]=$WP_TMP/r2.log
  # shellcheck disable=SC2046
  wp_bg r1 "$WP_TMP/r1.log" "$WAYPOINTD" --config "$WP_TMP/r1.yaml" -- --no-huge --no-pci -m "$mb" \
    --file-prefix "wp-r1-$$" --lcores "$lc" $(wp_bench_vdevs r1 "$w")
  WP_ROUTER_PID[r1]=$WP_BG_PID
  wp_bench_wait_up r1 || return 1
  # shellcheck disable=SC2046
  wp_bg r2 "$WP_TMP/r2.log" "$WAYPOINTD" --config "$WP_TMP/r2.yaml" -- --no-huge --no-pci -m "$mb" \
    --file-prefix "wp-r2-$$" --lcores "$lc" $(wp_bench_vdevs r2 "$w")
  WP_ROUTER_PID[r2]=$WP_BG_PID
  wp_bench_wait_up r2
}

# wp_bench_wait_up NAME: REST answers, or with WP_BENCH_MGMT=off the log says "up:" (#8 perf).
wp_bench_up_try() {
  wp_alive "${WP_ROUTER_PID[$1]}" || { WP_EXITED=1; return 0; }
  grep -q "router $1 up:" "${WP_ROUTER_LOG[$1]}" 2>/dev/null
}
wp_bench_wait_up() {
  local WP_EXITED=0
  [ "${WP_BENCH_MGMT:-on}" = off ] || { wp_wait_ready "$1"; return; }
  wp_until 30 wp_bench_up_try "$1" && [ "$WP_EXITED" = 0 ]
}

wp_bench_pair_stop() { wp_router_stop r1; local a=$?; wp_router_stop r2 && [ "$a" -eq 0 ]; }

# wp_wpgen_start LOG WORKERS [wpgen options]: wpgen in the background (both
# memif servers, workers + 1 queues like the routers; WORKERS 0: one queue,
# for a plain forwarder), output to LOG; waits until its sockets exist.
# WP_WPGEN_PID is its pid; wp_wpgen_wait its status.
WP_WPGEN_PID=""
wp_wpgen_start() {
  local log=$1 w=$2 q; shift 2
  rm -f "$WP_TMP/lan1.sock" "$WP_TMP/lan2.sock"
  q=(--queues $((w + 1)) --tx-queues "$w")
  [ "$w" -eq 0 ] && q=(--queues 1 --tx-queues 1)
  # shellcheck disable=SC2046
  "$WPGEN" "${q[@]}" "$@" -- --no-huge --no-pci -m 512 --file-prefix "wp-gen-$$" \
    -l 0 --log-level=error $(wp_memif lan1 server 0) $(wp_memif lan2 server 1) >"$log" 2>&1 &
  WP_WPGEN_PID=$!
  WP_PIDS+=("$WP_WPGEN_PID")
  wp_until 30 wp_wpgen_listening && wp_alive "$WP_WPGEN_PID"
}
wp_wpgen_listening() {
  wp_alive "$WP_WPGEN_PID" || return 0
  [ -S "$WP_TMP/lan1.sock" ] && [ -S "$WP_TMP/lan2.sock" ]
}

# wp_wpgen_wait [SECONDS]: wait for wpgen to finish (default 120 s); its exit status.
wp_wpgen_wait() {
  wp_wait_exit "$WP_WPGEN_PID" "${1:-120}" || { kill -INT "$WP_WPGEN_PID"; wp_wait_exit "$WP_WPGEN_PID" 5; }
  wait "$WP_WPGEN_PID"
}

# wp_nonzero_drops NAME: "reason=count ..." of router NAME's non-zero drops.
wp_nonzero_drops() {
  wp_stats_json "$1" | "$WP_PY" -c '
import json, sys
try:
    d = json.load(sys.stdin)["drops"]
    print(" ".join(f"{k}={v}" for k, v in d.items() if v) or "none")
except Exception:
    print("unknown")'
}

# wp_json_field FILE KEY: a value from the last {"scenario":...} line of FILE
# (dotted KEY); -1 if missing.
wp_json_field() {
  grep '^{"scenario"' "$1" | tail -n 1 | "$WP_PY" -c '
import json, sys
try:
    v = json.loads(sys.stdin.read())
    for k in sys.argv[1].split("."):
        v = v[k]
    print(int(v) if isinstance(v, (int, float)) and float(v).is_integer() else v)
except Exception:
    print(-1)' "$2"
}

# ---- strongSwan as a legacy IPsec site (docs/ipsec.md, "The peer in the tests")
# charon with kernel-libipsec (user-space ESP: this kernel has no XFRM), a
# private strongswan.conf, /run and VICI socket under DIR, in namespace NS.

# wp_charon_start NS DIR LOG: starts charon (its file log at LOG) and waits
# for its VICI socket; the pid joins WP_PIDS.
wp_charon_start() {
  local ns=$1 dir=$2 log=$3
  mkdir -p "$dir/run"
  cat > "$dir/strongswan.conf" <<EOF
charon {
  load = random nonce aes gcm sha1 sha2 hmac gmp openssl kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
  plugins { vici { socket = unix://$dir/charon.vici } }
  filelog { f { path = $log
      flush_line = yes
      default = 1 } }
}
EOF
  wp_bg "$ns" "$dir/charon.out" unshare -m sh -c \
    "mount --bind $dir/run /run && STRONGSWAN_CONF=$dir/strongswan.conf exec /usr/lib/ipsec/charon"
  WP_PIDS+=("$WP_BG_PID")
  wp_until 15 test -S "$dir/charon.vici"
}

# wp_swanctl NS DIR ARGS...: swanctl against the charon of wp_charon_start.
wp_swanctl() {
  local ns=$1 dir=$2; shift 2
  timeout 20 ip netns exec "$(wp_ns "$ns")" swanctl "$@" --uri "unix://$dir/charon.vici"
}

# wp_swan_connection NAME LOCAL_ADDR REMOTE_ADDR IKE_PROPOSALS LOCAL_ID REMOTE_ID
#   CHILD LOCAL_TS REMOTE_TS ESP_PROPOSALS: one PSK connection of swanctl.conf's
# `connections` section (a site that initiates to the headend at REMOTE_ADDR).
wp_swan_connection() {
  cat <<EOF
  $1 { remote_addrs = $3
    local_addrs = $2
    version = 2
    proposals = $4
    local { auth = psk
      id = $5 }
    remote { auth = psk
      id = $6 }
    children { $7 { local_ts = $8
        remote_ts = $9
        esp_proposals = ${10} } } }
EOF
}

# wp_swan_secret NAME LOCAL_ID REMOTE_ID PSK: one entry of the `secrets` section.
wp_swan_secret() { printf '  ike-%s { id-1 = %s\n    id-2 = %s\n    secret = "%s" }\n' "$1" "$2" "$3" "$4"; }

# ---- FRR in a namespace (docs/operations.md § Routes from FRR): private
# configs, pid files, vty and zserv sockets under $WP_TMP/frr-NS (no system
# service; the daemons drop to user frr). test_bgp.sh, test_ipsec.sh.

# wp_frr_start NS DAEMON...: zebra, then the other daemons, each with
# $WP_TMP/frr-NS/DAEMON.conf (the caller writes them) and its log in
# DAEMON.log; zebra loads dplane_fpm_nl when its zebra.conf names an
# `fpm address` (FRR feeding waypointd's FIB); waits for zebra's socket.
# The pids join WP_PIDS.
wp_frr_start() {
  local ns=$1 d=$WP_TMP/frr-$1 daemon extra; shift
  mkdir -p "$d" && touch "$d/vtysh.conf" "$d/zebra.conf" && chmod 777 "$d" && chown -R frr:frr "$d" || return 1
  for daemon in zebra "$@"; do
    extra=()
    [ "$daemon" = zebra ] && grep -q '^fpm address' "$d/zebra.conf" && extra=(-M dplane_fpm_nl)
    [ "$daemon" = bfdd ] && extra=(--bfdctl "$d/bfdd.sock")
    wp_bg "$ns" "$d/$daemon.out" "/usr/lib/frr/$daemon" -u frr -g frr "${extra[@]}" -f "$d/$daemon.conf" \
      -i "$d/$daemon.pid" -z "$d/zserv.api" --vty_socket "$d" -P 0 --log "file:$d/$daemon.log"
    WP_PIDS+=("$WP_BG_PID")
    if [ "$daemon" = zebra ]; then wp_until 20 test -S "$d/zserv.api" || return 1; fi
  done
}

# wp_vty NS ARGS...: vtysh against the daemons of wp_frr_start NS.
wp_vty() { local ns=$1; shift; vtysh --vty_socket "$WP_TMP/frr-$ns" --config_dir "$WP_TMP/frr-$ns" "$@" 2>/dev/null; }
# wp_vty_conf NS -c CMD...: configuration commands (after `configure terminal`), output to $WP_TMP/vtysh.log.
wp_vty_conf() { local ns=$1; shift; wp_vty "$ns" -c "configure terminal" "$@" >>"$WP_TMP/vtysh.log"; }
# wp_bgp_peer NS NEIGHBOR FIELD: a field of NEIGHBOR in `show bgp summary json` ("none").
wp_bgp_peer() { wp_vty "$1" -c "show bgp summary json" | "$WP_PY" "$WP_E2E/bgp_check.py" peer "$2" "$3"; }
# wp_bgp_established NS NEIGHBOR: NS's BGP session to NEIGHBOR is Established.
wp_bgp_established() { [ "$(wp_bgp_peer "$1" "$2" state)" = Established ]; }
