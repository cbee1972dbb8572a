#!/bin/bash
# Redis config store (#7): a real redis-server in r1's namespace; r1 runs
# `waypointd --config-redis`. A pushed policy change (wpctl config push
# --redis) denies the service without a restart; a bad config written to
# Redis by hand is rejected with its path and never applied; Redis killed:
# traffic keeps flowing with the last config; Redis restarted: a new push
# applies again. r2 uses a file.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WPCTL=${WPCTL:-$WP_REPO/build/tools/wpctl}
RPORT=6391
PREFIX=waypoint:r1
wp_init "wpe2e-redis-"
echo "== test_redis: Redis config store, waypointd=$WAYPOINTD"
KEY=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" 1 "$KEY"
grep -v "tenant: branch, service: web" "$WP_TMP/r1.yaml" >"$WP_TMP/deny.yaml"
wp_basic_up

redis_pong() { wp_exec r1 redis-cli -p $RPORT ping 2>/dev/null | grep -q PONG; }
redis_start() {
  wp_bg r1 "$WP_TMP/redis.log" redis-server --bind 127.0.0.1 --port $RPORT --save '' --appendonly no --daemonize no
  REDIS_PID=$WP_BG_PID; WP_PIDS+=("$REDIS_PID")
  wp_until 20 redis_pong
}
push() { wp_exec r1 "$WPCTL" config push "$1" --redis 127.0.0.1:$RPORT --prefix $PREFIX; }
curl_ok() { wp_exec c curl -s -o /dev/null --max-time 20 http://10.2.0.10/file.bin; }
# Denied: no answer within 1.5 s, and r1 counted the SYN as policy_deny (that
# is what makes a short timeout enough, even on a slow host).
curl_denied() {
  local before; before=$(wp_stat r1 drops.policy_deny)
  ! wp_exec c curl -s -o /dev/null --max-time 1.5 http://10.2.0.10/file.bin &&
    [ "$(wp_wait_stat r1 drops.policy_deny $((before + 1)))" -gt "$before" ]
}
wait_log() { wp_until "${2:-20}" wp_log_has "${WP_ROUTER_LOG[r1]}" "$1" "${3:-1}"; }  # PATTERN [SECONDS] [MIN_COUNT]

wp_check "redis-server starts" redis_start || wp_finish
wp_check "wpctl config push --redis writes the config" push "$WP_TMP/r1.yaml"
wp_expect "version counter is 1" "$(wp_exec r1 redis-cli -p $RPORT GET $PREFIX:version)" -eq 1
wp_check "the keys follow the documented layout" bash -c \
  "ip netns exec $(wp_ns r1) redis-cli -p $RPORT GET $PREFIX:config:policies | grep -q '\"service\":\"web\"'"
wp_exec r1 "$WPCTL" config push "$WP_TMP/missing.yaml" --redis 127.0.0.1:$RPORT --prefix $PREFIX 2>/dev/null
wp_expect "push of an unreadable file writes nothing" "$(wp_exec r1 redis-cli -p $RPORT GET $PREFIX:version)" -eq 1

EAL=$(wp_eal_args r1 1 r1l r1w)
WP_ROUTER_LOG[r1]=$WP_TMP/r1.log
# shellcheck disable=SC2086
wp_bg r1 "${WP_ROUTER_LOG[r1]}" "$WAYPOINTD" --config-redis 127.0.0.1:$RPORT --redis-prefix $PREFIX -- $EAL
WP_ROUTER_PID[r1]=$WP_BG_PID
R1_PID=$WP_BG_PID
wp_router_start r2 "$WP_TMP/r2.yaml" 1 r2l r2w
wp_check "r1 ready (config from Redis)" wp_wait_ready r1 || wp_finish
wp_check "r2 ready" wp_wait_ready r2 || wp_finish
wp_check "curl works with the config from Redis" curl_ok

wp_check "push: web no longer allowed" push "$WP_TMP/deny.yaml"
wp_check "r1 commits version 2 live" wait_log "redis config version 2 committed"
wp_check "curl is denied now" curl_denied
wp_expect "r1 counts policy_deny" "$(wp_stat r1 drops.policy_deny)" -gt 0

# A hand-written bad value: rejected with its path, never applied.
wp_exec r1 redis-cli -p $RPORT SET $PREFIX:config:timeouts '{"udp": "soon"}' >/dev/null
wp_exec r1 redis-cli -p $RPORT INCR $PREFIX:version >/dev/null
wp_exec r1 redis-cli -p $RPORT PUBLISH $PREFIX:changes 3 >/dev/null
wp_check "r1 rejects version 3 and says where" wait_log "timeouts.udp"
wp_check "r1 reports it as not applied" wait_log "version 3 rejected, not applied"
wp_check "still denied (the last good config stays)" curl_denied

wp_check "push: web allowed again" push "$WP_TMP/r1.yaml"
wp_check "r1 commits version 4" wait_log "redis config version 4 committed"
wp_check "curl works again" curl_ok

wp_kill "$REDIS_PID" TERM
wp_check "r1 notices Redis is gone" wait_log "lost redis"
wp_check "traffic keeps flowing without Redis" curl_ok
wp_check "redis-server restarts (empty)" redis_start || wp_finish
wp_check "r1 reconnects" wait_log "redis 127.0.0.1:$RPORT connected" 30 2
wp_check "push to the restarted Redis" push "$WP_TMP/deny.yaml"
wp_check "r1 commits it (version 1 of the new Redis)" wait_log "redis config version 1 committed" 30
wp_check "curl is denied again" curl_denied
wp_check "r1 was never restarted" wp_alive "$R1_PID"
wp_check "r1 exits 0" wp_router_stop r1
wp_check "r2 exits 0" wp_router_stop r2
wp_finish
