#!/bin/bash
# Which inter-process vdev carries the most packets between two DPDK processes
# on this machine (wpgen <-> waypointd)? dpdk-testpmd txonly in one
# process, rxonly in the other, each forwarding lcore pinned to its own CPU,
# SECONDS (default 5) per pair; prints the median per-second Rx-pps of the
# receiver, a table and one JSON line per vdev ({"scenario":"vdev",...}).
#   net_memif      one side role=server, the other role=client, one unix socket
#   net_af_packet  a veth pair in a private network namespace
# (net_ring only connects ports inside one process, so it cannot join two.)
# usage: sudo perf/vdev_compare.sh [SECONDS] [FRAME_BYTES]
set -u -o pipefail
secs=${1:-5}
size=${2:-64}
tp=${TESTPMD:-dpdk-testpmd}
tag=wpvdev-$$
tmp=$(mktemp -d "/tmp/$tag.XXXXXX")
pids=()
# Runs on every exit, also on SIGINT/SIGTERM/SIGHUP (turned into exit below,
# which bash would otherwise die of without the EXIT trap), so no wpvdev-*
# namespace, testpmd or memif socket outlives the script.
cleanup() {
  trap - EXIT INT TERM HUP
  local p
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  if [ -e "/run/netns/$tag" ]; then
    for p in $(ip netns pids "$tag" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done  # only ours live there
    ip netns del "$tag" 2>/dev/null
  fi
  rm -rf "$tmp" /var/run/dpdk/"$tag"-* 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# run_pair NAME NETNS TX_VDEV RX_VDEV: the median Rx-pps of the receiver into $tmp/NAME.pps.
run_pair() {
  local name=$1 ns=$2 txv=$3 rxv=$4 pre=() rx tx
  [ -n "$ns" ] && pre=(ip netns exec "$ns")
  # testpmd with --stats-period runs until SIGINT; its stdin is a FIFO we hold open (no EOF).
  # rx first (memif: the server side listens), then tx.
  "${pre[@]}" "$tp" --no-huge --no-pci -m 512 --lcores '0@1,1@1' --file-prefix "$tag-rx-$name" \
    --log-level=error --vdev "$rxv" -- --forward-mode=rxonly --auto-start --total-num-mbufs=16384 \
    --stats-period 1 <&3 >"$tmp/$name-rx.log" 2>&1 &
  rx=$!
  pids+=("$rx")
  sleep 3
  "${pre[@]}" "$tp" --no-huge --no-pci -m 512 --lcores '0@0,1@0' --file-prefix "$tag-tx-$name" \
    --log-level=error --vdev "$txv" -- --forward-mode=txonly --txpkts="$((size - 4))" --auto-start \
    --total-num-mbufs=16384 --stats-period 1 <&3 >"$tmp/$name-tx.log" 2>&1 &
  tx=$!
  pids+=("$tx")
  sleep "$((secs + 4))"  # memif connects in ~1-2 s when the VM is busy
  kill -INT "$tx" "$rx" 2>/dev/null
  wait "$tx" "$rx" 2>/dev/null
  # Per-second Rx-pps of the receiver: periods before traffic started (connect)
  # and the first, partial one dropped.
  grep -o 'Rx-pps: *[0-9]*' "$tmp/$name-rx.log" | awk '{print $2}' | awk 'on {print} $1 > 0 {on = 1}' |
    tee "$tmp/$name.samples" | sort -n |
    awk '{v[NR]=$1} END {if (NR == 0) print "null"; else print v[int((NR + 1) / 2)]}' >"$tmp/$name.pps"
}

mkfifo "$tmp/stdin"
exec 3<>"$tmp/stdin"
ip netns add "$tag"
ip -n "$tag" link add va type veth peer name vb
for i in va vb; do
  ip netns exec "$tag" ethtool -K "$i" tx off rx off gso off tso off gro off >/dev/null 2>&1
  ip -n "$tag" link set "$i" up
done

run_pair memif "" "net_memif0,role=client,socket=$tmp/m.sock,socket-abstract=no" \
  "net_memif0,role=server,socket=$tmp/m.sock,socket-abstract=no"
run_pair afpacket "$tag" "net_af_packet0,iface=va" "net_af_packet0,iface=vb"
echo "per-second samples: memif $(tr '\n' ' ' <"$tmp/memif.samples"); af_packet $(tr '\n' ' ' <"$tmp/afpacket.samples")" >&2
memif=$(cat "$tmp/memif.pps")
afp=$(cat "$tmp/afpacket.pps")
printf '%-16s %12s\n' vdev "rx Mpps (${size} B)"
# null: nothing arrived in the window (the link did not come up in time).
mpps() { if [ "$1" = null ]; then echo none; else printf '%.3f' "$(echo "$1 / 1000000" | bc -l)"; fi; }
printf '%-16s %12s\n' net_memif "$(mpps "$memif")" net_af_packet "$(mpps "$afp")"
for x in "net_memif $memif" "net_af_packet $afp"; do
  # shellcheck disable=SC2086  # split "name pps"
  set -- $x
  echo "{\"scenario\":\"vdev\",\"vdev\":\"$1\",\"frame_bytes\":$size,\"rx_pps\":$2,\"seconds\":$secs,\"date\":\"$(date -u +%FT%TZ)\"}"
done
