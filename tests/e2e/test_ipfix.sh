#!/bin/bash
# IPFIX export (#7) through the canonical topology:
#   client — r1 — WAN — r2 — server; each router exports to collectors on its
#   own loopback: `wpctl flows` (our decoder), nfacctd (pmacct), and a port
#   nobody listens on (a collector that is down must not hurt forwarding).
# Checks: tshark decodes every IPFIX message with no malformed packet; nfacctd
# receives the records; the curl session's records on r1 and r2 carry the same
# global session id, pre-NAT client addresses on r1 and waypoint addresses on
# r2, byte counts that match the download, the application (HTTP, IE 95/96: r1
# classified it, r2 learnt it from TLV 35) in our decoder and in tshark's;
# `wpctl flows --join` stitches them.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WPCTL=${WPCTL:-$WP_REPO/build/tools/wpctl}
P_FLOWS=4739
P_NF=4740
P_DOWN=4741
wp_init "wpe2e-ipfix-"
echo "== test_ipfix: IPFIX from 2 routers, waypointd=$WAYPOINTD"
KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" 1 "$KEY"
for r in r1 r2; do
  cat >>"$WP_TMP/$r.yaml" <<YAML
ipfix: {collectors: ["127.0.0.1:$P_FLOWS", "127.0.0.1:$P_NF", "127.0.0.1:$P_DOWN"], template_refresh: 5}
timeouts: {tcp_transitory: 2}
YAML
done
wp_check "waypointd --check accepts the ipfix config" wp_check_config "$WP_TMP/r1.yaml"

wp_basic_up
for r in r1 r2; do
  wp_cap_start "$r" lo "$WP_TMP/ipfix-$r.pcap" || wp_fail "$r: capture on lo"
  wp_bg "$r" "$WP_TMP/flows-$r.jsonl" "$WPCTL" -o json flows --listen "127.0.0.1:$P_FLOWS"
  WP_PIDS+=("$WP_BG_PID"); eval "FLOWS_$r=$WP_BG_PID"
done
wp_bg r1 "$WP_TMP/nfacctd.log" nfacctd -P print -O json -L 127.0.0.1 -l "$P_NF" -r 1 \
  -c src_host,dst_host,src_port,dst_port,proto -o "$WP_TMP/nfacctd.json"
NF_PID=$WP_BG_PID; WP_PIDS+=("$NF_PID")
udp_bound() { wp_exec "$1" ss -Hlun "sport = :$2" 2>/dev/null | grep -q .; }
for r in r1 r2; do wp_check "$r: wpctl flows collector listening" wp_until 20 udp_bound "$r" "$P_FLOWS"; done
wp_check "nfacctd listening" wp_until 20 udp_bound r1 "$P_NF"

wp_pair_start 1

wp_check "curl downloads 1 MiB through r1 and r2 (a collector is down)" \
  wp_fetch c http://10.2.0.10/file.bin "$WP_TMP/got.bin" 20
same_file() { [ "$(wp_sha "$WP_TMP/got.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")" ]; }
wp_check "download is byte-exact" same_file

# FIN both ways: tcp_transitory (2 s) + one sweep (2 s) + export flush (0.1 s).
have_end() { grep -q '"dport":80,.*"nat_event":5\|"nat_event":5.*"dport":80' "$1"; }
ended_on_both() { have_end "$WP_TMP/flows-r1.jsonl" && have_end "$WP_TMP/flows-r2.jsonl"; }
wp_until 30 ended_on_both
# nfacctd writes its table every second (-r 1).
nf_has_client() { grep -q '"ip_src": "10.1.0.10".*"port_dst": 80\|"port_dst": 80.*"ip_src": "10.1.0.10"' "$WP_TMP/nfacctd.json" 2>/dev/null; }
wp_until 20 nf_has_client
wp_expect "r1 dropped no session events" "$(wp_stat r1 counters.ipfix_events_dropped)" -eq 0
wp_router_stop r1; wp_router_stop r2
wp_cap_stop
for r in r1 r2; do pid=FLOWS_$r; wp_kill "${!pid}" INT; done
wp_kill "$NF_PID" INT

# Per IPFIX message, per record: source port, applicationName, engine id, selector (IE 95/96).
for r in r1 r2; do
  tshark -r "$WP_TMP/ipfix-$r.pcap" -d udp.port==$P_FLOWS,cflow -Y "cflow.appl_name" -T fields -E occurrence=a \
    -E aggregator='|' -e cflow.srcport -e cflow.appl_name -e cflow.appl_id.classification_engine_id \
    -e cflow.appl_id.selector_id >"$WP_TMP/tshark-app-$r.tsv" 2>/dev/null
done
out=$("$WP_PY" "$WP_E2E/ipfix_check.py" "$WP_TMP/flows-r1.jsonl" "$WP_TMP/flows-r2.jsonl" --client 10.1.0.10 \
  --server 10.2.0.10 --port 80 --r1-wp 172.16.0.1 --r2-wp 172.16.0.2 --bytes 1048576 --app HTTP \
  --tshark "$WP_TMP/tshark-app-r1.tsv" "$WP_TMP/tshark-app-r2.tsv" 2>&1)
echo "$out"
WP_NPASS=$((WP_NPASS + $(grep -c '^PASS' <<<"$out")))
WP_NFAIL=$((WP_NFAIL + $(grep -c '^FAIL' <<<"$out")))

for r in r1 r2; do
  f=$WP_TMP/ipfix-$r.pcap
  tshark -r "$f" -d udp.port==$P_FLOWS,cflow -d udp.port==$P_NF,cflow -d udp.port==$P_DOWN,cflow -V \
    >"$WP_TMP/tshark-$r.txt" 2>&1
  msgs=$(tshark -r "$f" -d udp.port==$P_FLOWS,cflow -Y "cflow" 2>/dev/null | wc -l)
  wp_expect "$r: tshark decodes IPFIX messages" "$msgs" -gt 0
  wp_expect "$r: no malformed IPFIX packets" "$(grep -ci 'malformed' "$WP_TMP/tshark-$r.txt")" -eq 0
  wp_expect "$r: tshark sees the data template 256" "$(grep -c 'Template Id: 256' "$WP_TMP/tshark-$r.txt")" -gt 0
  wp_expect "$r: tshark decodes postNAT fields" "$(grep -ci 'Post NAT Source IPv4 Address' "$WP_TMP/tshark-$r.txt")" -gt 0
done
wp_check "nfacctd received the client's session from r1" nf_has_client
joined=$("$WPCTL" flows --join "$WP_TMP/flows-r1.jsonl" "$WP_TMP/flows-r2.jsonl")
echo "$joined" | head -12
wp_expect "wpctl flows --join shows one session with records from both routers" \
  "$(grep -A2 '^session' <<<"$joined" | grep -c '172.16.0.1:[0-9]* > 172.16.0.2')" -ge 2
wp_expect "wpctl flows --join names the application of the records" "$(grep -c ' HTTP$' <<<"$joined")" -ge 2
wp_finish
