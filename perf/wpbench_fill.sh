# shellcheck shell=bash
# shellcheck disable=SC2154  # build, here, results, QUICK, emit: set by perf/wpbench.sh
# wpbench "fill" (scenario 3 end to end): wpgen establishes N
# concurrent sessions through two real waypointd (r1 -> r2 on net_memif,
# 1 worker each) and keeps them all open; reports the routers' RSS and bytes
# per session, and the setup rate while the table fills, sampled every 10 s
# from the routers' own session counts (SIGUSR1 stats dumps).
#
# Waypoint addresses (#17): every session between one pair of waypoint
# addresses needs its own WAN port pair, and SVR's ports encode the affinity
# class (tuple.h): 64 classes x 384 own x 384 peer ports = 9 437 184 pairs per
# waypoint pair and protocol. pick_port_pair probes 16 random pairs, so past
# ~75 % of one pair's space the probes (table lookups) multiply and then fail
# (ports_exhausted): a 10 M run on one pair stopped at 8.75 M (2026-12-03).
# So each router gets FILL_WAYPOINTS (default 2) waypoint addresses
# (router.wan[].waypoint_addresses) and lists the peer's in peers[].waypoints:
# FILL_WAYPOINTS^2 pairs (4 by default, 37.7 M port pairs) share the sessions.
# FILL_WAYPOINTS=1 is the old single-pair bench.
#
# Sized by config, not by defaults: max_sessions = N + 1/16 slack, UDP idle
# timeout 1 h (the default 60 s would age the first sessions out before the
# last are opened), crypto_sessions 2048 (no session here encrypts; the
# default max_sessions/8 key slots would add ~600 B x N/8), EAL memory from
# the measured ~190 B/session. The REST server is off (WP_BENCH_MGMT=off):
# its session snapshot (mgmt/session_snapshot.h, ~130 B/session since b020bf5;
# ~380 B before, a std::map of SessionView copies) is a second per-session
# structure; FILL_REST=1 keeps it, to measure it.

# fill_rss_kb PID: resident set of a process, kB (0 when gone).
fill_rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# fill_active NAME: sessions active in router NAME's last stats dump (SIGUSR1).
fill_active() {
  local before i
  before=$(grep -c '"router"' "${WP_ROUTER_LOG[$1]}" 2>/dev/null)
  kill -USR1 "${WP_ROUTER_PID[$1]}" 2>/dev/null
  # Wait for this dump (a busy router may take a while), else an older one would be read.
  for ((i = 0; i < 30; i++)); do
    sleep 0.1
    [ "$(grep -c '"router"' "${WP_ROUTER_LOG[$1]}" 2>/dev/null)" -gt "${before:-0}" ] && break
  done
  "$WP_PY" - "${WP_ROUTER_LOG[$1]}" <<'PY'
import json, sys
text = open(sys.argv[1], errors="replace").read()
i = text.rfind('{\n  "router"')
try:
    print(json.JSONDecoder().raw_decode(text[i:])[0]["sessions"]["active"] if i >= 0 else 0)
except ValueError:
    print(0)
PY
}

scenario_fill() {
  local n=${FILL_SESSIONS:-7000000} max avail_mb need_mb mb f t0 now prev_n=0 prev_t a r1kb r2kb
  local base1 base2 samples="" pid rest=${FILL_REST:-0} wps=${FILL_WAYPOINTS:-2}
  [ "$QUICK" = 1 ] && n=${FILL_SESSIONS:-200000}
  max=$((n + n / 16))
  # Per router: table ~190 B/session (scenario 3, rounded up to 250) + 1 GiB EAL slack; REST snapshot ~130 B/session more (wp_bench_snapshot, rounded up to 150).
  mb=$((max * 250 / 1000000 + 1024))
  [ "$rest" = 1 ] && mb=$((mb + n * 150 / 1000000))
  need_mb=$((2 * mb + 1024))
  avail_mb=$(($(awk '/MemAvailable/ {print $2}' /proc/meminfo) / 1024))
  echo "-- fill: $n sessions through r1 -> r2 (net_memif, 1 worker each), EAL -m $mb per router, REST $([ "$rest" = 1 ] && echo on || echo off), $wps waypoint address(es) per router ($((wps * wps)) pairs)"
  if [ "$need_mb" -gt $((avail_mb - 4096)) ]; then
    echo "  skipped: needs ~$need_mb MiB, $avail_mb MiB available (4 GiB kept free for the other developers)"
    emit fill "{\"sessions\":$n,\"available\":false,\"reason\":\"needs ~$need_mb MiB, $avail_mb MiB available\"}"
    return
  fi
  f=$WP_TMP/fill.out
  wp_wpgen_start "$f" 1 --sessions "$n" --duration 0 --clients 1000 --services 10 --window 1024 --size 64 \
    --drain-ms 3000 --label "fill-$n" || { wp_fail "fill: wpgen start"; return; }
  WP_BENCH_MGMT=$([ "$rest" = 1 ] && echo on || echo off) WP_BENCH_DEV=net_memif WP_BENCH_WAYPOINTS=$wps \
    WP_BENCH_YAML="timeouts: {udp: 3600}" WP_BENCH_DATAPLANE="crypto_sessions: 2048" \
    wp_bench_pair_start 1 "$max" "$mb" || { wp_fail "fill: routers start"; return; }
  base1=$(fill_rss_kb "${WP_ROUTER_PID[r1]}")
  base2=$(fill_rss_kb "${WP_ROUTER_PID[r2]}")
  echo "  RSS after start: r1 $((base1 / 1024)) MiB, r2 $((base2 / 1024)) MiB"
  printf '  %6s %12s %12s %10s %10s\n' "t (s)" "r1 sessions" "sessions/s" "r1 MiB" "r2 MiB"
  t0=$(date +%s)
  prev_t=$t0
  while wp_alive "$WP_WPGEN_PID"; do
    for ((pid = 0; pid < 100 && $(date +%s) - prev_t < 10; pid++)); do
      wp_alive "$WP_WPGEN_PID" || break
      sleep 0.2
    done
    wp_alive "$WP_WPGEN_PID" || break
    now=$(date +%s)
    a=$(fill_active r1)
    r1kb=$(fill_rss_kb "${WP_ROUTER_PID[r1]}")
    r2kb=$(fill_rss_kb "${WP_ROUTER_PID[r2]}")
    printf '  %6d %12d %12d %10d %10d\n' $((now - t0)) "$a" $(((a - prev_n) / (now - prev_t > 0 ? now - prev_t : 1))) \
      $((r1kb / 1024)) $((r2kb / 1024))
    samples+="${samples:+,}[$((now - t0)),$a,$r1kb,$r2kb]"
    prev_n=$a
    prev_t=$now
    [ $((now - t0)) -lt 1800 ] || { wp_fail "fill: not done in 30 min"; kill -INT "$WP_WPGEN_PID"; break; }
  done
  wp_wpgen_wait 60 || wp_fail "fill: wpgen exit status"
  a=$(fill_active r1)
  local a2
  a2=$(fill_active r2)
  r1kb=$(fill_rss_kb "${WP_ROUTER_PID[r1]}")
  r2kb=$(fill_rss_kb "${WP_ROUTER_PID[r2]}")
  grep -v '^{' "$f" | sed 's/^/  /'
  echo "  end: r1 $a sessions, RSS $((r1kb / 1024)) MiB; r2 $a2 sessions, RSS $((r2kb / 1024)) MiB"
  local d1 d2
  d1=$(fill_drops r1)
  d2=$(fill_drops r2)
  echo "  router drops: r1 $d1; r2 $d2"
  emit fill "$("$WP_PY" - "$f" "$n" "$a" "$a2" "$base1" "$r1kb" "$base2" "$r2kb" "[$samples]" "$rest" "$max" "$d1" "$d2" "$wps" <<'PY'
import json, sys
def last(p):
    try:
        return [json.loads(l) for l in open(p) if l.startswith('{"scenario"')][-1]
    except (OSError, IndexError):
        return {}
g = last(sys.argv[1])
n, a1, a2, b1, e1, b2, e2 = (int(x) for x in sys.argv[2:9])
samples = json.loads(sys.argv[9])
rates = [round((s[1] - p[1]) / (s[0] - p[0])) for p, s in zip([[0, 0]] + samples, samples) if s[0] > p[0]]
print(json.dumps({
    "workers": 1, "sessions": n, "established": g.get("established"), "lost": g.get("lost"),
    "setup_per_s": g.get("setup_per_s"), "setup_rtt_us": g.get("setup_rtt_us"),
    "r1_sessions_active": a1, "r2_sessions_active": a2, "max_sessions": int(sys.argv[11]),
    "r1_rss_bytes": e1 * 1024, "r2_rss_bytes": e2 * 1024,
    # The table is allocated and zeroed for max_sessions at start, so RSS barely
    # grows while filling: bytes/session is the whole RSS over the sessions
    # (fixed EAL/mbuf/ring overhead included), the start RSS says how much was up front.
    "r1_rss_start_bytes": b1 * 1024, "r2_rss_start_bytes": b2 * 1024,
    "bytes_per_session": round(e1 * 1024 / a1, 1) if a1 else None,
    "r2_bytes_per_session": round(e2 * 1024 / a2, 1) if a2 else None,
    "rss_growth_bytes_per_session": round((e1 - b1) * 1024 / a1, 1) if a1 else None,
    "setup_per_s_samples": rates, "samples_t_sessions_r1kb_r2kb": samples,
    "rest": sys.argv[10] == "1",
    "r1_drops": dict(kv.split("=") for kv in sys.argv[12].split() if "=" in kv),
    "r2_drops": dict(kv.split("=") for kv in sys.argv[13].split() if "=" in kv),
    "waypoints_per_router": int(sys.argv[14]), "waypoint_pairs": int(sys.argv[14]) ** 2,
    "waypoint_port_pairs": 64 * 384 * 384 * int(sys.argv[14]) ** 2,
    "port_pairs_used_pct": round(100 * a1 / (64 * 384 * 384 * int(sys.argv[14]) ** 2), 1),
    "path": "wpgen-r1-r2-wpgen net_memif, every session kept open (UDP timeout 1 h)"},
    separators=(",", ":")))
PY
)"
  wp_bench_pair_stop || wp_fail "fill: routers exit"
}

# fill_drops NAME: non-zero drops in the router's last stats dump.
fill_drops() {
  "$WP_PY" - "${WP_ROUTER_LOG[$1]}" <<'PY'
import json, sys
text = open(sys.argv[1], errors="replace").read()
i = text.rfind('{\n  "router"')
try:
    d = json.JSONDecoder().raw_decode(text[i:])[0]["drops"] if i >= 0 else {}
    print(" ".join(f"{k}={v}" for k, v in d.items() if v) or "none")
except ValueError:
    print("unknown")
PY
}
