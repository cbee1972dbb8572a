#!/usr/bin/env python3
"""A/B of wp_bench_foundation binaries on this shared VM (perf/README.md § A/B of two builds).

Runs binary A (the baseline, e.g. main's build copied aside before a change) and binary B (the
change; C, D ... more variants) in turn, ROUNDS times each, A B A B ..., with the same bench
options and the same EAL memory (4 KiB pages: --no-huge; 2 MiB hugepages: --in-memory), so all
see the same minutes of the VM's load. Prints every run, the medians of each binary and the
median of the per-round ratios X/A (each round's runs were back to back: the ratio the load moves
least). The per-CPU-second figures (mpps_cpu, mpps6_cpu) remove the time the VM descheduled the
worker; best_window is the fastest 1 s bidirectional window of a run (the one least disturbed by
the rest of the machine).

  sudo perf/ab_foundation.py A_BIN B_BIN [C_BIN ...] [--rounds 3] [--pages 4k|2m] [--json OUT]
                             [-- bench options]

Bench options default to `--no-testpmd --windows 3 --dir-windows 1` (fast path at 1 M sessions,
no testpmd). Exit status 1 when a run fails or reports drops.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

FIELDS = [  # (JSON field, label)
    ("mpps", "fast path Mpps (wall)"),
    ("best_window", "best 1 s window Mpps"),
    ("mpps_cpu", "fast path Mpps per CPU-s"),
    ("fwd_mpps", "LAN->WAN Mpps"),
    ("rev_mpps", "WAN->LAN Mpps"),
    ("mpps_hot", "hot set Mpps"),
    ("mpps6_cpu", "IPv6 fast path per CPU-s"),
    ("setup_per_cpu_s", "setup per CPU-s"),
]


def eal_args(pages, tag):
    mem = ["--no-huge", "-m", "2048"] if pages == "4k" else ["--in-memory", "-m", "1024"]
    return mem + ["--no-pci", "-l", "1", "--file-prefix", tag, "--log-level=error",
                  "--vdev", "net_null0,copy=1", "--vdev", "net_null1,copy=1"]


def run(binary, bench_opts, pages, tag):
    cmd = [binary] + bench_opts + ["--"] + eal_args(pages, tag)
    load = open("/proc/loadavg").read().split()[0]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = next((l for l in reversed(p.stdout.splitlines()) if l.startswith('{"scenario":"foundation"')), None)
    if line is None:
        sys.stderr.write(p.stdout[-3000:])
        return None, p.returncode, load
    rec = json.loads(line)
    # The bidirectional IPv4 windows: "fast path both directions (mpps)  X Mpps  [windows: a b c]".
    for l in p.stdout.splitlines():
        if l.startswith("fast path both directions") and "[windows:" in l:
            rec["best_window"] = max(float(x) for x in l.split("[windows:")[1].rstrip("]").split())
    rec["load_before"] = float(load)
    return rec, p.returncode, load


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="+", metavar="BIN", help="A (baseline), B, ...; bench options after --")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pages", choices=["4k", "2m"], default="4k")
    ap.add_argument("--json", help="append every run's JSON line (with its binary as \"ab\") to this file")
    argv = sys.argv[1:]
    bench = []
    if "--" in argv:
        bench = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    o = ap.parse_args(argv)
    if len(o.binaries) < 2:
        ap.error("need A and B")
    bench = bench or ["--no-testpmd", "--windows", "3", "--dir-windows", "1"]
    tag = "wpab%d" % os.getpid()
    names = [chr(ord("A") + i) for i in range(len(o.binaries))]
    runs = {n: [] for n in names}
    ok = True
    for r in range(o.rounds):
        for name, binary in zip(names, o.binaries):
            rec, rc, load = run(binary, bench, o.pages, tag)
            if rec is None:
                print("round %d %s: no JSON line (exit %d)" % (r + 1, name, rc))
                ok = False
                continue
            if rc != 0:
                ok = False
            runs[name].append(rec)
            print("round %d %s load %s: " % (r + 1, name, load) +
                  "  ".join("%s %.3f" % (f, rec.get(f) or 0) for f, _ in FIELDS) +
                  ("" if rc == 0 else "  EXIT %d (drops?)" % rc), flush=True)
            if o.json:
                rec["ab"] = name
                rec["ab_binary"] = binary
                with open(o.json, "a") as f:
                    f.write(json.dumps(rec, separators=(",", ":")) + "\n")
    for n, binary in zip(names, o.binaries):
        print("%s = %s" % (n, binary))
    for other in names[1:]:
        print("\n%-28s %10s %10s %8s %s" % ("median of %d rounds, %s pages" % (o.rounds, o.pages), "A", other,
                                            other + "/A", "per-round " + other + "/A"))
        for f, label in FIELDS:
            a = [x[f] for x in runs["A"] if x.get(f)]
            b = [x[f] for x in runs[other] if x.get(f)]
            if not a or not b:
                continue
            pairs = [y[f] / x[f] for x, y in zip(runs["A"], runs[other]) if x.get(f) and y.get(f)]
            print("%-28s %10.3f %10.3f %8.3f %s" % (label, statistics.median(a), statistics.median(b),
                                                   statistics.median(pairs), " ".join("%.3f" % p for p in pairs)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
