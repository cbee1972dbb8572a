#!/bin/bash
# waypointd as systemd runs it (packaging/systemd/waypointd@.service), on a
# host without systemd as PID 1: the notify socket is a python receiver
# (notify_recv.py), journald's socket another (journal_recv.py, bound over
# /run/systemd/journal in the router's own mount namespace only), stderr is
# named by JOURNAL_STREAM as systemd does, the unit's hardening is applied by
# unit_sandbox.sh from the unit file itself, and WATCHDOG_USEC is set.
#   - waypointd's own lines reach the journal with PRIORITY, ROUTER, WORKER, REASON;
#   - READY=1 arrives once the ports and workers run (REST answers then);
#   - WATCHDOG=1 arrives every WATCHDOG_USEC/2;
#   - a worker stalled through the debug hook (--debug-hooks, SIGUSR2) stops
#     the pings for longer than WATCHDOG_USEC (systemd would restart the
#     unit), and the pings resume when it is released;
#   - SIGHUP (ExecReload) commits a changed config file live (REST shows it)
#     and refuses a broken one, the old config kept; STOPPING=1 on SIGTERM;
#   - systemd-analyze verify accepts the unit.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

UNIT=$WP_REPO/packaging/systemd/waypointd@.service
WATCHDOG_USEC=1000000
wp_init "wpe2e-sd-"
echo "== test_systemd: notify, watchdog, reload; waypointd=$WAYPOINTD"
# Outside /tmp, like /etc/waypoint and /run/systemd/notify: the unit's PrivateTmp hides /tmp.
RUN=$(mktemp -d "/run/${WP_PREFIX}XXXXXX")
trap 'rc=$?; rm -rf "$RUN"; (exit $rc); wp_cleanup' EXIT
NOTIFY_LOG=$WP_TMP/notify.log
JOURNAL=$WP_TMP/journal.txt
: >"$NOTIFY_LOG"
: >"$JOURNAL"
mkdir "$RUN/journal"
"$WP_PY" -u "$WP_E2E/notify_recv.py" "$RUN/notify.sock" "$NOTIFY_LOG" >"$WP_TMP/notify_recv.log" 2>&1 &
WP_PIDS+=("$!")
"$WP_PY" -u "$WP_E2E/journal_recv.py" "$RUN/journal/socket" "$JOURNAL" >"$WP_TMP/journal_recv.log" 2>&1 &
WP_PIDS+=("$!")

wp_ns_add r1 x || { wp_fail "namespaces"; wp_finish; }
wp_veth r1 r1l x xl && wp_veth r1 r1w x xw || { wp_fail "veths"; wp_finish; }
wp_until 10 test -S "$RUN/notify.sock" -a -S "$RUN/journal/socket" || { wp_fail "notify/journal sockets"; wp_finish; }
KEY=$(wp_keygen)
CFG=$RUN/r1.yaml
wp_conf_router r1 10.1.0.1/24 1 r2 wan0:172.16.0.1/24 -- "r2:172.16.0.2:$KEY" >"$CFG"

# --- start as the unit does, under its sandbox. The unit hides /tmp (PrivateTmp) and
# /home, /root (ProtectHome), where a checkout's build may live: run a copy from $RUN,
# as the package runs /usr/bin/waypointd.
cp "$WAYPOINTD" "$RUN/waypointd" || { wp_fail "copy waypointd to $RUN"; wp_finish; }
eal=$(wp_eal_args r1 1 r1l r1w)
WP_ROUTER_LOG[r1]=$WP_TMP/r1.log
: >"${WP_ROUTER_LOG[r1]}"
# In a mount namespace of its own: a fresh /run holding only $RUN and our
# journal socket at journald's path (fd 3 reaches $RUN once /run is covered).
# shellcheck disable=SC2016
journal_ns='exec 3<"$0"; mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p "$0" /run/systemd/journal &&
  mount --no-canonicalize --bind /proc/self/fd/3 "$0" && mount --bind "$0/journal" /run/systemd/journal && exec 3<&- && exec "$@"'
# shellcheck disable=SC2086
wp_bg r1 "${WP_ROUTER_LOG[r1]}" env NOTIFY_SOCKET="$RUN/notify.sock" WATCHDOG_USEC=$WATCHDOG_USEC \
  JOURNAL_STREAM="$(stat -c %d:%i "${WP_ROUTER_LOG[r1]}")" \
  unshare -m --propagation private sh -c "$journal_ns" "$RUN" \
  "$WP_E2E/unit_sandbox.sh" "$UNIT" "$RUN/waypointd" --config "$CFG" --debug-hooks -- $eal
WP_ROUTER_PID[r1]=$WP_BG_PID
R1=$WP_BG_PID

notes() { grep -c -- "$1" "$NOTIFY_LOG"; }
# journaled PATTERN [MIN]: journal entries (all fields on one line) matching PATTERN.
journaled() { wp_log_has "$JOURNAL" "$@"; }
has_note() { [ "$(notes "$1")" -ge "${2:-1}" ]; }
wp_check "READY=1 arrives" wp_until 40 has_note "READY=1"
ready_line=$(grep -m1 "READY=1" "$NOTIFY_LOG")
wp_check "REST answers once READY=1 came (ports and workers up)" wp_ready_try r1
wp_check "READY carries a STATUS naming the router and commit" grep -q "STATUS=router r1: 1 worker(s) running.*commit" <<<"$ready_line"
wp_check "the sandbox held: NoNewPrivs in the router's status" grep -q "^NoNewPrivs:.*1" "/proc/$R1/status"
wp_check "the sandbox held: capability bounding set narrowed" \
  test "$(awk '/^CapBnd/ {print $2}' "/proc/$R1/status")" != "$(awk '/^CapBnd/ {print $2}' /proc/self/status)"
# (MemoryDenyWriteExecute: unit_sandbox.sh stops the start when prctl
# refuses; /proc shows no MDWE state of another process to check here.)
wp_check "the sandbox held: /proc/sys read-only" awk '$5 == "/proc/sys" && $6 ~ /^ro/ {f = 1} END {exit !f}' "/proc/$R1/mountinfo"

# --- watchdog pings while the workers run
n0=$(notes WATCHDOG=1)
wp_check "WATCHDOG=1 keeps arriving (3 more)" wp_until 10 has_note WATCHDOG=1 $((n0 + 3))

# Seconds since the last ping, from the receiver's clock (the same host clock).
since_ping() { awk -v now="$(date +%s.%N)" '/WATCHDOG=1/ {t = $1} END {printf "%.1f", now - t}' "$NOTIFY_LOG"; }
silent_for() { awk -v s="$(since_ping)" -v want="$1" 'BEGIN {exit !(s >= want)}'; }

# --- a stalled worker stops the pings
kill -USR2 "$R1"
wp_check "debug hook stalls worker 0 (journal: REASON=debug-hook)" wp_until 10 journaled "MESSAGE=debug hook: worker 0 stalled | PRIORITY=4 | .*REASON=debug-hook"
# systemd fires after WATCHDOG_USEC without a ping: ask for 2 x that.
wp_check "no WATCHDOG=1 for 2 s while worker 0 is stuck" wp_until 15 silent_for 2.0
wp_expect "the stall is journaled once: PRIORITY=4 ROUTER=r1 WORKER=0 REASON=worker-stalled" \
  "$(grep -c "worker 0's loop stopped advancing.* | PRIORITY=4 | SYSLOG_IDENTIFIER=waypointd | ROUTER=r1 | WORKER=0 | REASON=worker-stalled" "$JOURNAL")" -eq 1
n1=$(notes WATCHDOG=1)
kill -USR2 "$R1"
wp_check "pings resume once the worker is released" wp_until 10 has_note WATCHDOG=1 $((n1 + 2))
wp_check "the recovery is journaled (REASON=worker-resumed)" wp_until 5 journaled "worker 0's loop advances again.*WORKER=0 | REASON=worker-resumed"

# --- SIGHUP reloads the file through the live commit
config_json() { wp_exec r1 curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/config"; }
config_has() { config_json | grep -q "$1"; }
if config_has '"8443"'; then wp_fail "before: port 8443 not configured"; else wp_pass "before: port 8443 not configured"; fi
sed -i 's/ports: \["80", "8000", "5201"\]/ports: ["80", "8000", "5201", "8443"]/' "$CFG"
r0=$(notes RELOADING=1)
kill -HUP "$R1"
wp_check "reload: the new port is live (REST)" wp_until 15 config_has '"8443"'
wp_check "reload: audited (REASON=config-commit)" wp_until 5 journaled "MESSAGE=audit: config version 2 by reload:$CFG.*REASON=config-commit"
wp_check "reload: RELOADING=1 then READY=1" wp_until 5 has_note RELOADING=1 $((r0 + 1))
wp_check "reload: READY=1 again" wp_until 5 has_note "READY=1|STATUS=reloaded" 1
cp "$CFG" "$RUN/good.yaml"
echo "services: [oops" >>"$CFG"
kill -HUP "$R1"
wp_check "broken file: refused, journaled at priority err" wp_until 15 journaled "MESSAGE=reload of $CFG refused, config version 2 kept.* | PRIORITY=3 | .*REASON=config-reload-refused"
wp_check "broken file: the old config stays (REST)" config_has '"8443"'
wp_check "broken file: the router runs on" wp_alive "$R1"
wp_check "broken file: pings continue" wp_until 5 has_note WATCHDOG=1 $(($(notes WATCHDOG=1) + 1))

# --- shutdown
wp_check "SIGTERM: clean exit" wp_router_stop r1
wp_check "STOPPING=1 on shutdown" has_note STOPPING=1
wp_check "start journaled (REASON=start)" journaled "MESSAGE=router r1: 1 worker(s) running.*REASON=start"
wp_check "stop journaled (REASON=stop)" wp_until 5 journaled "MESSAGE=shutting down.*REASON=stop"
wp_check "no line per packet: under 30 journal entries" test "$(wc -l <"$JOURNAL")" -lt 30

# --- the unit file itself
if command -v systemd-analyze >/dev/null; then
  # verify wants ExecStart's binary to exist: point it at the one under test.
  sed "s|/usr/bin/waypointd|$WAYPOINTD|g" "$UNIT" >"$RUN/waypointd@.service"
  systemd-analyze verify "$RUN/waypointd@.service" >"$WP_TMP/verify.log" 2>&1; rc=$?
  grep -v -e "^$" "$WP_TMP/verify.log" | sed 's/^/  verify: /'
  wp_expect "systemd-analyze verify accepts the unit" "$rc" -eq 0
else
  echo "SKIP: systemd-analyze not installed"
fi
wp_finish
