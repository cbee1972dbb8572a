#!/usr/bin/env python3
"""Waypoint beside each peer it was measured against, one panel per metric.

Reads the latest line of each comparison in perf/results (the peer measured in
the same run as Waypoint: Linux nftables conntrack + masquerade, dpdk-testpmd
io-fwd, OpenSSL for crypto, the kernel's `ip -batch` for route installs, and
any peer a later scenario appends), writes a gnuplot data file and draws
perf/results/peers.png: for each metric a pair of bars, Waypoint and the peer,
labelled with the ratio. Missing comparisons are left out, never invented.

usage: perf/plot_peers.py [--results DIR] [--out PNG] [--print]
       --print: print the table only (no gnuplot)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

# (file, match: fields the line must have, metric label, ours field, peer field, peer name, scale)
COMPARISONS = [
    ("baseline.json", {"scenario": "baseline", "path": "wpgen-r1-r2-wpgen net_af_packet on veth (2 routers)"},
     "new sessions/s (k), same wpgen over veth", "setup_per_s", "baseline_setup_per_s", "nftables masquerade", 1e-3),
    ("baseline.json", {"scenario": "baseline", "path": "wpgen-r1-r2-wpgen net_memif"},
     "Mpps, SVR pair vs io-fwd between wpgen ports", "mpps", "testpmd_mpps", "testpmd io-fwd", 1),
    ("foundation.json", {"scenario": "foundation"},
     "Mpps per core, in-process (net_null)", "mpps", "testpmd_mpps", "testpmd io-fwd", 1),
    ("crypto.json", {"bench": "crypto", "size": 1400, "direction": "encrypt+hmac"},
     "seal Gbit/s at 1400 B", "gbps", "openssl_gbps", "OpenSSL EVP", 1),
    ("crypto.json", {"bench": "crypto", "size": 1400, "direction": "verify+decrypt"},
     "open Gbit/s at 1400 B", "gbps", "openssl_gbps", "OpenSSL EVP", 1),
    ("fib.json", {"scenario": "fib"},
     "1M routes installed per s (k)", "install_s", "kernel_batch_s", "kernel ip -batch", None),
    ("esp.json", {"bench": "esp", "cipher": "aes256gcm16", "size": "1400"},
     "ESP aes256gcm16 Mpps at 1400 B", "mpps", "ceiling_mops", "dpdk-test-crypto-perf aesni_mb", 1),
    ("esp.json", {"bench": "esp", "cipher": "aes256-sha256", "size": "64"},
     "ESP aes256-sha256 Mpps at 64 B", "mpps", "ceiling_mops", "dpdk-test-crypto-perf aesni_mb", 1),
    ("peers.json", {"comparison": True, "io": "net_memif", "peer": "ovs-dpdk"},
     "new sessions/s (k), SNAT, 1 core, memif", "setup_per_s", "peer_setup_per_s", "OVS-DPDK ct(commit,nat)", 1e-3),
    ("peers.json", {"comparison": True, "io": "net_memif", "peer": "ovs-dpdk"},
     "Mpps at 64 B, SNAT, 1 core, memif", "mpps", "peer_mpps", "OVS-DPDK ct(commit,nat)", 1),
    ("peers.json", {"comparison": True, "io": "net_memif", "peer": "ovs-dpdk"},
     "Gbit/s at 1400 B, SNAT, 1 core, memif", "gbps_1400", "peer_gbps_1400", "OVS-DPDK ct(commit,nat)", 1),
    ("peers.json", {"comparison": True, "io": "net_af_packet", "peer": "nftables"},
     "new sessions/s (k), SNAT, af_packet/veth", "setup_per_s", "peer_setup_per_s", "nftables masquerade", 1e-3),
    ("peers.json", {"comparison": True, "io": "net_af_packet", "peer": "nftables"},
     "Mpps at 64 B, SNAT, af_packet/veth", "mpps", "peer_mpps", "nftables masquerade", 1),
]
# A scenario that measures a new peer adds its row here.


def latest(path, match):
    best = None
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                rec = json.loads(line)
                if all(str(rec.get(k)) == str(v) for k, v in match.items()):
                    best = rec
    except FileNotFoundError:
        return None
    return best


def rows(results):
    out = []
    for fname, match, label, ours, peer, peer_name, scale in COMPARISONS:
        rec = latest(os.path.join(results, fname), match)
        if not rec or not rec.get(ours) or not rec.get(peer):
            continue
        a, b = float(rec[ours]), float(rec[peer])
        if scale is None:  # a duration for the same work: plot the rate (1/s), k routes/s
            n = float(rec.get("prefixes", 1))
            a, b = n / a / 1e3, n / b / 1e3
        else:
            a, b = a * scale, b * scale
        out.append({"metric": label, "waypoint": a, "peer": b, "peer_name": peer_name,
                    "ratio": a / b, "commit": rec.get("commit", "?"), "date": str(rec.get("date", "?"))[:10]})
    return out


def draw(table, png):
    with tempfile.TemporaryDirectory() as d:
        dat = os.path.join(d, "peers.dat")
        with open(dat, "w") as f:
            for i, r in enumerate(table):
                f.write(f'{i} {r["waypoint"]:.6g} {r["peer"]:.6g} {r["ratio"]:.3f} '
                        f'"{r["metric"]} ({r["commit"]} {r["date"]})" "{r["peer_name"]}"\n')
        n = len(table)
        script = f'''
set terminal pngcairo size 1100,{180 + 90 * n} noenhanced
set output "{png}"
set title "Waypoint (blue) beside the peer measured in the same run (grey), x = Waypoint / peer" font ",10"
set style fill solid 0.8 border -1
set boxwidth 0.35
set yrange [-0.6:{n - 0.4}]
set ytics ({", ".join(f'"{r["metric"]}" {i}' for i, r in enumerate(table))})
set logscale x
set xlabel "value (log scale; units in each label)"
set grid x
set key off
unset colorbox
plot "{dat}" using ($2/2):($1+0.18):($2/2):(0.16) with boxxyerror lc rgb "#1f5fa8", \\
     "{dat}" using ($3/2):($1-0.18):($3/2):(0.16) with boxxyerror lc rgb "#999999", \\
     "{dat}" using ($2*1.15):($1+0.18):(sprintf("%.3g  x%.2f", $2, $4)) with labels left font ",9", \\
     "{dat}" using ($3*1.15):($1-0.18):(sprintf("%.3g  %s", $3, strcol(6))) with labels left font ",9"
'''
        subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--results", default=os.path.join(here, "results"))
    ap.add_argument("--out")
    ap.add_argument("--print", action="store_true", dest="print_only")
    args = ap.parse_args()
    table = rows(args.results)
    w = max([len(r["metric"]) for r in table] + [6])
    print(f"{'metric':<{w}}  {'waypoint':>10}  {'peer':>10}  {'ratio':>6}  peer (commit date)")
    for r in table:
        print(f'{r["metric"]:<{w}}  {r["waypoint"]:>10.4g}  {r["peer"]:>10.4g}  {r["ratio"]:>6.2f}  '
              f'{r["peer_name"]} ({r["commit"]} {r["date"]})')
    print(json.dumps({"bench": "peers_plot", "comparisons": len(table),
                      "ratios": {f'{r["metric"]} vs {r["peer_name"]}': round(r["ratio"], 3) for r in table}}))
    if args.print_only or not table:
        return 0 if table else 1
    png = args.out or os.path.join(args.results, "peers.png")
    draw(table, png)
    print(f"plot: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
