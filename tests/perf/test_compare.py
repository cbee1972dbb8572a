#!/usr/bin/env python3
"""perf/compare.py: series grouping and better/worse verdicts on fixed records,
then a run over the committed perf/results (every file must parse)."""
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "perf"))
import compare  # noqa: E402


def run(lines, *args):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write("\n".join(json.dumps(x) for x in lines) + "\n")
    try:
        out = subprocess.run([sys.executable, os.path.join(ROOT, "perf", "compare.py"), *args, f.name],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    return out


def verdict(out, figure):
    for line in out.splitlines():
        cols = line.split()
        if cols and cols[0] == figure:
            return cols[-1] if cols[-1] in ("better", "worse", "(reference)") else ""
    raise AssertionError(f"{figure} not in output:\n{out}")


class CompareTest(unittest.TestCase):
    def test_directions(self):
        prev = {"scenario": "s", "sessions": 1000, "commit": "a", "date": "2026-01-01",
                "setup_per_s": 100, "mpps": 2.0, "bytes_per_session": 100, "lookup_ns": 10,
                "setup_rtt_us": {"p99": 50}, "drops": 10, "testpmd_mpps": 40, "ratio_vs_testpmd": 0.05}
        last = dict(prev, commit="b", setup_per_s=50, mpps=3.0, bytes_per_session=150, lookup_ns=5,
                    setup_rtt_us={"p99": 100}, drops=10, testpmd_mpps=20, ratio_vs_testpmd=0.15)
        out = run([prev, last])
        self.assertIn("latest b", out)
        self.assertEqual(verdict(out, "setup_per_s"), "worse")
        self.assertEqual(verdict(out, "mpps"), "better")
        self.assertEqual(verdict(out, "bytes_per_session"), "worse")
        self.assertEqual(verdict(out, "lookup_ns"), "better")
        self.assertEqual(verdict(out, "setup_rtt_us.p99"), "worse")
        self.assertEqual(verdict(out, "drops"), "")
        self.assertEqual(verdict(out, "testpmd_mpps"), "(reference)")
        self.assertEqual(verdict(out, "ratio_vs_testpmd"), "better")
        summary = json.loads(out.strip().splitlines()[-1])
        self.assertEqual((summary["compared"], summary["better"], summary["worse"]), (1, 3, 3))

    def test_series_by_shape(self):
        a = {"scenario": "s", "sessions": 1000, "mpps": 1.0, "commit": "a"}
        b = {"scenario": "s", "sessions": 2000, "mpps": 9.0, "commit": "b"}
        c = {"scenario": "s", "sessions": 1000, "mpps": 1.05, "commit": "c"}
        out = run([a, b, c])
        self.assertIn("sessions=1000", out)
        self.assertIn("latest c", out)
        self.assertEqual(out.count("\n== "), 0)  # the first header starts the output
        self.assertEqual(out.count("== "), 1)  # sessions=2000 has one run: not listed
        self.assertEqual(verdict(out, "mpps"), "")  # 5 % is under the threshold
        self.assertIn("one run", run([a, b, c], "--all"))

    def test_ike_setup_series(self):
        # perf/bench_ike_setup.cc: one series per proposal, auth and site count; the
        # Child SA count and the books are the workload, not figures.
        a = {"bench": "ike_setup", "proposal": "p1", "auth": "psk", "sites": 1000, "child_sas_installed": 1000,
             "esp_sa_books": 4, "commit": "a", "responder_tunnels_per_cpu_s": 4000.0,
             "responder_us": {"p99": 300.0}, "exchange_tunnels_per_s": 2000.0, "baseline_dh_us": 150.0}
        b = dict(a, commit="b", responder_tunnels_per_cpu_s=3000.0, responder_us={"p99": 200.0},
                 exchange_tunnels_per_s=2500.0, baseline_dh_us=100.0)
        other = dict(a, proposal="p2", sites=20, child_sas_installed=20, esp_sa_books=1, commit="c")
        out = run([a, other, b])
        self.assertIn("latest b", out)
        self.assertIn("sites=1000", out)
        self.assertEqual(verdict(out, "responder_tunnels_per_cpu_s"), "worse")
        self.assertEqual(verdict(out, "responder_us.p99"), "better")
        self.assertEqual(verdict(out, "exchange_tunnels_per_s"), "better")
        self.assertEqual(verdict(out, "baseline_dh_us"), "(reference)")
        for shape in ("child_sas_installed", "esp_sa_books", "sites"):
            with self.assertRaises(AssertionError):
                verdict(out, shape)

    def test_committed_results_parse(self):
        with redirect_stdout(io.StringIO()) as buf:
            sys.argv = ["compare.py", "--results", os.path.join(ROOT, "perf", "results")]
            self.assertEqual(compare.main(), 0)
        summary = json.loads(buf.getvalue().strip().splitlines()[-1])
        self.assertGreater(summary["files"], 0)


if __name__ == "__main__":
    unittest.main()
