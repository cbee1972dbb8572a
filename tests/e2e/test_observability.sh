#!/bin/bash
# Observability and the API contract against a real router (canonical
# topology, r1 with a bearer token). Prometheus: r1's /metrics passes
# `promtool check metrics`; a real prometheus
# server (private config and TSDB in the test's temp dir, on loopback inside
# r1's namespace, scrape_interval 1s, the token from a file) scrapes r1;
# PromQL through its HTTP API returns the live session count r1's REST API
# gives, and a drop rate (rate() of waypoint_drops_total) once the guest's
# denied traffic runs; every expression of the Grafana dashboard
# (packaging/grafana/waypoint.json) evaluates without error. API contract:
# docs/api/check_openapi.py calls every operation of docs/api/openapi.yaml
# with valid and generated invalid inputs (seeded, bounded) and validates
# every status and body against the spec (no 5xx), and checks the documents
# `wpctl -o json` prints against it.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
PROM_PORT=${WP_PROM_PORT:-9190}
WPCTL=${WPCTL:-$WP_REPO/build/tools/wpctl}
API_SEED=${WP_API_SEED:-22}
export WP_MGMT_TOKEN=e2e-token-$$
wp_init "wpe2e-obs-"
echo "== test_observability: Prometheus scrapes r1, the REST API keeps its contract, waypointd=$WAYPOINTD"
if [ ! -x "$PROMETHEUS" ] || [ ! -x "$PROMTOOL" ]; then
  wp_fail "prometheus and promtool installed (Debian package prometheus, setup.sh)"
  wp_finish
fi
KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" 1 "$KEY"
# The contract check sends a few hundred requests: a rate limit above them (429 is in the spec).
sed -i "s/^mgmt: {listen: \"\\(.*\\)\"}/mgmt: {listen: \"\\1\", token: \"$WP_MGMT_TOKEN\", limits: {requests_per_second: 1000, burst: 1000}}/" \
  "$WP_TMP/r1.yaml"
grep -q "token: \"$WP_MGMT_TOKEN\"" "$WP_TMP/r1.yaml" || wp_fail "r1's config has the token"
wp_basic_up
wp_pair_start 1
URL=http://127.0.0.1:$WP_MGMT_PORT

# --- the exposition itself
wp_exec r1 curl -s --max-time 3 -H "Authorization: Bearer $WP_MGMT_TOKEN" "$URL/metrics" >"$WP_TMP/metrics.txt"
wp_check "r1 serves /metrics" grep -q '^waypoint_sessions_active{router="r1"}' "$WP_TMP/metrics.txt"
"$PROMTOOL" check metrics <"$WP_TMP/metrics.txt" >"$WP_TMP/promtool.out" 2>&1; rc=$?
cat "$WP_TMP/promtool.out"
wp_check "promtool check metrics: no problem (exit $rc)" test "$rc" -eq 0 -a ! -s "$WP_TMP/promtool.out"

# --- a real Prometheus scraping r1 with the token
printf '%s' "$WP_MGMT_TOKEN" >"$WP_TMP/token"
cat >"$WP_TMP/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: waypoint
    authorization: {credentials_file: $WP_TMP/token}
    static_configs: [{targets: ["127.0.0.1:$WP_MGMT_PORT"]}]
YAML
wp_check "promtool check config" "$PROMTOOL" check config "$WP_TMP/prometheus.yml"
wp_bg r1 "$WP_TMP/prometheus.log" "$PROMETHEUS" --config.file="$WP_TMP/prometheus.yml" \
  --storage.tsdb.path="$WP_TMP/tsdb" --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
WP_PIDS+=("$WP_BG_PID")
PROM=http://127.0.0.1:$PROM_PORT
# promql EXPR: the first sample's value of an instant query ("" when none).
promql() {
  wp_exec r1 curl -s --max-time 3 "$PROM/api/v1/query" --data-urlencode "query=$1" | "$WP_PY" -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
scraped() { [ "$(promql 'up{job="waypoint"}')" = 1 ]; }
wp_check "prometheus scrapes r1 (up == 1)" wp_until 40 scraped || wp_finish

# --- live sessions: PromQL equals the REST figure
wp_udp_echo_start 5201
wp_bg c "$WP_TMP/udp_client.log" "$WP_PY" -u "$WP_E2E/udp_steady.py" many 10.2.0.10 5201 4 60 0.2
WP_PIDS+=("$WP_BG_PID")
PQ_SESSIONS='sum(waypoint_sessions_active{job="waypoint",router="r1"})'
same_sessions() {
  local rest prom
  rest=$(wp_stat r1 sessions.active)
  prom=$(promql "$PQ_SESSIONS")
  echo "sessions: REST $rest, PromQL $prom" >>"$WP_TMP/sessions.log"
  [ "$rest" -ge 4 ] && [ "${prom%.*}" = "$rest" ] && [ "$prom" = "$rest" ]
}
wp_check "PromQL $PQ_SESSIONS equals r1's REST sessions.active (>= 4 live UDP sessions)" wp_until 20 same_sessions
tail -1 "$WP_TMP/sessions.log"

# --- a drop rate: the guest's UDP has no policy, every datagram is dropped
PQ_DROPS='sum(rate(waypoint_drops_total{job="waypoint",router="r1",reason="policy_deny"}[5s]))'
wp_expect "no policy_deny drops before the guest sends" "$(wp_stat r1 drops.policy_deny)" -eq 0
wp_bg g "$WP_TMP/guest.log" "$WP_PY" -u "$WP_E2E/udp_steady.py" 10.2.0.10 5201 200 0.05 64
WP_PIDS+=("$WP_BG_PID")
dropping() { local v; v=$(promql "$PQ_DROPS"); echo "drop rate: $v" >>"$WP_TMP/drops.log"; "$WP_PY" -c 'import sys; sys.exit(not float(sys.argv[1] or 0) > 1)' "$v"; }
wp_check "PromQL $PQ_DROPS > 1 packet/s while the guest sends" wp_until 20 dropping
tail -1 "$WP_TMP/drops.log"
wp_expect "r1 counts them as policy_deny" "$(wp_stat r1 drops.policy_deny)" -gt 0

# --- the dashboard's every expression evaluates on this Prometheus
wp_check "every Grafana dashboard expression evaluates" \
  wp_exec r1 "$WP_PY" "$WP_REPO/packaging/grafana/check_dashboard.py" "$WP_REPO/packaging/grafana/waypoint.json" \
  --prometheus "$PROM" --evaluate-only

# --- the REST API against docs/api/openapi.yaml, sessions live
wp_exec r1 /usr/bin/python3 "$WP_REPO/docs/api/check_openapi.py" live "$WP_REPO/docs/api/openapi.yaml" \
  --url "$URL" --token "$WP_MGMT_TOKEN" --config "$WP_TMP/r1.yaml" --seed "$API_SEED" --seconds 25 \
  --wpctl "$WPCTL" >"$WP_TMP/api.out" 2>&1; rc=$?
tail -25 "$WP_TMP/api.out"
wp_check "every REST response fits docs/api/openapi.yaml, no 5xx, wpctl's documents too (seed $API_SEED)" test "$rc" -eq 0
wp_check "r1 still running after the contract check" wp_alive "${WP_ROUTER_PID[r1]}"
wp_expect "r1 still answers stats" "$(wp_stat r1 workers)" -ge 1

wp_check "r1 exits 0" wp_router_stop r1
wp_check "r2 exits 0" wp_router_stop r2
wp_finish
