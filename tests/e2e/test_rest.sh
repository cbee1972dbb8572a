#!/bin/bash
# REST API + wpctl (#7) against real routers (canonical topology, r1 with a
# bearer token): auth failures and an unreachable daemon give clear exits;
# a curl session shows up in `wpctl sessions` (filters, -o json) and
# `wpctl session UUID`; stats, peers, ha, metrics answer; a bad config is
# refused with its path and never applied; a pushed policy change denies the
# service live (no restart, same pid) and pushing the old config allows it again.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WPCTL=${WPCTL:-$WP_REPO/build/tools/wpctl}
export WP_MGMT_TOKEN=e2e-token-$$
wp_init "wpe2e-rest-"
echo "== test_rest: REST API and wpctl, waypointd=$WAYPOINTD"
KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" 1 "$KEY"
for r in r1 r2; do
  sed -i "s/^mgmt: {listen: \"\\(.*\\)\"}/mgmt: {listen: \"\\1\", token: \"$WP_MGMT_TOKEN\"}/" "$WP_TMP/$r.yaml"
done
grep -q "token: \"$WP_MGMT_TOKEN\"" "$WP_TMP/r1.yaml" || wp_fail "config has the token"
wp_basic_up
wp_pair_start 1
R1_PID=${WP_ROUTER_PID[r1]}
URL=http://127.0.0.1:$WP_MGMT_PORT
ctl() { wp_exec r1 "$WPCTL" --url "$URL" --token "$WP_MGMT_TOKEN" "$@"; }

# --- auth and reachability
wp_exec r1 "$WPCTL" --url "$URL" stats >/dev/null 2>"$WP_TMP/noauth.err"; rc=$?
wp_expect "no token: exit 3" "$rc" -eq 3
wp_check "no token: says so" grep -q "authentication failed (401" "$WP_TMP/noauth.err"
wp_exec r1 "$WPCTL" --url "$URL" --token wrong stats >/dev/null 2>"$WP_TMP/wrong.err"; rc=$?
wp_expect "wrong token: exit 3" "$rc" -eq 3
wp_check "wrong token: says so" grep -q "403, wrong token" "$WP_TMP/wrong.err"
wp_exec r1 "$WPCTL" --url http://127.0.0.1:1 stats >/dev/null 2>"$WP_TMP/down.err"; rc=$?
wp_expect "daemon not reachable: exit 2" "$rc" -eq 2
wp_check "daemon not reachable: says so" grep -q "cannot reach waypointd" "$WP_TMP/down.err"

# --- sessions
wp_check "curl through r1/r2" wp_fetch c http://10.2.0.10/file.bin "$WP_TMP/got.bin" 20
# The listing is the mgmt thread's snapshot, fed by the workers' session events.
listed() { ctl sessions >"$WP_TMP/sessions.txt" && grep -q "10.1.0.10:[0-9]* > 10.2.0.10:80 tcp" "$WP_TMP/sessions.txt"; }
wp_until 10 listed
cat "$WP_TMP/sessions.txt"
wp_check "wpctl sessions lists the curl session" grep -q "10.1.0.10:[0-9]* > 10.2.0.10:80 tcp" "$WP_TMP/sessions.txt"
ctl -o json sessions --tenant branch --addr 10.1.0.10 >"$WP_TMP/sessions.json"
UUID=$("$WP_PY" -c 'import json,sys; s=json.load(open(sys.argv[1]))["sessions"]; print(s[0]["uuid"] if len(s)==1 else "")' "$WP_TMP/sessions.json")
wp_check "wpctl -o json sessions --tenant --addr: exactly one session" test -n "$UUID"
nguest=$(ctl -o json sessions --tenant guests | "$WP_PY" -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')
wp_expect "no guests sessions" "$nguest" -eq 0
ctl session "$UUID" >"$WP_TMP/session.txt"
wp_check "wpctl session UUID shows the waypoint leg" grep -q "left      172.16.0.1:[0-9]* > 172.16.0.2" "$WP_TMP/session.txt"
wp_check "wpctl session of an unknown UUID fails" \
  bash -c "! ip netns exec $(wp_ns r1) $WPCTL --url $URL --token $WP_MGMT_TOKEN session 00000000-0000-4000-8000-000000000000 2>/dev/null"

# --- stats, peers, ha, metrics
wp_check "wpctl stats shows drop reasons" bash -c "ip netns exec $(wp_ns r1) $WPCTL --url $URL --token $WP_MGMT_TOKEN stats | grep -q policy_deny"
wp_check "wpctl peers lists r2" bash -c "ip netns exec $(wp_ns r1) $WPCTL --url $URL --token $WP_MGMT_TOKEN peers | grep -q '^r2 .*172.16.0.2'"
wp_check "wpctl ha: standalone" bash -c "ip netns exec $(wp_ns r1) $WPCTL --url $URL --token $WP_MGMT_TOKEN ha | grep -q standalone"
ctl metrics >"$WP_TMP/metrics.txt"
wp_check "metrics: drops by reason" grep -q 'waypoint_drops_total{router="r1",reason="policy_deny"}' "$WP_TMP/metrics.txt"
wp_check "metrics: sessions created" grep -q 'waypoint_sessions_created_total{router="r1"} [1-9]' "$WP_TMP/metrics.txt"
wp_check "config show redacts keys" bash -c "ip netns exec $(wp_ns r1) $WPCTL --url $URL --token $WP_MGMT_TOKEN config show | grep -q '<redacted>'"

# --- config: bad one refused with its path, a policy change applied live
sed 's/10.2.0.0\/24\], protocol: tcp/10.2.0.0\/33], protocol: tcp/' "$WP_TMP/r1.yaml" >"$WP_TMP/bad.yaml"
"$WPCTL" config check "$WP_TMP/bad.yaml" >/dev/null 2>"$WP_TMP/check.err"; rc=$?
wp_expect "config check of a bad file: exit 1" "$rc" -eq 1
wp_check "config check names the path" grep -q "services\[0\].prefixes\[0\]" "$WP_TMP/check.err"
ctl config push "$WP_TMP/bad.yaml" >/dev/null 2>"$WP_TMP/push.err"; rc=$?
wp_expect "config push of a bad file: exit 1" "$rc" -eq 1
wp_check "push error names the path (HTTP 422)" grep -q "services\[0\].prefixes\[0\]" "$WP_TMP/push.err"
grep -v "tenant: branch, service: web" "$WP_TMP/r1.yaml" >"$WP_TMP/deny.yaml"
wp_check "config check --remote accepts the policy change" ctl config check --remote "$WP_TMP/deny.yaml"
before=$(wp_stat r1 drops.policy_deny)
wp_check "config push: web no longer allowed" bash -c "ip netns exec $(wp_ns r1) $WPCTL --url $URL --token $WP_MGMT_TOKEN config push $WP_TMP/deny.yaml >$WP_TMP/push.out"
cat "$WP_TMP/push.out"
wp_check "the curl session (still in TCP close-wait) was torn down by the new policy" grep -q ", 1 session(s) closed" "$WP_TMP/push.out"
left=$(ctl -o json sessions --tenant branch | "$WP_PY" -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')
wp_expect "no branch sessions left in the listing" "$left" -eq 0
# Denied: no answer, and r1 says it dropped the SYN for policy (so a short timeout is enough).
wp_check "curl is now denied" bash -c "! ip netns exec $(wp_ns c) curl -s -o /dev/null --max-time 1.5 http://10.2.0.10/file.bin"
wp_expect "r1 counts policy_deny" "$(wp_wait_stat r1 drops.policy_deny $((before + 1)))" -gt "$before"
wp_check "config push: the old config again" ctl config push "$WP_TMP/r1.yaml"
wp_check "curl works again" wp_fetch c http://10.2.0.10/file.bin "$WP_TMP/got2.bin" 20
wp_check "r1 was never restarted" wp_alive "$R1_PID"
wp_expect "config version is 3" "$(ctl metrics | awk '/^waypoint_config_version/ {print $2}')" -eq 3
wp_check "r1 exits 0" wp_router_stop r1
wp_check "r2 exits 0" wp_router_stop r2
wp_finish
