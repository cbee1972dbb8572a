# REST, wpctl and IPFIX of IPv6 sessions that SVR carries (issue #19; docs/ipv6.md § IPv6
# sessions between IPv4 waypoints / between IPv6 waypoints), shared by test_svr6.sh (IPv4
# waypoints) and test_svr6v6.sh (IPv6 waypoints): the same checks with their waypoint
# addresses; test_svr6v6.sh also runs them for its IPv4 sessions between the IPv6 waypoints
# (§ IPv4 sessions between IPv6 waypoints: IPFIX template 259). Sourced after lib.sh; uses
# the tests' CLI and SRV (IPv6 or IPv4: the session's family), SVR6_TENANT and SVR6_SERVICE
# (its names), SVR6_TAG (in the file names of a second round) and the r1/r2 pair.
# Each router exports IPFIX to a `wpctl flows` collector on its own lo (the project's
# decoder), and its lo is captured for tshark's decoding of the same messages.
WPCTL=${WPCTL:-$WP_REPO/build/tools/wpctl}
P_FLOWS6=4741
SVR6_TENANT=${SVR6_TENANT:-v6} SVR6_SERVICE=${SVR6_SERVICE:-web6} SVR6_TAG=${SVR6_TAG:-}

svr6_family() { if [[ $CLI == *:* ]]; then echo ipv6; else echo ipv4; fi; }
# An address as wpctl writes it before :port ([addr] for IPv6), as an extended regex.
svr6_ep_re() { local a=${1//./\\.}; if [[ $1 == *:* ]]; then echo "\\[$a\\]"; else echo "$a"; fi; }

# YAML lines for both routers: export every 2 s while a session lives (active_timeout), and
# end closed TCP sessions 2 s after their FIN (so the download's end record comes soon).
svr6_export_yaml() {
  echo "ipfix: {collectors: [\"127.0.0.1:$P_FLOWS6\"], active_timeout: 2, template_refresh: 5}"
  echo "timeouts: {tcp_transitory: 2}"
}

svr6_udp_bound() { wp_exec "$1" ss -Hlun "sport = :$2" 2>/dev/null | grep -q .; }

# Before the sessions: a collector on each router's lo (again after svr6_ipfix_checks).
svr6_collectors_start() {
  local r
  for r in r1 r2; do
    wp_bg "$r" "$WP_TMP/flows$SVR6_TAG-$r.jsonl" "$WPCTL" -o json flows --listen "127.0.0.1:$P_FLOWS6"
    WP_PIDS+=("$WP_BG_PID")
    eval "SVR6_FLOWS_$r=$WP_BG_PID"
  done
  for r in r1 r2; do wp_check "$r: wpctl flows collector listening" wp_until 20 svr6_udp_bound "$r" "$P_FLOWS6"; done
}

# Router $1's IPFIX templates sent so far (GET /metrics), and whether they grew past $2.
svr6_templates_sent() {
  wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/metrics" |
    awk '/^waypoint_ipfix_templates_sent_total/ {print $NF; exit}'
}
svr6_templates_grew() { local n; n=$(svr6_templates_sent "$1"); [ -n "$n" ] && [ "$n" -gt "$2" ]; }

# New collectors (after svr6_ipfix_checks) while the routers run: a collector decodes no record
# before the router's next template refresh, so wait until each router sent its templates again.
svr6_collectors_restart() {
  local r n
  svr6_collectors_start
  for r in r1 r2; do
    n=$(svr6_templates_sent "$r")
    wp_check "$r: IPFIX templates sent again (to the new collector)" wp_until 20 svr6_templates_grew "$r" "${n:-0}"
  done
}

# tshark's copy of what each router exports (started after the test's own captures stopped).
svr6_ipfix_capture_start() {
  local r
  for r in r1 r2; do
    wp_check "capture $r's IPFIX on its lo" \
      wp_cap_start "$r" lo "$WP_TMP/ipfix$SVR6_TAG-$r.pcap" -s 1500 -f "udp port $P_FLOWS6"
  done
}

# GET /api/v1/sessions?addr=$CLI on router $1 lists a TCP session to $SRV:5201 of CLI's family
# with svr_role $2, peer $3, the client's tuple on the LAN side and the waypoints $4 -> $5 on
# the WAN side; no 0.x.x.x (internal or stand-in) address anywhere in the reply, nor in the
# unfiltered list.
svr6_rest_has() {
  wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/sessions?addr=$CLI&limit=1000" \
    >"$WP_TMP/sessions$SVR6_TAG-$1.json" || return 1
  wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/sessions?limit=10000" \
    >"$WP_TMP/sessions$SVR6_TAG-all-$1.json" || return 1
  "$WP_PY" - "$WP_TMP/sessions$SVR6_TAG-$1.json" "$WP_TMP/sessions$SVR6_TAG-all-$1.json" "$CLI" "$SRV" "$2" "$3" \
    "$4" "$5" "$(svr6_family)" "$SVR6_TENANT" "$SVR6_SERVICE" <<'PY'
import json, sys
path, all_path, cli, srv, role, peer, wp1, wp2, family, tenant, service = sys.argv[1:]
text = open(path).read()
if '"0.' in text or '"0.' in open(all_path).read():
    sys.exit(1)
for s in json.loads(text)["sessions"]:
    o = s["original"]
    if s["family"] != family or (o["src"], o["dst"], o["dport"], o["protocol"]) != (cli, srv, 5201, "tcp"):
        continue
    lan, wan = (s["arrived"], s["left"]) if role == "ingress" else (s["left"], s["arrived"])
    if (s.get("svr_role") == role and s.get("peer") == peer and s["tenant"] == tenant and s["service"] == service
            and lan == o and wan["src"] == wp1 and wan["dst"] == wp2 and wan["sport"] >= 16384
            and wan["dport"] >= 16384 and len(s["uuid"]) == 36):
        sys.exit(0)
sys.exit(1)
PY
}

svr6_wpctl_has() {
  local f=$WP_TMP/wpctl-svr6$SVR6_TAG.txt
  wp_exec r1 "$WPCTL" --url "http://127.0.0.1:$WP_MGMT_PORT" sessions --addr "$CLI" >"$f" 2>&1 &&
    grep -qE "$(svr6_ep_re "$CLI"):[0-9]+ > $(svr6_ep_re "$SRV"):5201 tcp +$1:[0-9]+ > $2:[0-9]+ tcp" "$f" &&
    grep -qE " r2 " "$f" && ! grep -q " 0\.255\." "$f"
}

# svr6_live_checks WP1 WP2: while a TCP flow runs, REST at both routers and wpctl at r1 show it
# (WP1/WP2: r1's and r2's waypoint address; IPv6 ones are written [addr] by wpctl).
svr6_live_checks() {
  local w1=$1 w2=$2 fam pid
  fam=$(svr6_family)
  wp_bg c "$WP_TMP/iperf-live$SVR6_TAG.log" timeout 20 iperf3 "-${fam#ipv}" -c "$SRV" -B "$CLI" -b 2M -t 5
  pid=$WP_BG_PID; WP_PIDS+=("$pid")
  wp_check "r1: GET /api/v1/sessions?addr=$CLI lists the running flow: $fam $CLI -> $SRV:5201, ingress, peer r2, left $w1 -> $w2, no 0.x.x.x in any session" \
    wp_until 10 svr6_rest_has r1 ingress r2 "$w1" "$w2"
  wp_check "r2: the same flow: egress, peer r1, arrived $w1 -> $w2, left the client's tuple" \
    wp_until 10 svr6_rest_has r2 egress r1 "$w1" "$w2"
  wp_check "r1: wpctl sessions --addr $CLI shows $CLI -> $SRV:5201 and the waypoints, peer r2" \
    wp_until 10 svr6_wpctl_has "$(svr6_ep_re "$w1")" "$(svr6_ep_re "$w2")"
  wp_check "the live flow ends" wp_until 20 wp_dead "$pid"
}

# svr6_ipfix_checks WP1 WP2 TEMPLATE: the collectors got the 5 MiB download's end record at both
# routers with the same session id, the client's tuple in 27/28 (8/12 for an IPv4 client) and
# the waypoints in the post-NAT IEs (ipfix_check.py --svr6); tshark decodes template TEMPLATE
# and those IEs on both. Stops the collectors and the captures.
svr6_ipfix_checks() {
  local w1=$1 w2=$2 tid=$3 r f out pid
  have_end80() { grep -q '"dport":80,.*"nat_event":5\|"nat_event":5.*"dport":80' "$1"; }
  ended_on_both() { have_end80 "$WP_TMP/flows$SVR6_TAG-r1.jsonl" && have_end80 "$WP_TMP/flows$SVR6_TAG-r2.jsonl"; }
  wp_check "IPFIX end records of the download at both collectors" wp_until 30 ended_on_both
  wp_cap_stop
  for r in r1 r2; do pid=SVR6_FLOWS_$r; wp_kill "${!pid}" INT; done
  out=$("$WP_PY" "$WP_E2E/ipfix_check.py" "$WP_TMP/flows$SVR6_TAG-r1.jsonl" "$WP_TMP/flows$SVR6_TAG-r2.jsonl" --svr6 \
    --client "$CLI" --server "$SRV" --port 80 --r1-wp "$w1" --r2-wp "$w2" --bytes 5242880 \
    --tenant "$SVR6_TENANT" --service "$SVR6_SERVICE" 2>&1)
  echo "$out"
  WP_NPASS=$((WP_NPASS + $(grep -c '^PASS' <<<"$out")))
  WP_NFAIL=$((WP_NFAIL + $(grep -c '^FAIL' <<<"$out")))
  local post=(-e cflow.post_natsource_ipv4_address -e cflow.post_natdestination_ipv4_address)
  [[ $w1 == *:* ]] && post=(-e cflow.post_nat_source_ipv6_address -e cflow.post_nat_destination_ipv6_address)
  local pre=(cflow.srcaddrv6 cflow.dstaddrv6)
  [[ $(svr6_family) == ipv4 ]] && pre=(cflow.srcaddr cflow.dstaddr)
  for r in r1 r2; do
    f=$WP_TMP/ipfix$SVR6_TAG-$r.pcap
    wp_check "$r: tshark decodes IPFIX template $tid" \
      bash -c "tshark -r '$f' -d udp.port==$P_FLOWS6,cflow -V 2>/dev/null | grep -q 'Template Id: $tid'"
    # The capture starts with the routers running: data sets before its first template
    # message are "no template found" (tshark's Malformed group); judge what follows it.
    first=$(tshark -r "$f" -d udp.port==$P_FLOWS6,cflow -Y cflow.template_id -T fields -e frame.number 2>/dev/null |
      head -1)
    wp_expect "$r: no malformed IPFIX after the first template (frame ${first:-none})" \
      "$(tshark -r "$f" -d udp.port==$P_FLOWS6,cflow -Y "frame.number > ${first:-0}" -V 2>&1 | grep -ci malformed)" -eq 0
    wp_expect "$r: tshark saw a template" "${first:-0}" -gt 0
    tshark -r "$f" -d "udp.port==$P_FLOWS6,cflow" -T fields -E occurrence=a -E aggregator='|' \
      -e "${pre[0]}" -e "${pre[1]}" "${post[@]}" -e cflow.dstport \
      -Y "${pre[0]} == $CLI" >"$WP_TMP/ipfix6$SVR6_TAG-$r.tsv" 2>/dev/null
    wp_check "$r: tshark: a record with ${pre[0]}/${pre[1]} = $CLI -> $SRV:5201 and post-NAT $w1 -> $w2" \
      "$WP_PY" - "$WP_TMP/ipfix6$SVR6_TAG-$r.tsv" "$CLI" "$SRV" "$w1" "$w2" <<'PY'
import sys
path, *want = sys.argv[1:]
for line in open(path):
    cols = [c.split("|") for c in line.rstrip("\n").split("\t")]
    if any(rec[:4] == tuple(want) and rec[4] == "5201" for rec in zip(*cols)):
        sys.exit(0)
sys.exit(1)
PY
    wp_expect "$r: tshark: no 0.x.x.x address in any IPFIX field" \
      "$(tshark -r "$f" -d udp.port==$P_FLOWS6,cflow -V 2>/dev/null | grep -cE 'Address: 0\.')" -eq 0
  done
  wp_expect "r1 dropped no session events" "$(wp_stat r1 counters.ipfix_events_dropped)" -eq 0
  wp_expect "r2 dropped no session events" "$(wp_stat r2 counters.ipfix_events_dropped)" -eq 0
}
