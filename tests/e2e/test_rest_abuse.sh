#!/bin/bash
# Attacks on the REST API (docs/security.md § Management plane) while a curl
# through r1/r2 is forwarded byte-exact: an alias bomb PUT (refused with 422,
# r1's memory flat), an oversized body (413), slow clients (cut at the request
# deadline), more connections than allowed (closed at once), a request flood
# from one address (429); each attack named by its counter in /metrics, and no
# config ever applied.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

TOKEN=e2e-abuse-token-$$
export WP_MGMT_TOKEN=$TOKEN  # lib.sh's stats polls
wp_init "wpe2e-restabuse-"
echo "== test_rest_abuse: REST API under attack, waypointd=$WAYPOINTD"
KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" 1 "$KEY"
limits="limits: {request_timeout_ms: 1500, max_connections: 8, requests_per_second: 5, burst: 10}"
sed -i "s/^mgmt: {listen: \"\\(.*\\)\"}/mgmt: {listen: \"\\1\", token: \"$TOKEN\", $limits}/" "$WP_TMP/r1.yaml"
grep -q "max_connections: 8" "$WP_TMP/r1.yaml" || wp_fail "config has the limits"
wp_basic_up
head -c 4194304 /dev/urandom >"$WP_TMP/www/big.bin"
wp_pair_start 1
R1_PID=${WP_ROUTER_PID[r1]}
URL=http://127.0.0.1:$WP_MGMT_PORT
rss() { awk '/^VmRSS/ {print $2}' "/proc/$R1_PID/status"; }
# HTTP status of a PUT of file $1 to r1's config.
put_status() {
  wp_exec r1 curl -s -o "$WP_TMP/put.out" -w '%{http_code}' --max-time 20 -X PUT --data-binary "@$1" \
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/yaml" "$URL/api/v1/config"
}
refused() {  # the value of waypoint_mgmt_refused_total for reason $1
  wp_exec r1 curl -s --max-time 5 -H "Authorization: Bearer $TOKEN" "$URL/metrics" |
    awk -v r="reason=\"$1\"}" 'index($0, r) {print $2}'
}

# --- a slow download through the routers, running during every attack
wp_bg c "$WP_TMP/curl.log" curl -sS --max-time 120 -o "$WP_TMP/got.bin" "http://10.2.0.10/big.bin?rate=204800"
CURL_PID=$WP_BG_PID
got_some() { [ "$(stat -c %s "$WP_TMP/got.bin" 2>/dev/null || echo 0)" -gt 65536 ]; }
wp_check "the download is moving" wp_until 20 got_some
rss_before=$(rss)

# --- alias bomb: 1 KiB of YAML standing for 9^10 nodes
"$WP_PY" - "$WP_TMP/bomb.yaml" <<'PY'
import sys
y = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
for i in range(1, 11):
    y += "a%d: &a%d [%s]\n" % (i, i, ", ".join(["*a%d" % (i - 1)] * 9))
open(sys.argv[1], "w").write(y + "router: {name: *a10}\n")
PY
for i in 1 2 3; do code=$(put_status "$WP_TMP/bomb.yaml"); done
wp_expect "alias bomb PUT: 422" "$code" -eq 422
wp_check "alias bomb PUT: the reason" grep -q "anchors and aliases are not accepted" "$WP_TMP/put.out"

# --- a file may use anchors: wpctl expands them before sending, the raw text is refused
sed -e '0,/tenant: branch/s//tenant: \&b branch/' -e '0,/tenant: branch, service: iperf-udp/s//tenant: *b, service: iperf-udp/' \
  "$WP_TMP/r1.yaml" >"$WP_TMP/anchored.yaml"
wp_check "the file uses an anchor and an alias" grep -q '\*b, service: iperf-udp' "$WP_TMP/anchored.yaml"
wp_expect "its raw text PUT: 422" "$(put_status "$WP_TMP/anchored.yaml")" -eq 422
wp_check "wpctl config push --dry-run of it: valid" \
  wp_exec r1 "${WPCTL:-$WP_REPO/build/tools/wpctl}" --url "$URL" --token "$TOKEN" config push --dry-run "$WP_TMP/anchored.yaml"

# --- oversized body (the default limit is 4 MiB)
head -c 5000000 /dev/zero | tr '\0' '#' >"$WP_TMP/big.yaml"
wp_expect "5 MB PUT: 413" "$(put_status "$WP_TMP/big.yaml")" -eq 413

# --- slow clients: 6 connections sending a header byte every 0.2 s
cut=$(wp_exec r1 "$WP_PY" "$WP_E2E/rest_abuse.py" slow 127.0.0.1 "$WP_MGMT_PORT" 6 10)
wp_expect "all 6 slow clients cut at the deadline" "$cut" -eq 6
# --- 12 slow clients against max_connections 8: 4 closed at once
cut=$(wp_exec r1 "$WP_PY" "$WP_E2E/rest_abuse.py" slow 127.0.0.1 "$WP_MGMT_PORT" 12 10)
wp_expect "12 connections: all closed (4 at once, 8 at the deadline)" "$cut" -eq 12
# --- a request flood from one address (127.0.0.2: the test's own calls keep their budget)
flood=$(wp_exec r1 "$WP_PY" "$WP_E2E/rest_abuse.py" rate 127.0.0.1 "$WP_MGMT_PORT" "$TOKEN" 40 127.0.0.2)
echo "flood: $flood"
wp_check "request flood: some answered 429" bash -c "[[ '$flood' =~ 429=[1-9] ]]"

# --- the counters name each attack, nothing was applied, memory stayed flat
for reason in config_aliases body_too_large slow_client too_many_connections rate_limited; do
  n=$(refused "$reason")
  wp_expect "metrics: refused reason=$reason" "${n:-0}" -ge 1
done
rss_after=$(rss)
wp_log "r1 VmRSS before the attacks ${rss_before} kB, after ${rss_after} kB"
wp_expect "r1 memory flat (grew < 32 MiB)" "$((rss_after - rss_before))" -lt 32768
version=$(wp_exec r1 curl -s --max-time 5 -H "Authorization: Bearer $TOKEN" "$URL/metrics" |
  awk '/^waypoint_config_version/ {print $2}')
wp_expect "config version still 1" "${version:-0}" -eq 1
wp_check "the download finishes" wp_until 60 wp_dead "$CURL_PID"
wp_check "the download is byte-exact" test "$(wp_sha "$WP_TMP/got.bin")" = "$(wp_sha "$WP_TMP/www/big.bin")"
wp_check "audit log: the start config, no change" bash -c "grep -c 'waypointd: audit:' '${WP_ROUTER_LOG[r1]}' | grep -qx 1"
wp_check "r1 exits 0" wp_router_stop r1
wp_check "r2 exits 0" wp_router_stop r2
wp_finish
