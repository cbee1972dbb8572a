#!/bin/bash
# ESP tunnel encapsulation per core (perf/bench_esp.cc) beside the library's
# ceiling measured in the same run: dpdk-test-crypto-perf on the
# crypto_aesni_mb vdev (the same IPsec-MB, no packet edits, no trailer, no
# IV to write) for the same cipher at 64 B and 1408 B (its sizes must be
# multiples of 16; ours is 1400 B of inner packet, 1438 B on the wire).
# Prints both and the ratio; appends one JSON line per cipher and size to
# perf/results/esp.json unless NO_APPEND=1. Needs root (EAL for crypto-perf).
#   sudo perf/run_esp.sh [--seconds S]
set -eu -o pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
[ -x "$build/perf/wp_bench_esp" ] || { cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null && nice ninja -C "$build" perf/wp_bench_esp; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpu=${CPU:-1}
echo "run_esp: load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
taskset -c "$cpu" "$build/perf/wp_bench_esp" "$@" | tee "$tmp/ours.txt"
cperf() {  # NAME ARGS...: crypto-perf throughput at 64 and 1408 B on lcore $cpu
  local name=$1; shift
  timeout 300 dpdk-test-crypto-perf -l "0,$cpu" --no-huge -m 512 --no-pci --file-prefix "wp-cperf-$$" \
    --vdev crypto_aesni_mb --log-level=error -- --ptest throughput --devtype crypto_aesni_mb "$@" \
    --buffer-sz 64,1408 --burst-sz 32 --total-ops 3000000 --silent 2>/dev/null |
    awk -v n="$name" '$1 ~ /^[0-9]+$/ && NF >= 10 {print n, $2, $8, $9}' >>"$tmp/ceiling.txt"
}
cperf aes256gcm16 --optype aead --aead-algo aes-gcm --aead-op encrypt --aead-key-sz 32 --aead-iv-sz 12 \
  --aead-aad-sz 12 --digest-sz 16
cperf aes256-sha256 --optype cipher-then-auth --cipher-algo aes-cbc --cipher-op encrypt --cipher-key-sz 32 \
  --cipher-iv-sz 16 --auth-algo sha2-256-hmac --auth-op generate --auth-key-sz 32 --digest-sz 16
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$tmp/ours.txt" "$tmp/ceiling.txt" "$commit" "${NO_APPEND:-0}" "$root/perf/results/esp.json" <<'PY'
import json, sys
ours = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ceil = {}
for l in open(sys.argv[2]):
    name, size, mops, gbps = l.split()
    ceil[(name, "1400" if size == "1408" else size)] = (float(mops), float(gbps))
print("\n%-14s %-5s %10s %14s %8s" % ("cipher", "size", "ours Mpps", "ceiling Mops", "ratio"))
out = []
for r in ours:
    c = ceil.get((r["cipher"], r["size"]))
    if c:
        r.update(ceiling="dpdk-test-crypto-perf crypto_aesni_mb, same run", ceiling_mops=c[0], ceiling_gbps=c[1],
                 ratio_vs_ceiling=round(r["mpps"] / c[0], 3) if c[0] else None)
        print("%-14s %-5s %10.3f %14.3f %8.3f" % (r["cipher"], r["size"], r["mpps"], c[0], r["ratio_vs_ceiling"]))
    else:
        print("%-14s %-5s %10.3f %14s %8s" % (r["cipher"], r["size"], r["mpps"], "-", "-"))
    r["commit"] = sys.argv[3]
    out.append(json.dumps(r, separators=(",", ":")))
for l in out:
    print(l)
if sys.argv[4] != "1":
    with open(sys.argv[5], "a") as f:
        f.write("\n".join(out) + "\n")
    print("appended %d lines to perf/results/esp.json" % len(out))
PY
