# shellcheck shell=bash
# shellcheck disable=SC2154  # build, here, results, root: set by perf/wpbench.sh
# wpbench scenario functions (sourced by perf/wpbench.sh, which sets $build,
# $here, $results, $QUICK, emit and the lib.sh environment).

# pick FILE JSON_EXTRA KEY...: an object of KEYs from FILE's last
# {"scenario":...} line, merged with JSON_EXTRA ("{}" when none).
pick() {
  local f=$1 extra=$2; shift 2
  grep '^{"scenario"' "$f" 2>/dev/null | tail -n 1 | "$WP_PY" -c '
import json, sys
src = sys.stdin.read().strip()
d = json.loads(src) if src else {}
out = {k: d.get(k) for k in sys.argv[2:]}
out.update(json.loads(sys.argv[1]))
print(json.dumps(out, separators=(",", ":")))' "$extra" "$@"
}

# wpgen load shared by the end-to-end runs: sessions, steady seconds.
E2E_SESSIONS=50000
E2E_STEADY=5
[ "$QUICK" = 1 ] && E2E_SESSIONS=5000 && E2E_STEADY=2
WPGEN_LOAD=(--clients 100 --services 10 --window 1024 --size 64)

# svr_pair_run OUT WORKERS [wpgen options]: wpgen -> r1 -> r2 -> wpgen on
# net_memif; wpgen's report in OUT, the routers' drops printed.
svr_pair_run() {
  local out=$1 w=$2; shift 2
  wp_wpgen_start "$out" "$w" "$@" || { wp_fail "wpgen start ($out)"; return 1; }
  WP_BENCH_DEV=net_memif wp_bench_pair_start "$w" $((E2E_SESSIONS * 2)) || { wp_fail "routers start ($out)"; return 1; }
  wp_wpgen_wait 600 || wp_fail "wpgen exit status ($out)"
  echo "  router drops: r1 $(wp_nonzero_drops r1); r2 $(wp_nonzero_drops r2)"
  wp_stats_json r1 >"$out.r1.json"
  wp_bench_pair_stop || wp_fail "routers exit ($out)"
}

# ------------------------------------------------------------ 0. vdev
scenario_vdev() {
  local l
  "$here/vdev_compare.sh" 5 64 >"$WP_TMP/vdev.out" 2>&1 || wp_fail "vdev_compare.sh"
  grep -v '^{' "$WP_TMP/vdev.out" | sed 's/^/  /'
  while read -r l; do emit vdev "$l"; done < <(grep '^{"scenario":"vdev"' "$WP_TMP/vdev.out")
}

# ------------------------------------------------------------ 1. setup
scenario_setup() {
  local n=1000000 w f
  [ "$QUICK" = 1 ] && n=200000
  echo "-- in-process: perf/run_foundation.sh --sessions $n (1 worker, net_null, testpmd in the same run)"
  NO_APPEND=1 BUILD_DIR=$build "$here/run_foundation.sh" --sessions "$n" >"$WP_TMP/foundation.out" 2>"$WP_TMP/foundation.err"
  grep -v '^{' "$WP_TMP/foundation.out" | sed 's/^/  /'
  grep '^{"scenario":"foundation"' "$WP_TMP/foundation.out" >"$WP_TMP/foundation.json"
  emit setup "$(pick "$WP_TMP/foundation.json" '{"path":"in-process, net_null copy=1","baseline":"dpdk-testpmd io-fwd net_null"}' \
    workers sessions setup_per_s setup_per_cpu_s mpps mpps_cpu testpmd_mpps ratio_vs_testpmd ratio_cpu_vs_testpmd)"
  for w in 1 2; do
    f=$WP_TMP/svr-memif-w$w.out
    echo "-- end to end: wpgen -> r1 -> r2 -> wpgen, net_memif, $w worker(s) per router, $E2E_SESSIONS sessions"
    WP_BENCH_DEV=net_memif svr_pair_run "$f" "$w" --sessions "$E2E_SESSIONS" --duration "$E2E_STEADY" \
      "${WPGEN_LOAD[@]}" --label "svr-memif-w$w"
    grep -v '^{' "$f" | sed 's/^/  /'
    emit setup "$(pick "$f" "{\"workers\":$w,\"path\":\"wpgen-r1-r2-wpgen net_memif (2 routers + wpgen on 2 shared CPUs)\"}" \
      sessions established setup_per_s mpps lost setup_rtt_us steady_rtt_us)"
  done
}

# ------------------------------------------------------------ 2. baseline
testpmd_memif_run() {  # OUT: wpgen through dpdk-testpmd io-fwd between its two memif ports
  local out=$1 tp
  wp_wpgen_start "$out" 0 --no-arp --sessions "$E2E_SESSIONS" --duration "$E2E_STEADY" \
    "${WPGEN_LOAD[@]}" --label testpmd-memif || return 1
  rm -f "$WP_TMP/tp.in"
  mkfifo "$WP_TMP/tp.in"
  exec 4<>"$WP_TMP/tp.in"
  # shellcheck disable=SC2046
  dpdk-testpmd --no-huge --no-pci -m 512 --lcores '0@1,1@1' --file-prefix "wp-tp-$$" --log-level=error \
    $(wp_memif lan1 client 0) $(wp_memif lan2 client 1) -- --forward-mode=io --auto-start \
    --total-num-mbufs=16384 <&4 >"$WP_TMP/testpmd.log" 2>&1 &
  tp=$!
  WP_PIDS+=("$tp")
  if ! wp_wpgen_wait 300; then
    wp_fail "wpgen through testpmd ($out)"
    tail -n 5 "$out" "$WP_TMP/testpmd.log" | sed 's/^/  /'
  fi
  wp_kill "$tp" INT
  exec 4>&-
  rm -f "$WP_TMP/tp.in"
}

# Veth topology for the kernel-NAT comparison (same I/O for both sides):
#   gen[c0] -- nat[n0 10.1.0.1/16 | n1 10.2.0.1/16 masquerade] -- gen[s0]
#   gen[c0] -- r1l[r1]r1w -- r2w[r2]r2l -- gen[s0]          (SVR pair)
af_packet_topology() {  # KIND: nat | svr
  wp_remove_ns_list gen nat r1 r2
  wp_ns_add gen || return 1
  if [ "$1" = nat ]; then
    wp_ns_add nat && wp_veth gen c0 nat n0 && wp_veth gen s0 nat n1 || return 1
    wp_addr nat n0 10.1.0.1/16 && wp_addr nat n1 10.2.0.1/16 || return 1
    wp_exec nat sysctl -qw net.ipv4.ip_forward=1
    wp_exec nat nft -f - <<'NFT' || return 1
table ip wpbench {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "n1" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "n0" oifname "n1" ip daddr 10.2.0.0/16 udp dport 5201 accept
  }
}
NFT
  else
    wp_ns_add r1 r2 && wp_veth gen c0 r1 r1l && wp_veth r1 r1w r2 r2w && wp_veth r2 r2l gen s0 || return 1
  fi
}

wp_remove_ns_list() {
  local n ns pid
  for n in "$@"; do
    ns=$(wp_ns "$n")
    ip netns list | awk '{print $1}' | grep -qx "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns"
  done
}

af_packet_wpgen() {  # OUT [wpgen options]: wpgen in ns gen on c0/s0, foreground
  local out=$1; shift
  wp_exec gen "$WPGEN" --queues 1 --tx-queues 1 "$@" -- --no-huge --no-pci -m 512 --file-prefix "wp-gen-$$" -l 0 \
    --log-level=error --vdev "net_af_packet0,iface=c0${WP_AFP_ARGS:-}" --vdev "net_af_packet1,iface=s0${WP_AFP_ARGS:-}" >"$out" 2>&1
}

scenario_baseline() {
  local f tp=$WP_TMP/testpmd-memif.out n nat svr
  [ -s "$WP_TMP/foundation.json" ] || NO_APPEND=1 BUILD_DIR=$build "$here/run_foundation.sh" \
    --sessions "$([ "$QUICK" = 1 ] && echo 200000 || echo 1000000)" >"$WP_TMP/foundation.out" 2>&1
  grep '^{"scenario":"foundation"' "$WP_TMP/foundation.out" >"$WP_TMP/foundation.json"
  emit baseline "$(pick "$WP_TMP/foundation.json" '{"path":"in-process, net_null copy=1","baseline":"dpdk-testpmd io-fwd, net_null copy=1, 1 core"}' \
    workers sessions mpps testpmd_mpps ratio_vs_testpmd mpps_cpu testpmd_mpps_cpu ratio_cpu_vs_testpmd)"
  # testpmd before and after the SVR pair (this VM's load drifts within a run).
  echo "-- wpgen through dpdk-testpmd io-fwd on the same memif links (before and after the SVR pair)"
  testpmd_memif_run "$tp.1"
  f=$WP_TMP/svr-memif-baseline.out
  svr_pair_run "$f" 1 --sessions "$E2E_SESSIONS" --duration "$E2E_STEADY" "${WPGEN_LOAD[@]}" --label svr-memif-w1
  testpmd_memif_run "$tp.2"
  grep -v '^{' "$tp.1" | sed 's/^/  /'
  "$WP_PY" - "$f" "$tp.1" "$tp.2" >"$WP_TMP/ratio.json" <<'PY'
import json, sys
def last(p):
    try:
        return [json.loads(l) for l in open(p) if l.startswith('{"scenario"')][-1]
    except (OSError, IndexError):
        return {}
s, t1, t2 = last(sys.argv[1]), last(sys.argv[2]), last(sys.argv[3])
tp = [t["mpps"] for t in (t1, t2) if t.get("mpps")]
tmean = sum(tp) / len(tp) if tp else None
print(json.dumps({"workers": 1, "sessions": s.get("sessions"), "path": "wpgen-r1-r2-wpgen net_memif",
    "baseline": "dpdk-testpmd io-fwd between the same wpgen memif ports (mean of a run before and after)",
    "mpps": s.get("mpps"), "testpmd_mpps": tmean, "testpmd_mpps_runs": tp,
    "ratio_vs_testpmd": round(s["mpps"] / tmean, 4) if tmean and s.get("mpps") else None,
    "setup_per_s": s.get("setup_per_s"), "testpmd_setup_per_s": [t.get("setup_per_s") for t in (t1, t2)]},
    separators=(",", ":")))
PY
  emit baseline "$(cat "$WP_TMP/ratio.json")"
  scenario_nft
}

# wp_handoff_counters NAME: the router's handoff counters (dispatcher backpressure).
wp_handoff_counters() {
  wp_stats_json "$1" | "$WP_PY" -c '
import json, sys
try:
    d = json.load(sys.stdin)
    c = d.get("counters", d)
    print(" ".join(f"{k}={c.get(k, 0)}" for k in ("rx_packets", "handoff_out", "handoff_in", "handoff_held")))
except Exception:
    print("unknown")'
}

# 2b. setup rate vs Linux nftables on af_packet veth (also: perf/wpbench.sh nft)
scenario_nft() {
  local n nat svr
  n=$((E2E_SESSIONS / 2))
  # Rings deeper than wpgen's window of 1024 (the default 512 frames lost
  # requests at wpgen's own sockets; perf/README.md), for both sides alike.
  local WP_AFP_ARGS=${WP_AFP_ARGS-,framecnt=4096}
  echo "-- nftables conntrack + masquerade vs the SVR pair, wpgen over net_af_packet on veth, $n sessions"
  nat=$WP_TMP/nft.out
  svr=$WP_TMP/svr-afp.out
  if af_packet_topology nat; then
    af_packet_wpgen "$nat" --server-snat --sessions "$n" --duration 0 "${WPGEN_LOAD[@]}" --label nft-masquerade ||
      wp_fail "wpgen through nftables"
    grep -v '^{' "$nat" | sed 's/^/  /'
    grep '^{"scenario"' "$nat" | sed 's/^/  /' | cut -c1-2000
    echo "  nat conntrack entries: $(wp_exec nat cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null)"
  else
    wp_fail "nftables topology"
  fi
  if af_packet_topology svr; then
    WP_BENCH_DEV=net_af_packet wp_bench_pair_start 1 $((n * 2)) &&
      af_packet_wpgen "$svr" --sessions "$n" --duration 0 "${WPGEN_LOAD[@]}" --label svr-af-packet ||
      wp_fail "wpgen through the SVR pair on af_packet"
    echo "  router drops: r1 $(wp_nonzero_drops r1); r2 $(wp_nonzero_drops r2)"
    echo "  handoff: r1 $(wp_handoff_counters r1); r2 $(wp_handoff_counters r2)"
    WP_BENCH_DEV=net_af_packet wp_bench_pair_stop
    grep -v '^{' "$svr" | sed 's/^/  /'
    grep '^{"scenario"' "$svr" | sed 's/^/  /' | cut -c1-2000  # port counters: where packets were lost
  else
    wp_fail "af_packet SVR topology"
  fi
  "$WP_PY" - "$svr" "$nat" >"$WP_TMP/ratio-nft.json" <<'PY'
import json, sys
def last(p):
    try:
        return [json.loads(l) for l in open(p) if l.startswith('{"scenario"')][-1]
    except (OSError, IndexError):
        return {}
s, n = last(sys.argv[1]), last(sys.argv[2])
r = {"workers": 1, "sessions": s.get("sessions"), "path": "wpgen-r1-r2-wpgen net_af_packet on veth (2 routers)",
     "baseline": "Linux nftables conntrack + masquerade in a netns, same wpgen and veth I/O",
     "setup_per_s": s.get("setup_per_s"), "baseline_setup_per_s": n.get("setup_per_s"),
     "established": s.get("established"), "baseline_established": n.get("established"),
     "setup_rtt_us": s.get("setup_rtt_us"), "baseline_setup_rtt_us": n.get("setup_rtt_us")}
if s.get("setup_per_s") and n.get("setup_per_s"):
    r["ratio_vs_nft"] = round(s["setup_per_s"] / n["setup_per_s"], 4)
print(json.dumps(r, separators=(",", ":")))
PY
  emit baseline "$(cat "$WP_TMP/ratio-nft.json")"
  wp_remove_ns_list gen nat r1 r2
}

# ------------------------------------------------------------ 3. memory / scale
scenario_memory() {
  local sizes=(1000 100000 1000000 10000000) n avail_kb need_kb mb flows out
  [ "$QUICK" = 1 ] && sizes=(1000 100000)
  for n in "${sizes[@]}"; do
    # Table (165.6 B/session), frames pre-built for the setup pass and slack.
    need_kb=$((n * 2 / 5 + 1048576))
    avail_kb=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
    if [ "$need_kb" -gt $((avail_kb - 4194304)) ]; then
      echo "-- $n sessions: skipped, needs ~$((need_kb / 1024)) MiB, $((avail_kb / 1024)) MiB available (4 GiB kept free)"
      emit memory "{\"sessions\":$n,\"available\":false,\"reason\":\"not enough free memory on the shared machine\"}"
      continue
    fi
    mb=$((need_kb / 1024 + 1024))
    flows=$((n < 65536 ? n : 65536))
    out=$WP_TMP/mem-$n.out
    echo "-- $n sessions: wp_bench_foundation (EAL -m $mb)"
    "$build/perf/wp_bench_foundation" --sessions "$n" --flows "$flows" --no-testpmd --commit "$COMMIT" -- \
      --no-huge --no-pci -m "$mb" -l 1 --file-prefix "wpbench-mem-$$" --log-level=error \
      --vdev net_null0,copy=1 --vdev net_null1,copy=1 >"$out" 2>&1 || wp_fail "wp_bench_foundation --sessions $n"
    grep -v '^{' "$out" | sed 's/^/  /' | tail -n 12
    emit memory "$(pick "$out" '{"path":"in-process, net_null copy=1"}' workers sessions setup_per_s setup_cold_per_s \
      mpps fast_path_flows bytes_per_session rss_bytes_per_session setup_drops fast_path_drops)"
  done
  plot_scale
}

plot_scale() {
  local data=$WP_TMP/scale.dat png=$results/scale.png
  [ "${NO_APPEND:-0}" = 1 ] && png=$WP_TMP/scale.png
  "$WP_PY" - "$WP_TMP/run-memory.json" >"$data" <<'PY'
import json, sys
rows = {}
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d.get("setup_per_s"):
        rows[d["sessions"]] = d
for n in sorted(rows):
    d = rows[n]
    print(n, d["setup_per_s"] / 1e6, d["mpps"], d.get("bytes_per_session") or 0)
PY
  [ -s "$data" ] || { echo "plot: no data"; return 0; }
  gnuplot <<GP && echo "plot: $png"
set terminal pngcairo size 900,500 noenhanced
set output "$png"
set title "Waypoint worker (1 core, in-process, net_null) vs sessions in table, commit $COMMIT"
set logscale x
set xlabel "sessions in table"
set ylabel "M sessions/s, Mpps"
set y2label "bytes per session"
set y2tics
set ytics nomirror
set key left bottom
set grid
plot "$data" using 1:2 with linespoints lw 2 title "setup rate (M sessions/s)", \
     "$data" using 1:3 with linespoints lw 2 title "fast path (Mpps, both directions)", \
     "$data" using 1:4 axes x1y2 with linespoints dt 2 title "bytes/session (right)"
GP
}

# ------------------------------------------------------------ 4. overhead
scenario_overhead() {
  local key i
  key=$(wp_keygen)
  wp_remove_ns_list c g lan r1 wan r2 s
  wp_gen_basic_configs "$WP_TMP" 1 "$key"
  wp_topo_basic || { wp_fail "overhead topology"; return; }
  wp_servers_start || { wp_fail "overhead servers"; return; }
  head -c 1024 /dev/urandom >"$WP_TMP/www/small.bin"
  wp_udp_echo_start 5201
  WP_EAL_MEM=256 wp_router_start r1 "$WP_TMP/r1.yaml" 1 r1l r1w
  WP_EAL_MEM=256 wp_router_start r2 "$WP_TMP/r2.yaml" 1 r2l r2w
  wp_wait_ready r1 10 && wp_wait_ready r2 10 || { wp_fail "overhead routers"; return; }
  overhead_captures none
  # The same workloads with every policy encrypting (aes256-cbc, HMAC on every
  # packet, adaptive off): against ESP, which encrypts too, this is like for like.
  wp_router_stop r1
  wp_router_stop r2
  for i in r1 r2; do
    sed -i -e 's/service: web}/service: web, security: enc}/' \
      -e 's/service: iperf-udp}/service: iperf-udp, security: enc}/' "$WP_TMP/$i.yaml"
    printf 'security_policies:\n  - {name: enc, encryption: aes256-cbc, hmac: every-packet, adaptive: off}\n' \
      >>"$WP_TMP/$i.yaml"
  done
  WP_EAL_MEM=256 wp_router_start r1 "$WP_TMP/r1.yaml" 1 r1l r1w
  WP_EAL_MEM=256 wp_router_start r2 "$WP_TMP/r2.yaml" 1 r2l r2w
  if wp_wait_ready r1 10 && wp_wait_ready r2 10; then
    overhead_captures aes256-cbc
    echo "  r1 packets_encrypted: $(wp_stat r1 counters.packets_encrypted)"
  else
    wp_fail "overhead routers (encrypting)"
  fi
  wp_router_stop r1
  wp_router_stop r2
  for i in "${WP_PIDS[@]}"; do wp_kill "$i" TERM; done  # servers of this scenario (earlier pids are gone)
  WP_PIDS=()
  wp_remove_ns_list c g lan r1 wan r2 s
}

# overhead_captures SECURITY: short and bulk workloads through the running
# routers, captured on the client's veth and the WAN bridge, measured by
# wire_overhead.py; SECURITY ("none" | "aes256-cbc") labels the JSON lines.
overhead_captures() {
  local sec=$1 i wl tag
  tag=$([ "$sec" = none ] || echo "-$sec")
  wp_exec c ping -c 2 -W 1 10.1.0.1 >/dev/null  # ARP settled before the captures
  # Short flows: 40 HTTP GETs of 1 KiB (a TCP connection each) and 40 UDP
  # request/response pairs (a session each). Bulk: one 1 MiB HTTP transfer.
  wp_cap_start c c0 "$WP_TMP/short$tag-lan.pcap" && wp_cap_start wan br0 "$WP_TMP/short$tag-wan.pcap" || return
  for ((i = 0; i < 40; i++)); do
    wp_fetch c http://10.2.0.10/small.bin /dev/null 5 || wp_fail "short flow $i (http, $sec)"
    wp_exec c "$WP_PY" "$WP_E2E/udp_echo.py" send 10.2.0.10 5201 "q$i" 3 1 >/dev/null || wp_fail "short flow $i (udp, $sec)"
  done
  wp_cap_stop
  wp_cap_start c c0 "$WP_TMP/bulk$tag-lan.pcap" && wp_cap_start wan br0 "$WP_TMP/bulk$tag-wan.pcap" || return
  wp_fetch c http://10.2.0.10/file.bin /dev/null 20 || wp_fail "bulk transfer ($sec)"
  wp_cap_stop
  for wl in short bulk; do
    echo "-- $wl, SVR security: $sec"
    WP_SVR_SECURITY=$sec "$WP_PY" "$here/wire_overhead.py" "$wl" "$WP_TMP/$wl$tag-lan.pcap" "$WP_TMP/$wl$tag-wan.pcap" \
      >"$WP_TMP/$wl$tag.out" 2>&1 || wp_fail "wire_overhead.py $wl $sec (packet counts differ between LAN and WAN?)"
    grep -v '^{' "$WP_TMP/$wl$tag.out" | sed 's/^/  /'
    emit overhead "$(grep '^{' "$WP_TMP/$wl$tag.out" | tail -n 1)"
  done
}

# ------------------------------------------------------------ 5. extended
# Encrypted throughput through the real SVR pair, offload cycles per
# packet (wp_bench_offload) and HA sync rate (perf/bench_ha.sh):
# each measured by running what its feature ships, a missing binary reported
# as "not available", never a number.
scenario_extended() {
  extended_crypto
  extended_offload
  extended_ha
}

# Plain (built-in default policy: HMAC on metadata only) vs aes256-cbc + HMAC
# on every packet, same wpgen load, 1 worker, 64 B and 1400 B frames.
extended_crypto() {
  local size sec f n=$E2E_SESSIONS plain enc
  for size in 64 1400; do
    for sec in "" aes256-cbc; do
      f=$WP_TMP/crypto-$size-${sec:-plain}.out
      echo "-- end to end, net_memif, 1 worker, $n sessions, $size B frames, ${sec:-no encryption}"
      WP_BENCH_SECURITY=$sec WP_BENCH_DATAPLANE="crypto_sessions: $((n * 4))" svr_pair_run "$f" 1 \
        --sessions "$n" --duration "$E2E_STEADY" --clients 100 --services 10 --window 1024 --size "$size" \
        --label "svr-memif-$size-${sec:-plain}"
      grep -E 'established|steady Mpps|lost' "$f" | sed 's/^/  /'
    done
    plain=$WP_TMP/crypto-$size-plain.out
    enc=$WP_TMP/crypto-$size-aes256-cbc.out
    emit extended "$("$WP_PY" - "$plain" "$enc" "$size" <<'PY'
import json, sys
def last(p):
    try:
        return [json.loads(l) for l in open(p) if l.startswith('{"scenario"')][-1]
    except (OSError, IndexError):
        return {}
def counters(p):
    try:
        return json.load(open(p + ".r1.json"))["counters"]
    except (OSError, ValueError, KeyError):
        return {}
p, e, size = last(sys.argv[1]), last(sys.argv[2]), int(sys.argv[3])
pc, ec = counters(sys.argv[1]), counters(sys.argv[2])
gbps = lambda d: round(d["mpps"] * size * 8 / 1000, 3) if d.get("mpps") else None
r = {"measure": "encrypted_throughput", "available": bool(e.get("mpps") and p.get("mpps")), "workers": 1,
     "sessions": e.get("sessions"), "frame_bytes": size,
     "path": "wpgen-r1-r2-wpgen net_memif, security policy {encryption: aes256-cbc, hmac: every-packet}",
     "baseline": "the same run with the default policy (no encryption, HMAC on metadata only)",
     "mpps": e.get("mpps"), "gbps": gbps(e), "baseline_mpps": p.get("mpps"), "baseline_gbps": gbps(p),
     "setup_per_s": e.get("setup_per_s"), "baseline_setup_per_s": p.get("setup_per_s"),
     "established": e.get("established"), "lost": e.get("lost"), "baseline_lost": p.get("lost"),
     "r1_packets_encrypted": ec.get("packets_encrypted"), "r1_sessions_encrypted": ec.get("sessions_encrypted"),
     "baseline_r1_packets_encrypted": pc.get("packets_encrypted")}
if r["available"]:
    r["ratio_vs_plain"] = round(e["mpps"] / p["mpps"], 4)
    r["setup_ratio_vs_plain"] = round(e["setup_per_s"] / p["setup_per_s"], 4) if p.get("setup_per_s") else None
if not ec.get("packets_encrypted"):  # a policy that did not encrypt must not pass for a measurement
    r.update(available=False, reason="r1 counted no encrypted packets")
print(json.dumps(r, separators=(",", ":")))
PY
)"
  done
}

extended_offload() {
  if [ ! -x "$build/perf/wp_bench_offload" ]; then
    emit extended '{"measure":"offload_cycles_per_packet","available":false,"reason":"build/perf/wp_bench_offload not built"}'
    return
  fi
  echo "-- offload: wp_bench_offload --seconds 2 (worker cycles per established packet, offload off vs on)"
  "$build/perf/wp_bench_offload" --seconds 2 --commit "$COMMIT" >"$WP_TMP/offload.out" 2>&1 || wp_fail "wp_bench_offload"
  grep -v '^{' "$WP_TMP/offload.out" | sed 's/^/  /' | tail -n 12
  emit extended "$(pick "$WP_TMP/offload.out" '{"measure":"offload_cycles_per_packet","available":true,"baseline":"offload off, same run"}' \
    cycles_per_pkt_sw cycles_per_pkt_offload cycles_ratio rule_inserts_per_s)"
}

extended_ha() {
  local n=300000
  [ "$QUICK" = 1 ] && n=50000
  if [ ! -x "$build/perf/wp_bench_ha" ]; then
    emit extended '{"measure":"ha_sync_rate","available":false,"reason":"build/perf/wp_bench_ha not built"}'
    return
  fi
  echo "-- HA: perf/bench_ha.sh $n (session sync over corosync CPG vs raw CPG, two netns)"
  MODES="raw sync" BENCH=$build/perf/wp_bench_ha WP_BENCH_OUT=$WP_TMP/ha.json "$here/bench_ha.sh" "$n" 0 \
    >"$WP_TMP/ha.out" 2>&1 || wp_fail "perf/bench_ha.sh"
  grep -v '^{' "$WP_TMP/ha.out" | sed 's/^/  /' | tail -n 6
  emit extended "$("$WP_PY" - "$WP_TMP/ha.json" <<'PY'
import json, sys
try:
    d = json.loads(open(sys.argv[1]).read())
except (OSError, ValueError):
    d = {}
ok = bool(d.get("sync_sessions_per_s")) and d.get("sync_applied") == d.get("sync_sessions")
r = {"measure": "ha_sync_rate", "available": ok, "sessions": d.get("sync_sessions"),
     "sync_sessions_per_s": d.get("sync_sessions_per_s"), "sync_messages_per_s": d.get("sync_messages_per_s"),
     "sync_applied": d.get("sync_applied"), "baseline": "raw CPG messages of the same size, same run",
     "raw_cpg_messages_per_s": d.get("raw_cpg_messages_per_s"), "ratio_vs_raw_bytes": d.get("sync_vs_raw_bytes_ratio")}
if not ok:
    r["reason"] = "bench_ha.sh gave no complete sync result"
print(json.dumps(r, separators=(",", ":")))
PY
)"
}
