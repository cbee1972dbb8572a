#!/bin/bash
# The punt path's exception path, measured (docs/operations.md § Punt path):
# DPDK's net_tap against virtio_user on /dev/vhost-net, each one in a scratch
# namespace driven by dpdk-testpmd on one forwarding lcore, 64-byte frames.
#   down: testpmd txonly -> the kernel interface (its rx_packets counter, 3 s)
#   up:   an AF_PACKET sender in the kernel -> testpmd rxonly (3 s offered)
# A candidate that cannot start (no /dev/vhost-net) is reported as such.
# Prints a table and one JSON line. Root; traffic stays in the namespace.
# usage: sudo perf/punt_exception_path.sh
set -u
NS=wp-punt-bench-$$
TMP=$(mktemp -d)
trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$TMP"' EXIT
ip netns add "$NS" || exit 2
EAL=(--no-huge -m 256 --no-pci --file-prefix "wppb$$" -l 0-1)
PMD=(--stats-period 1 --total-num-mbufs=8192 --auto-start)

wait_if() { local _; for _ in $(seq 50); do ip netns exec "$NS" test -e "/sys/class/net/$1" && return 0; sleep 0.1; done; return 1; }
rx_count() { ip netns exec "$NS" cat "/sys/class/net/$1/statistics/rx_packets"; }

down() {  # VDEV IFNAME: packets/s from DPDK into the kernel
  ip netns exec "$NS" timeout -s INT 7 dpdk-testpmd "${EAL[@]}" --vdev "$1" -- --forward-mode=txonly "${PMD[@]}" \
    >"$TMP/down.log" 2>&1 &
  local pid=$! a b
  if ! wait_if "$2"; then wait "$pid"; echo fail; return; fi
  ip netns exec "$NS" ip link set "$2" up
  sleep 1; a=$(rx_count "$2"); sleep 3; b=$(rx_count "$2")
  wait "$pid"
  echo $(((b - a) / 3))
}

up() {  # VDEV IFNAME: "received offered" packets/s from the kernel into DPDK
  ip netns exec "$NS" timeout -s INT 7 dpdk-testpmd "${EAL[@]}" --vdev "$1" -- --forward-mode=rxonly "${PMD[@]}" \
    >"$TMP/up.log" 2>&1 &
  local pid=$! sent got
  if ! wait_if "$2"; then wait "$pid"; echo "fail fail"; return; fi
  ip netns exec "$NS" ip link set "$2" up; sleep 1
  sent=$(ip netns exec "$NS" python3 -c "
import socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('$2', 0))
f = b'\xff' * 6 + b'\x02\x00\x00\x00\x00\x01' + b'\x08\x00' + bytes(46)
n, t = 0, time.time()
while time.time() - t < 3:
    for _ in range(100):
        try: s.send(f); n += 1
        except OSError: pass
print(n)")
  wait "$pid"
  got=$(grep -A1 "Accumulated forward statistics" "$TMP/up.log" | grep -o "RX-packets: *[0-9]*" | grep -o "[0-9]*$")
  echo "$(( ${got:-0} / 3 )) $(( sent / 3 ))"
}

printf "%-12s %16s %16s %16s\n" candidate "down pps" "up pps" "up offered pps"
json="{\"bench\":\"punt_exception_path\""
for c in net_tap virtio_user; do
  case $c in
    net_tap) vdev="net_tap0,iface=wppb0"; ifn=wppb0 ;;
    virtio_user) vdev="virtio_user0,path=/dev/vhost-net,iface=wppb1,queues=1"; ifn=wppb1 ;;
  esac
  d=$(down "$vdev" "$ifn"); read -r u o <<<"$(up "$vdev" "$ifn")"
  printf "%-12s %16s %16s %16s\n" "$c" "$d" "$u" "$o"
  json+=",\"${c}_down_pps\":\"$d\",\"${c}_up_pps\":\"$u\",\"${c}_up_offered_pps\":\"$o\""
done
[ -e /dev/vhost-net ] || echo "virtio_user: /dev/vhost-net absent (no vhost_net in this kernel)"
echo "$json}"
