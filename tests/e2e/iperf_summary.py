#!/usr/bin/python3
"""Summarise an iperf3 -J result; exit 1 unless the run moved data.

TCP: the receiver got bytes. UDP: the receiver got datagrams and loss stayed
under WP_UDP_MAX_LOSS percent (default 10: the routers share 2 cores with
the clients, so a little loss is expected, a broken path is not).
"""
import json
import os
import sys

try:
    with open(sys.argv[1]) as f:
        r = json.load(f)
except Exception as e:  # empty or truncated output: iperf3 failed early
    print(f"  iperf3: no JSON result ({e})")
    sys.exit(1)
if "error" in r:
    print(f"  iperf3 error: {r['error']}")
    sys.exit(1)
end = r.get("end", {})
udp = r.get("start", {}).get("test_start", {}).get("protocol") == "UDP"
if udp:
    s = end.get("sum", {})
    mbps = s.get("bits_per_second", 0) / 1e6
    loss = s.get("lost_percent", 100.0)
    pkts = s.get("packets", 0) - s.get("lost_packets", 0)
    limit = float(os.environ.get("WP_UDP_MAX_LOSS", "10"))
    print(f"  iperf3 UDP: {mbps:.1f} Mbit/s, {pkts} datagrams received, loss {loss:.2f}% (max {limit}%)")
    sys.exit(0 if pkts > 0 and loss <= limit else 1)
s = end.get("sum_received", {})
mbps = s.get("bits_per_second", 0) / 1e6
retr = end.get("sum_sent", {}).get("retransmits", 0)
print(f"  iperf3 TCP: {mbps:.1f} Mbit/s received, {s.get('bytes', 0)} bytes, {retr} retransmits")
sys.exit(0 if s.get("bytes", 0) > 0 else 1)
