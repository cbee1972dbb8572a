# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # build, here, results, QUICK, emit, WP_*: set by perf/wpbench.sh and lib.sh (and read there)
# wpbench "peers": the same job done by Waypoint and by what a user would run
# instead, one router each, the same wpgen load on the same ports, in one run:
#
#   net_memif:     wpgen -> {waypointd breakout | OVS-DPDK ct(commit,nat)} -> wpgen
#   af_packet/veth: wpgen -> {waypointd breakout | Linux nftables masquerade} -> wpgen
#
# The job: UDP sessions from a tenant (10.1.0.0/16) to servers (10.2.0.0/16)
# leave source-NATed to the WAN address 10.2.0.1, replies are translated back
# (docs/operations.md § Breakout). wpgen --server-snat checks each reply.
# Each router gets one forwarding core (waypointd: 1 worker on CPU 1; OVS: one
# PMD on CPU 1; the kernel: whatever softirq takes). wpgen runs on CPU 0.
#
# Per router: new sessions/s and established Mpps at 64 B (wpgen setup and
# steady phases), Gbit/s at 1400 B, sessions held by the router at the end,
# memory per session, drops. Memory per session is measured the way each
# router spends it:
#   waypointd  preallocates its table at start, so (RSS with max_sessions N)
#              - (RSS with max_sessions 1024), over N; plus the RSS growth
#              while the sessions were opened;
#   OVS-DPDK   allocates conntrack entries as they come: RSS growth over the
#              connections it holds;
#   nftables   the kernel's nf_conntrack slab object size (/proc/slabinfo), a
#              lower bound (the NAT extension and hash buckets come on top).
# One JSON line per router and size, then one comparison line per peer
# (Waypoint's figure beside the peer's, with ratios) for perf/plot_peers.py.

PEERS_SESSIONS=50000
PEERS_BIG_SESSIONS=2000  # 1400 B frames: fewer sessions, the steady phase is what counts
PEERS_STEADY=5
[ "$QUICK" = 1 ] && PEERS_SESSIONS=5000 && PEERS_STEADY=2
PEERS_LOAD=(--clients 100 --services 10 --window 1024)

peers_rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# peers_conf DEV MAX: one waypointd doing internet breakout for the bench tenant.
# crypto_sessions 2048: breakout sessions never encrypt (no SVR leg), so the
# default key slab of max_sessions / 8 slots (~600 B each) would be memory no
# peer spends; a breakout-only router is configured the same way (as fill does).
peers_conf() {
  cat <<YAML
router:
  name: r1
  lan: {name: lan, device: ${1}0, address: 10.1.0.1/16}
  wan:
    - {name: wan0, device: ${1}1, address: 10.2.0.1/16}
tenants:
  - {name: bench, prefixes: [10.1.0.0/16]}
services:
  - {name: internet, prefixes: [10.2.0.0/16], protocol: udp, ports: ["5201"], breakout: {interface: wan0}}
policies:
  - {tenant: bench, service: internet}
dataplane: {workers: 1, max_sessions: $2, crypto_sessions: 2048}
mgmt: {listen: "127.0.0.1:$WP_MGMT_PORT"}
YAML
}

# peers_wp_start DEV MAX: waypointd r1 (main lcore on CPU 0, its worker on CPU 1).
peers_wp_start() {
  local dev=$1 vdevs
  peers_conf "$dev" "$2" >"$WP_TMP/peers-r1.yaml"
  if [ "$dev" = net_memif ]; then
    vdevs="$(wp_memif lan1 client 0) $(wp_memif lan2 client 1)"
  else
    vdevs="--vdev net_af_packet0,iface=r1l,qpairs=2${WP_AFP_ARGS:-} --vdev net_af_packet1,iface=r1w,qpairs=2${WP_AFP_ARGS:-}"
  fi
  [ -e "/run/netns/$(wp_ns r1)" ] || wp_ns_add r1 || return 1
  WP_ROUTER_LOG[r1]=$WP_TMP/peers-r1.log
  # shellcheck disable=SC2086
  wp_bg r1 "$WP_TMP/peers-r1.log" "$WAYPOINTD" --config "$WP_TMP/peers-r1.yaml" -- --no-huge --no-pci \
    -m "$WP_EAL_MEM" --file-prefix "wp-peers-$$" --lcores '0@0,1@1' $vdevs
  WP_ROUTER_PID[r1]=$WP_BG_PID
  wp_wait_ready r1
}

# peers_wp_idle_rss_kb DEV: RSS of a waypointd with a 1024-session table (the fixed part).
peers_wp_idle_rss_kb() {
  local kb
  [ "$1" = net_memif ] && { wp_wpgen_start "$WP_TMP/peers-idle.out" 1 --sessions 1 --timeout 30 || return 1; }
  peers_wp_start "$1" 1024 || { wp_router_stop r1; return 1; }
  kb=$(peers_rss_kb "${WP_ROUTER_PID[r1]}")
  wp_router_stop r1
  [ "$1" = net_memif ] && { kill -INT "$WP_WPGEN_PID" 2>/dev/null; wp_wpgen_wait 10; }
  echo "$kb"
}

# peers_result OUT ROUTER IO SIZE EXTRA_JSON: the router's JSON line from wpgen's report in OUT.
peers_result() {
  "$WP_PY" - "$@" <<'PY'
import json, sys
out, router, io, size, extra = sys.argv[1:6]
try:
    g = [json.loads(l) for l in open(out) if l.startswith('{"scenario"')][-1]
except (OSError, IndexError):
    g = {}
size = int(size)
r = {"router": router, "io": io, "size": size, "workers": 1, "sessions": g.get("sessions"),
     "established": g.get("established"), "lost": g.get("lost"), "setup_per_s": g.get("setup_per_s"),
     "mpps": g.get("mpps"), "setup_rtt_us": g.get("setup_rtt_us"), "steady_rtt_us": g.get("steady_rtt_us")}
if g.get("mpps"):
    r["gbps"] = round(g["mpps"] * size * 8 / 1e3, 3)  # frames received by wpgen's two ends, with FCS
r.update(json.loads(extra))
print(json.dumps(r, separators=(",", ":")))
PY
}

# ------------------------------------------------ waypointd breakout
# peers_waypoint DEV SIZE SESSIONS IDLE_KB: one wpgen run through waypointd; its JSON line.
peers_waypoint() {
  local dev=$1 size=$2 n=$3 idle=$4 out=$WP_TMP/peers-wp-$1-$2.out rss0 rss1 held drops extra
  local max=$((n + n / 8 + 1024))
  if [ "$dev" = net_memif ]; then
    wp_wpgen_start "$out" 1 --server-snat --sessions "$n" --duration "$PEERS_STEADY" --size "$size" \
      "${PEERS_LOAD[@]}" --label "peers-waypoint-$dev-$size" || { wp_fail "wpgen start (waypoint $dev)"; return 1; }
  fi
  peers_wp_start "$dev" "$max" || { wp_fail "waypointd start ($dev)"; wp_router_stop r1; return 1; }
  rss0=$(peers_rss_kb "${WP_ROUTER_PID[r1]}")
  if [ "$dev" = net_memif ]; then
    wp_wpgen_wait 600 || wp_fail "wpgen through waypointd ($dev, $size B)"
  else
    af_packet_wpgen "$out" --server-snat --sessions "$n" --duration "$PEERS_STEADY" --size "$size" \
      "${PEERS_LOAD[@]}" --label "peers-waypoint-$dev-$size" || wp_fail "wpgen through waypointd ($dev, $size B)"
  fi
  rss1=$(peers_rss_kb "${WP_ROUTER_PID[r1]}")
  held=$(wp_stat r1 sessions.active)
  drops=$(wp_nonzero_drops r1)
  wp_router_stop r1 || wp_fail "waypointd exit ($dev)"
  grep -v '^{' "$out" | sed 's/^/    /'
  echo "    waypointd: held $held, RSS ${rss0} -> ${rss1} kB (idle table: ${idle} kB), drops: $drops"
  extra=$("$WP_PY" -c '
import json, sys
held, rss0, rss1, idle, mx, drops = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
d = {"held": held, "max_sessions": mx, "rss_bytes": rss1 * 1024, "rss_growth_bytes": (rss1 - rss0) * 1024,
     "drops": {k: int(v) for k, v in (kv.split("=") for kv in drops.split() if "=" in kv)}}
if held > 0 and idle > 0:
    # the table for max_sessions is allocated up front: its cost over the sessions held, plus growth
    d["bytes_per_session"] = round(((rss0 - idle) + max(rss1 - rss0, 0)) * 1024 / held, 1)
    d["bytes_per_session_how"] = "(RSS at start with max_sessions - RSS with 1024) + RSS growth, over sessions held"
print(json.dumps(d))' "${held:--1}" "$rss0" "$rss1" "${idle:-0}" "$max" "$drops")
  peers_result "$out" waypoint "$dev" "$size" "$extra"
}

# ------------------------------------------------ OVS-DPDK conntrack NAT
PEERS_OVS=""
peers_ovs_start() {  # memif ports as clients of wpgen's sockets; NAT flows first, then the ports
  local b=$WP_TMP/ovs
  rm -rf "$b" && mkdir -p "$b" || return 1
  PEERS_OVS=$b
  export OVS_RUNDIR=$b OVS_DBDIR=$b OVS_LOGDIR=$b
  ovsdb-tool create "$b/conf.db" /usr/share/openvswitch/vswitch.ovsschema &&
    ovsdb-server "$b/conf.db" --remote="punix:$b/db.sock" --unixctl="$b/ovsdb-server.ctl" \
      --pidfile="$b/ovsdb-server.pid" --log-file="$b/ovsdb-server.log" --detach --no-chdir >/dev/null 2>&1 || return 1
  WP_PIDS+=("$(cat "$b/ovsdb-server.pid")")  # detached daemons: the EXIT trap kills them too
  peers_vsctl --no-wait init &&
    peers_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
      "other_config:dpdk-extra=--no-huge --legacy-mem --no-pci -m $WP_EAL_MEM --file-prefix wp-ovs-$$" \
      other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 other_config:pmd-maxsleep=0 || return 1
  /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk "unix:$b/db.sock" --unixctl="$b/ovs-vswitchd.ctl" \
    --pidfile="$b/ovs-vswitchd.pid" --log-file="$b/ovs-vswitchd.log" --detach --no-chdir >/dev/null 2>&1 || return 1
  WP_PIDS+=("$(peers_ovs_pid)")
  peers_vsctl add-br brnat -- set bridge brnat datapath_type=netdev fail_mode=secure || return 1
  # New flows commit with SNAT and forward only +snat (forwarding right after commit
  # leaks un-NATed packets when the table is full); replies need +est.
  cat >"$b/flows" <<'FLOWS'
table=0,priority=10,in_port=1,ip,actions=ct(zone=1,nat,table=1)
table=0,priority=10,in_port=2,ip,actions=ct(zone=1,nat,table=2)
table=0,priority=0,actions=drop
table=1,priority=10,ct_state=+new+trk,ip,actions=ct(commit,zone=1,nat(src=10.2.0.1:1024-65535),table=3)
table=1,priority=10,ct_state=+est+trk,ip,actions=output:2
table=1,priority=0,actions=drop
table=3,priority=10,ct_state=+trk+snat,actions=output:2
table=3,priority=0,actions=drop
table=2,priority=10,ct_state=+est+trk,ip,actions=output:1
table=2,priority=0,actions=drop
FLOWS
  ovs-ofctl -O OpenFlow13 add-flows brnat "$b/flows" || return 1
  peers_vsctl add-port brnat pc -- set Interface pc type=dpdk options:n_rxq=1 \
    "options:dpdk-devargs=net_memif0,role=client,socket=$WP_TMP/lan1.sock,socket-abstract=no" ofport_request=1 &&
    peers_vsctl add-port brnat ps -- set Interface ps type=dpdk options:n_rxq=1 \
      "options:dpdk-devargs=net_memif1,role=client,socket=$WP_TMP/lan2.sock,socket-abstract=no" ofport_request=2
}
peers_vsctl() { ovs-vsctl --db="unix:$PEERS_OVS/db.sock" "$@"; }
peers_ovs_appctl() { ovs-appctl -t "$PEERS_OVS/$1.ctl" "${@:2}"; }
peers_ovs_pid() { cat "$PEERS_OVS/ovs-vswitchd.pid" 2>/dev/null; }
peers_ovs_stop() {
  [ -n "$PEERS_OVS" ] || return 0
  local pid
  pid=$(peers_ovs_pid)
  peers_ovs_appctl ovs-vswitchd exit >/dev/null 2>&1
  [ -n "$pid" ] && { wp_wait_exit "$pid" 15 || kill -9 "$pid" 2>/dev/null; }
  peers_ovs_appctl ovsdb-server exit >/dev/null 2>&1
  PEERS_OVS=""
}

# peers_ovs SIZE SESSIONS: one wpgen run through OVS-DPDK; its JSON line.
peers_ovs() {
  local size=$1 n=$2 out=$WP_TMP/peers-ovs-$1.out rss0 rss1 held pid stats extra
  wp_wpgen_start "$out" 1 --no-arp --server-snat --sessions "$n" --duration "$PEERS_STEADY" --size "$size" \
    "${PEERS_LOAD[@]}" --label "peers-ovs-$size" || { wp_fail "wpgen start (ovs)"; return 1; }
  peers_ovs_start || { wp_fail "OVS-DPDK start (see $WP_TMP/ovs/ovs-vswitchd.log)"; peers_ovs_stop; return 1; }
  pid=$(peers_ovs_pid)
  rss0=$(peers_rss_kb "$pid")
  wp_wpgen_wait 600 || wp_fail "wpgen through OVS-DPDK ($size B)"
  rss1=$(peers_rss_kb "$pid")
  if ! wp_alive "$pid"; then
    wp_fail "ovs-vswitchd exited during the $size B run; its log:"
    tail -n 20 "$PEERS_OVS/ovs-vswitchd.log" | sed 's/^/    /'
  fi
  held=$(peers_ovs_appctl ovs-vswitchd dpctl/ct-stats-show 2>/dev/null | awk '/Total:/ {print $2; exit}')
  stats=$(for i in pc ps; do echo -n "$i $(peers_vsctl get Interface $i statistics) "; done)
  peers_ovs_stop
  grep -v '^{' "$out" | sed 's/^/    /'
  echo "    ovs-dpdk: held ${held:-?} conntrack entries, RSS ${rss0} -> ${rss1} kB"
  extra=$("$WP_PY" -c '
import json, re, sys
held, rss0, rss1 = int(sys.argv[1] or -1), int(sys.argv[2]), int(sys.argv[3])
drops = {}
for port, body in re.findall(r"(\w+) \{([^}]*)\}", sys.argv[4]):
    for k, v in re.findall(r"(\w*drop\w*|\w*error\w*)=(\d+)", body):
        if int(v):
            drops[f"{port}.{k}"] = int(v)
d = {"held": held, "rss_bytes": rss1 * 1024, "rss_growth_bytes": (rss1 - rss0) * 1024, "drops": drops}
if held > 0:
    d["bytes_per_session"] = round(max(rss1 - rss0, 0) * 1024 / held, 1)
    d["bytes_per_session_how"] = "RSS growth over conntrack entries held"
print(json.dumps(d))' "${held:-}" "$rss0" "$rss1" "$stats")
  peers_result "$out" ovs-dpdk net_memif "$size" "$extra"
}

# ------------------------------------------------ Linux nftables masquerade (af_packet on veth)
peers_afp_topology() {  # KIND: nat (scenario_nft's) | waypoint: gen[c0] -- r1l[r1]r1w -- gen[s0]
  if [ "$1" = nat ]; then af_packet_topology nat; return; fi
  wp_remove_ns_list gen nat r1 r2
  wp_ns_add gen r1 && wp_veth gen c0 r1 r1l && wp_veth gen s0 r1 r1w
}

peers_nft() {  # SIZE SESSIONS: one wpgen run through nftables; its JSON line
  local size=$1 n=$2 out=$WP_TMP/peers-nft-$1.out held obj extra
  af_packet_wpgen "$out" --server-snat --sessions "$n" --duration "$PEERS_STEADY" --size "$size" \
    "${PEERS_LOAD[@]}" --label "peers-nft-$size" || wp_fail "wpgen through nftables ($size B)"
  held=$(wp_exec nat cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null)
  obj=$(awk '$1 == "nf_conntrack" {print $4}' /proc/slabinfo 2>/dev/null)
  grep -v '^{' "$out" | sed 's/^/    /'
  echo "    nftables: held ${held:-?} conntrack entries, nf_conntrack object ${obj:-?} B"
  extra=$("$WP_PY" -c '
import json, sys
held, obj = int(sys.argv[1] or -1), int(sys.argv[2] or 0)
d = {"held": held}
if obj:
    d["bytes_per_session"] = obj
    d["bytes_per_session_how"] = "nf_conntrack slab object size, a lower bound (NAT extension and hash buckets extra)"
print(json.dumps(d))' "${held:-}" "${obj:-}")
  peers_result "$out" nftables net_af_packet "$size" "$extra"
}

# peers_compare IO PEER FILE: Waypoint's lines beside the peer's, ratios (Waypoint / peer).
peers_compare() {
  "$WP_PY" - "$@" <<'PY'
import json, sys
io, peer, path = sys.argv[1:4]
lines = [json.loads(l) for l in open(path) if l.strip()]
def get(router, size):
    m = [l for l in lines if l.get("router") == router and l.get("io") == io and l.get("size") == size]
    return m[-1] if m else {}
w64, p64, wbig, pbig = get("waypoint", 64), get(peer, 64), get("waypoint", 1400), get(peer, 1400)
r = {"io": io, "peer": peer, "comparison": True,
     "setup_per_s": w64.get("setup_per_s"), "peer_setup_per_s": p64.get("setup_per_s"),
     "mpps": w64.get("mpps"), "peer_mpps": p64.get("mpps"),
     "gbps_1400": wbig.get("gbps"), "peer_gbps_1400": pbig.get("gbps"),
     "held": w64.get("held"), "peer_held": p64.get("held"),
     "bytes_per_session": w64.get("bytes_per_session"), "peer_bytes_per_session": p64.get("bytes_per_session"),
     "lost": w64.get("lost"), "peer_lost": p64.get("lost")}
for k in ("setup_per_s", "mpps", "gbps_1400", "bytes_per_session"):
    a, b = r.get(k), r.get("peer_" + k)
    if a and b:
        r["ratio_" + k] = round(a / b, 3)
print(json.dumps(r, separators=(",", ":")))
PY
}

# peers_collect FILE CMD...: runs one router's measurement in this shell (its
# failures and pids must count); its report is printed, its JSON line appended to FILE.
peers_collect() {
  local file=$1 tmp=$WP_TMP/peers-one.out; shift
  "$@" >"$tmp" 2>&1
  grep -v '^{' "$tmp"
  grep '^{' "$tmp" >>"$file"
  rm -f "$tmp"
}

scenario_peers() {
  local lines=$WP_TMP/peers-lines.json idle size n l
  : >"$lines"
  echo "-- net_memif: waypointd breakout vs OVS-DPDK ct(commit,nat), $PEERS_SESSIONS sessions, 1 forwarding core each"
  wp_remove_ns_list gen nat r1 r2
  idle=$(peers_wp_idle_rss_kb net_memif) || wp_fail "waypointd idle RSS (memif)"
  for size in 64 1400; do
    n=$PEERS_SESSIONS
    [ "$size" = 1400 ] && n=$PEERS_BIG_SESSIONS
    echo "  waypointd breakout, $size B:"
    peers_collect "$lines" peers_waypoint net_memif "$size" "$n" "$idle"
    echo "  OVS-DPDK, $size B:"
    peers_collect "$lines" peers_ovs "$size" "$n"
  done
  local WP_AFP_ARGS=${WP_AFP_ARGS-,framecnt=4096}
  n=$((PEERS_SESSIONS / 2))
  echo "-- net_af_packet on veth: waypointd breakout vs nftables masquerade, $n sessions"
  for size in 64 1400; do
    [ "$size" = 1400 ] && n=$PEERS_BIG_SESSIONS
    if peers_afp_topology waypoint; then
      [ "$size" = 64 ] && { idle=$(peers_wp_idle_rss_kb net_af_packet) || wp_fail "waypointd idle RSS (af_packet)"; }
      echo "  waypointd breakout, $size B:"
      peers_collect "$lines" peers_waypoint net_af_packet "$size" "$n" "$idle"
    else
      wp_fail "af_packet topology for waypointd"
    fi
    if peers_afp_topology nat; then
      echo "  nftables, $size B:"
      peers_collect "$lines" peers_nft "$size" "$n"
    else
      wp_fail "af_packet topology for nftables"
    fi
  done
  wp_remove_ns_list gen nat r1 r2
  while read -r l; do emit peers "$l"; done <"$lines"
  l=$(peers_compare net_memif ovs-dpdk "$lines") && emit peers "$l"
  l=$(peers_compare net_af_packet nftables "$lines") && emit peers "$l"
  peers_table "$lines"
}

peers_table() {  # FILE: the per-router lines as one table
  "$WP_PY" - "$1" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def f(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "-"
print(f"  {'io':<14}{'router':<10}{'size':>5}{'setup/s':>10}{'Mpps':>8}{'Gbit/s':>8}{'held':>8}{'B/sess':>8}{'lost':>7}")
for l in lines:
    print(f"  {l['io']:<14}{l['router']:<10}{l['size']:>5}{f(l.get('setup_per_s'), '.0f'):>10}{f(l.get('mpps'), '.3f'):>8}"
          f"{f(l.get('gbps'), '.2f'):>8}{f(l.get('held'), 'd'):>8}{f(l.get('bytes_per_session'), '.0f'):>8}{f(l.get('lost'), 'd'):>7}")
PY
}
