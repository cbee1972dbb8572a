#!/bin/bash
# Waypoint demo: two routers speaking SVR between a branch and a headend.
#
#   client 10.1.0.10 ─┐                                                  ┌─ server 10.2.0.10
#                     ├─ r1 (branch) ══ WAN 172.16.0.0/24 ══ r2 (headend) ┘   (http :80, iperf3)
#   guest 10.1.0.200 ─┘        waypoint .1          waypoint .2
#
# usage: sudo ./examples/demo.sh        (WAYPOINTD=path to use another binary)
# Brings the topology up in network namespaces (prefix wpdemo-), runs curl and a
# short iperf3 through the routers, shows what happened, and tears it all down.
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tests/e2e/lib.sh
source "$here/../tests/e2e/lib.sh"

wp_init "wpdemo-"
if [ ! -x "$WAYPOINTD" ]; then echo "waypointd not found at $WAYPOINTD (build it first)" >&2; exit 2; fi
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "topology: client/guest — r1 — WAN bridge — r2 — server (namespaces ${WP_PREFIX}*)"
wp_topo_basic || { echo "topology setup failed"; exit 1; }
wp_servers_start || { echo "servers failed to start"; exit 1; }
wp_cap_start wan br0 "$WP_TMP/wan.pcap" || { echo "tshark failed to start"; exit 1; }

say "starting r1 and r2 (examples/r1.yaml, examples/r2.yaml, 1 worker each)"
wp_router_start r1 "$here/r1.yaml" 1 r1l r1w
wp_router_start r2 "$here/r2.yaml" 1 r2l r2w
for r in r1 r2; do wp_wait_ready $r 10 || { echo "$r did not come up"; WP_NFAIL=1; exit 1; }; done
echo "both routers answer on their stats endpoint"

say "client 10.1.0.10 fetches a 1 MiB file from 10.2.0.10 (tenant branch, service web)"
ok=1
if wp_fetch c http://10.2.0.10/file.bin "$WP_TMP/got.bin" 20 -w '%{size_download} bytes in %{time_total} s\n' &&
  [ "$(wp_sha "$WP_TMP/got.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]; then
  echo "sha256 matches: the file arrived byte for byte"
else
  echo "curl FAILED"; ok=0
fi
echo "server's access log (it sees the real client address):"
sed 's/^/  /' "$WP_TMP/http.log" | grep GET

say "guest 10.1.0.200 tries the same (tenant guests has no policy: deny by default)"
if wp_fetch g http://10.2.0.10/file.bin "$WP_TMP/guest.bin" 3 2>/dev/null; then
  echo "guest got through?!"; ok=0
else
  echo "guest curl failed, as it should"
fi

say "iperf3 UDP 2 s at 20 Mbit/s (service iperf-udp)"
wp_iperf demo-udp -u -b 20M -t 2 -l 1200 || ok=0
wp_cap_stop
say "iperf3 TCP 3 s (not captured)"
wp_iperf demo-tcp -t 3 || ok=0

say "on the WAN (tshark on the bridge): outer addresses are waypoints only"
tshark -r "$WP_TMP/wan.pcap" -n -T fields -e ip.src -e ip.dst -Y ip 2>/dev/null | sort | uniq -c | sed 's/^/  /'
say "metadata packets on the WAN (SVR cookie 4c48dbc6ddf6670c at payload offset 0)"
"$WP_PY" "$WP_E2E/capcheck.py" "$WP_TMP/wan.pcap" 172.16.0.1 172.16.0.2 --summary
tshark -r "$WP_TMP/wan.pcap" -n \
  -Y "tcp.payload[0:8] == $WP_COOKIE_FILTER || udp.payload[0:8] == $WP_COOKIE_FILTER" 2>/dev/null |
  head -n 20 | sed 's/^/  /'

say "router counters"
for r in r1 r2; do wp_stats_json $r >"$WP_TMP/stats-$r.json"; done
"$WP_PY" - "$WP_TMP/stats-r1.json" "$WP_TMP/stats-r2.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    try:
        s = json.load(open(path))
    except Exception as e:
        print(f"  {path}: no stats ({e})")
        continue
    c, d = s.get("counters", {}), s.get("drops", {})
    print(f"  {s.get('router', '?')}: sessions created {c.get('sessions_created')}, active "
          f"{s.get('sessions', {}).get('active')}; metadata sent {c.get('metadata_sent')} forward + "
          f"{c.get('reverse_metadata_sent')} reverse, received {c.get('metadata_received')}; "
          f"handshakes completed {c.get('handshakes_completed')}; "
          f"rx {c.get('rx_packets')}, tx {c.get('tx_packets')} packets")
    drops = {k: v for k, v in d.items() if v}
    print("    drops: " + (", ".join(f"{k}={v}" for k, v in sorted(drops.items())) or "none"))
PY

say "stopping routers (SIGTERM)"
for r in r1 r2; do
  if wp_router_stop $r; then echo "$r exited cleanly"; else echo "$r did not exit cleanly"; ok=0; fi
done
[ $ok -eq 1 ] || WP_NFAIL=1   # lib.sh's cleanup prints the logs then
say "demo $([ $ok -eq 1 ] && echo finished || echo 'finished with errors (logs above)'); tearing down"
[ $ok -eq 1 ]
