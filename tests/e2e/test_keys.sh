#!/bin/bash
# Pair-key rotation without a restart and without losing a session
# (docs/security.md § Keys), canonical topology:
#   client — r1 (branch) — WAN bridge — r2 (headend) — server
# Every policy encrypts data and metadata (keys derived from the pair key).
# A rate-limited 1 MiB HTTP download starts under key version 1; while it
# runs, both routers get version 2 beside version 1 (wpctl config push, same
# pids); new sessions make each end hear that the other holds version 2 and
# both move to it (counters.pair_key_switches); then version 1 is retired on
# both. The download, keyed from version 1, finishes byte-exact; a session
# opened after the retirement works. Then version 3 beside 2 with
# retire_after_s: 3: each router retires version 2 on its own once both sign
# with 3 (running config key_version 3, logged and audited), and new
# sessions work. Nothing was dropped for a bad HMAC or an unknown key version. lib.sh's cleanup then greps every log for both keys.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

WPCTL=${WPCTL:-$(dirname "$WAYPOINTD")/wpctl}
wp_init "wpe2e-keys-"
echo "== test_keys: pair-key rotation under a live session, waypointd=$WAYPOINTD"
if [ ! -x "$WAYPOINTD" ] || [ ! -x "$WPCTL" ]; then wp_fail "waypointd/wpctl not found next to $WAYPOINTD"; wp_finish; fi

KEY1=$(wp_keygen) KEY2=$(wp_keygen) KEY3=$(wp_keygen)
wp_gen_basic_configs "$WP_TMP" 1 "$KEY1"
enc_conf() {  # FILE: every policy encrypts data and metadata
  sed -i -e 's/service: web}/service: web, security: enc}/' -e 's/service: iperf-udp}/service: iperf-udp, security: enc}/' "$1"
  printf 'security_policies:\n  - {name: enc, encryption: aes256-cbc, hmac: every-packet, adaptive: on, metadata_encryption: on}\n' >>"$1"
}
for r in r1 r2; do
  enc_conf "$WP_TMP/$r.yaml"
  sed "s/key: \"$KEY1\"}/key: \"$KEY1\", next_key: \"$KEY2\"}/" "$WP_TMP/$r.yaml" >"$WP_TMP/$r-both.yaml"
  sed "s/key: \"$KEY1\"}/key: \"$KEY2\", key_version: 2}/" "$WP_TMP/$r.yaml" >"$WP_TMP/$r-v2.yaml"
  wp_check "$r: the rotation configs hold the new key" grep -q "next_key: \"$KEY2\"" "$WP_TMP/$r-both.yaml"
  wp_check "waypointd --check accepts $r-both.yaml" wp_check_config "$WP_TMP/$r-both.yaml"
  wp_check "waypointd --check accepts $r-v2.yaml" wp_check_config "$WP_TMP/$r-v2.yaml"
done

wp_basic_up
wp_pair_start 1
PIDS="${WP_ROUTER_PID[r1]} ${WP_ROUTER_PID[r2]}"
push() { wp_exec "$1" "$WPCTL" --url "http://127.0.0.1:$WP_MGMT_PORT" config push "$2" >>"$WP_TMP/push.out" 2>&1; }

# --- a session keyed from version 1, running through the whole rotation
wp_bg c "$WP_TMP/long-curl.out" curl -sS --max-time 80 -o "$WP_TMP/long.bin" "http://10.2.0.10/file.bin?rate=40960"
LONG=$WP_BG_PID
WP_PIDS+=("$LONG")
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
started() { [ "$(size_of "$WP_TMP/long.bin")" -gt 20000 ]; }
wp_check "the long download is moving (> 20 kB arrived)" wp_until 30 started

# --- version 2 beside version 1 on both ends; senders move once both hold it
wp_check "push version 1 + 2 to r2" push r2 "$WP_TMP/r2-both.yaml"
wp_check "push version 1 + 2 to r1" push r1 "$WP_TMP/r1-both.yaml"
n=0
switched() {  # a new session each poll: its metadata carries what each end holds
  n=$((n + 1))
  wp_fetch c "http://10.2.0.10/file.bin?s=$n" "$WP_TMP/short.bin" 10 || return 1
  [ "$(wp_stat r1 counters.pair_key_switches)" -ge 1 ] && [ "$(wp_stat r2 counters.pair_key_switches)" -ge 1 ]
}
wp_check "both routers moved to version 2 (counters.pair_key_switches)" wp_until 30 switched
wp_check "the long download is still running during the rotation" wp_alive "$LONG"

# --- retire version 1
wp_check "push version 2 alone to r1" push r1 "$WP_TMP/r1-v2.yaml"
wp_check "push version 2 alone to r2" push r2 "$WP_TMP/r2-v2.yaml"
wp_check "the long download is still running after the retirement" wp_alive "$LONG"
wp_check "a session opened under version 2 alone: 1 MiB byte-exact" bash -c \
  "ip netns exec $(wp_ns c) curl -sS --max-time 20 -o $WP_TMP/new.bin http://10.2.0.10/file.bin &&
   [ \"\$(sha256sum <$WP_TMP/new.bin)\" = \"\$(sha256sum <$WP_TMP/www/file.bin)\" ]"

# --- version 3 beside 2, retired on its own (peers[].retire_after_s) once
# both ends sign with 3: no second push
for r in r1 r2; do
  sed "s/key: \"$KEY1\"}/key: \"$KEY2\", key_version: 2, next_key: \"$KEY3\", retire_after_s: 3}/" \
    "$WP_TMP/$r.yaml" >"$WP_TMP/$r-v3.yaml"
  wp_check "waypointd --check accepts $r-v3.yaml" wp_check_config "$WP_TMP/$r-v3.yaml"
done
switches() { echo $(( $(wp_stat r1 counters.pair_key_switches) + $(wp_stat r2 counters.pair_key_switches) )); }
before=$(switches)
wp_check "push version 2 + 3 (retire_after_s: 3) to r2" push r2 "$WP_TMP/r2-v3.yaml"
wp_check "push version 2 + 3 (retire_after_s: 3) to r1" push r1 "$WP_TMP/r1-v3.yaml"
switched3() {
  n=$((n + 1))
  wp_fetch c "http://10.2.0.10/file.bin?s=$n" "$WP_TMP/short.bin" 10 || return 1
  [ "$(switches)" -ge $((before + 2)) ]
}
wp_check "both routers moved to version 3" wp_until 30 switched3
peer_keys() {  # ROUTER: "<key_version> <next_key set>" of its running config
  wp_exec "$1" curl -s --max-time 2 "http://127.0.0.1:$WP_MGMT_PORT/api/v1/config" | "$WP_PY" -c '
import json, sys
p = json.load(sys.stdin)["peers"][0]
print(p.get("key_version", p.get("keyVersion", 1)), int(bool(p.get("next_key", p.get("nextKey", "")))))'
}
retired3() { [ "$(peer_keys r1)" = "3 0" ] && [ "$(peer_keys r2)" = "3 0" ]; }
wp_check "both routers retired version 2 on their own (running config: key_version 3, no next_key)" \
  wp_until 30 retired3
for r in r1 r2; do
  wp_check "$r logged the retirement" grep -q "old pair-key version retired" "$WP_TMP/$r.log"
  wp_check "$r audited it" grep -q "key-retirement:r" "$WP_TMP/$r.log"
done
wp_check "a session opened under version 3 alone: byte-exact" \
  wp_fetch c "http://10.2.0.10/file.bin?s=v3" "$WP_TMP/v3.bin" 20
wp_check "the long download is still running after the automatic retirement" wp_alive "$LONG"

# --- the session keyed from version 1 ends normally, byte-exact
wp_check "the long download finishes" wp_wait_exit "$LONG" 75
wait "$LONG" 2>/dev/null; rc=$?
wp_expect "the long download's curl exit status" "$rc" -eq 0
wp_expect "long download: 1 MiB arrived" "$(size_of "$WP_TMP/long.bin")" -eq 1048576
wp_check "long download: sha256 matches the served file" \
  test "$(wp_sha "$WP_TMP/long.bin")" = "$(wp_sha "$WP_TMP/www/file.bin")"
wp_check "same router pids, both alive (no restart)" \
  bash -c "[ '${WP_ROUTER_PID[r1]} ${WP_ROUTER_PID[r2]}' = '$PIDS' ] && kill -0 ${WP_ROUTER_PID[r1]} ${WP_ROUTER_PID[r2]}"
for r in r1 r2; do
  for d in bad_hmac unknown_key_version metadata_not_encrypted bad_packet_hmac; do
    wp_expect "$r drops.$d = 0" "$(wp_stat $r drops.$d)" -eq 0
  done
done
wp_finish
