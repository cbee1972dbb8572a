#!/usr/bin/env python3
"""Latest benchmark run beside the previous one, per committed result file.

Every file in perf/results/*.json holds one JSON object per line, appended by
the benchmark scripts. Lines that describe the same measurement (same
scenario, size, direction, workers, sessions ... : every string field but the
run's commit, date, host and notes, plus the workload-size integers) form a
series; for each series with two runs or more this prints the last run beside
the one before it with the ratio latest/previous for every number, and says
"better" or "worse" where it moved more than --threshold (default 10 %) in
the direction that matters for that figure (times, latencies, bytes, losses
and costs are better lower; rates, Mpps and ratios better higher).

This is a review aid, not a test: the VM the numbers come from is noisy
(perf/README.md), so a single "worse" is a reason to look, not a verdict.

usage: perf/compare.py [--results DIR] [--threshold PCT] [--all] [FILE...]
       --all also lists series with a single run.
"""
import argparse
import glob
import json
import os
import signal
import sys

# Fields that identify the run, not the measurement.
RUN_FIELDS = {"commit", "date", "host", "note", "notes", "comment", "quick", "available"}
# Integers that say what was measured (workload size), not how well.
SHAPE_FIELDS = {"workers", "sessions", "size", "frame_bytes", "prefixes", "fast_path_flows",
                "burst", "rounds", "passes", "sessions_per_pass", "windows", "seconds",
                "cpu", "hot_flows", "lookups", "sites", "esp_sa_books", "child_sas_installed"}
# Name fragments of figures that are better lower.
LOWER_BETTER = ("_ns", "_us", "ns_", "us_", "_ms", "latency", "rtt", "bytes_per", "rss", "cost",
                "cycles", "lost", "drop", "error", "_s", "gap", "retrans", "fail", "overhead",
                "exhaust")
HIGHER_BETTER_SUFFIXES = ("_per_s", "_per_cpu_s", "_pps")
HIGHER_BETTER = ("mpps", "gbps", "ratio", "saved", "established")
# Figures of the reference a run measures itself against (testpmd, OpenSSL,
# the kernel, raw CPG ...): they move with the machine, not with our code.
BASELINE_PREFIXES = ("testpmd_", "openssl_", "baseline_", "kernel_", "lpm_", "raw_cpg", "nft_",
                     "ovs_", "dpdk_crypto_", "ceiling_")


def flatten(obj, prefix=""):
    out = {}
    for k, v in obj.items():
        name = prefix + k
        if isinstance(v, dict):
            out.update(flatten(v, name + "."))
        else:
            out[name] = v
    return out


def series_key(rec):
    parts = []
    for k in sorted(rec):
        v = rec[k]
        if k in RUN_FIELDS or isinstance(v, (list, dict)):
            continue
        if isinstance(v, str) or (k in SHAPE_FIELDS and isinstance(v, (int, float))
                                  and not isinstance(v, bool)):
            parts.append(f"{k}={v}")
    return ", ".join(parts) or "(no identifying fields)"


def lower_is_better(name):
    parts = name.split(".")
    leaf = parts[-1]
    if leaf.endswith(HIGHER_BETTER_SUFFIXES) or any(s in leaf for s in HIGHER_BETTER):
        return False
    # percentiles under a latency object (setup_rtt_us.p99) are latencies
    if any(f in p for p in parts[:-1] for f in ("rtt", "_us", "_ns", "_ms", "latency")):
        return True
    return any(f in leaf for f in LOWER_BETTER)


def is_baseline(name):
    return name.startswith(BASELINE_PREFIXES)


def figures(rec):
    flat = flatten(rec)
    return {k: v for k, v in flat.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
            and k not in SHAPE_FIELDS and k.split(".")[0] not in RUN_FIELDS}


def load(path):
    recs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not a JSON line: {e}")
            if not isinstance(rec, dict):
                raise SystemExit(f"{path}:{n}: not a JSON object")
            recs.append(rec)
    return recs


def label(rec):
    return f"{rec.get('commit', '?')} {str(rec.get('date', '?'))[:10]}"


def compare(prev, last, threshold):
    a, b = figures(prev), figures(last)
    rows, moved = [], {"better": 0, "worse": 0}
    for k in sorted(set(a) & set(b)):
        pv, lv = a[k], b[k]
        if pv == 0:
            ratio, verdict = None, ""
        else:
            ratio = lv / pv
            verdict = ""
            if is_baseline(k):
                verdict = "(reference)" if abs(ratio - 1) * 100 > threshold else ""
            elif abs(ratio - 1) * 100 > threshold:
                up = ratio > 1
                verdict = "worse" if up == lower_is_better(k) else "better"
                moved[verdict] += 1
        rows.append((k, pv, lv, ratio, verdict))
    return rows, sorted(set(b) - set(a)), moved


def fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e6 else f"{v:.4e}"
    return str(v)


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # perf/compare.sh | head
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    ap.add_argument("--threshold", type=float, default=10.0, help="percent (default 10)")
    ap.add_argument("--all", action="store_true", help="also list series with a single run")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    files = args.files or sorted(glob.glob(os.path.join(args.results, "*.json")))
    if not files:
        print(f"compare: no result files in {args.results}", file=sys.stderr)
        return 2
    summary = {"files": 0, "series": 0, "compared": 0, "better": 0, "worse": 0}
    for path in files:
        recs = load(path)
        summary["files"] += 1
        groups = {}
        for rec in recs:
            groups.setdefault(series_key(rec), []).append(rec)
        for key, runs in groups.items():
            summary["series"] += 1
            name = f"{os.path.basename(path)} [{key}]"
            if len(runs) < 2:
                if args.all:
                    print(f"== {name}: one run ({label(runs[0])}), nothing to compare\n")
                continue
            prev, last = runs[-2], runs[-1]
            rows, new, moved = compare(prev, last, args.threshold)
            summary["compared"] += 1
            summary["better"] += moved["better"]
            summary["worse"] += moved["worse"]
            print(f"== {name}: {len(runs)} runs; latest {label(last)} vs previous {label(prev)}")
            w = max([len(r[0]) for r in rows] + [6])
            print(f"  {'figure':<{w}}  {'previous':>12}  {'latest':>12}  {'ratio':>7}")
            for k, pv, lv, ratio, verdict in rows:
                r = f"{ratio:.3f}" if ratio is not None else "-"
                print(f"  {k:<{w}}  {fmt(pv):>12}  {fmt(lv):>12}  {r:>7}  {verdict}")
            if new:
                print(f"  new in the latest run: {', '.join(new)}")
            print()
    print(json.dumps({"bench": "compare", "threshold_pct": args.threshold, **summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
