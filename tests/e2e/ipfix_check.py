#!/usr/bin/env python3
"""Checks the IPFIX records two collectors (`wpctl flows -o json`) got from R1
and R2 for one HTTP download: the same global session id on both routers,
pre-NAT client addresses on R1's ingress and waypoint addresses on R2's,
byte counts that match the transfer, the application (IE 95/96) on both: the
name --app and the same nDPI id, which tshark (--tshark R1.tsv R2.tsv, its
per-record fields, see test_ipfix.sh) must decode as Classification Engine 20
(PANA-L7-PEN), PEN 35632 and that id, with the same name. Prints PASS/FAIL
lines; exit 1 on a FAIL.
--svr6: an IPv6 session that SVR carries (docs/ipv6.md; test_svr6.sh, test_svr6v6.sh): both
routers' records hold the IPv6 tuple (IEs 27/28) as pre and the waypoint leg (r1's waypoint
-> r2's, IPv4 or IPv6) as post-NAT, so r2's record equals r1's but for its counters; no
application is checked (IPv6 sessions are not classified). The same for an IPv4 session
between IPv6 waypoints (test_svr6v6.sh: template 259, the IPv4 tuple in 8/12 as pre).
usage: ipfix_check.py R1.jsonl R2.jsonl --client IP --server IP --port P
       --r1-wp IP --r2-wp IP --bytes N [--app NAME] [--tshark R1.tsv R2.tsv]
       [--svr6] [--tenant T] [--service S]"""
import argparse
import json
import sys

ap = argparse.ArgumentParser()
ap.add_argument("r1")
ap.add_argument("r2")
ap.add_argument("--client", required=True)
ap.add_argument("--server", required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--r1-wp", required=True)
ap.add_argument("--r2-wp", required=True)
ap.add_argument("--bytes", type=int, required=True)
ap.add_argument("--app")
ap.add_argument("--tshark", nargs=2)
ap.add_argument("--svr6", action="store_true")
ap.add_argument("--tenant", default="branch")
ap.add_argument("--service", default="web")
a = ap.parse_args()
fails = 0


def check(ok, what):
    global fails
    print(("PASS: " if ok else "FAIL: ") + what)
    fails += 0 if ok else 1


def load(path):
    out = []
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


r1, r2 = load(a.r1), load(a.r2)
check(len(r1) > 0 and len(r2) > 0, f"records from both routers (r1 {len(r1)}, r2 {len(r2)})")
ends1 = [r for r in r1 if r["pre"]["src"] == a.client and r["pre"]["dst"] == a.server
         and r["pre"]["dport"] == a.port and r["nat_event"] == 5]
if a.svr6 and len(ends1) > 1:
    # The test's first curl tries may have waited for DAD and ND: the download is the biggest.
    ends1 = [max(ends1, key=lambda r: r["responder_octets"])]
check(len(ends1) == 1, f"r1: one end record for {a.client} -> {a.server}:{a.port} (got {len(ends1)})")
if ends1:
    e1 = ends1[0]
    sid = e1["session_id"]
    check(e1["post"]["src"] == a.r1_wp and e1["post"]["dst"] == a.r2_wp,
          f"r1: post-NAT addresses are the waypoints ({e1['post']['src']} -> {e1['post']['dst']})")
    check(e1["post"]["sport"] >= 16384 and e1["post"]["dport"] >= 16384, "r1: post-NAT ports are waypoint ports")
    ends2 = [r for r in r2 if r["session_id"] == sid and r["nat_event"] == 5]
    check(len(ends2) == 1, f"r2: end record with the same session id {sid}")
    if ends2:
        e2 = ends2[0]
        if a.svr6:
            check(e2["pre"] == e1["pre"] and e2["post"] == e1["post"],
                  f"r2: the same client tuple and waypoint leg as r1 ({e2['pre']}, {e2['post']})")
        else:
            check(e2["pre"]["src"] == a.r1_wp and e2["pre"]["dst"] == a.r2_wp
                  and e2["pre"]["sport"] == e1["post"]["sport"] and e2["pre"]["dport"] == e1["post"]["dport"],
                  "r2: arrived with r1's post-NAT tuple (waypoints and ports)")
            check(e2["post"]["src"] == a.client and e2["post"]["dst"] == a.server and e2["post"]["dport"] == a.port,
                  "r2: left with the client's original addresses")
        check(e2["tenant"] == e1["tenant"] == a.tenant and e2["service"] == e1["service"] == a.service,
              f"tenant/service names on both ({e1['tenant']}/{e1['service']}, {e2['tenant']}/{e2['service']})")
    for name, e in (("r1", e1), ("r2", ends2[0] if ends2 else None)):
        if e is None:
            continue
        if a.app:
            check(e["application"] == a.app and e["app_id"] == e1["app_id"] and e["app_id"] > 0,
                  f"{name}: application {e['application']!r} (nDPI id {e['app_id']}), want {a.app!r}")
        if a.app and a.tshark:
            # One line per IPFIX message: '|'-joined per-record lists of the pre-NAT source port,
            # applicationName, classification engine id and selector (PEN + nDPI id) as tshark reads them.
            want_sel = f"00008b30{e1['app_id']:04x}"
            got = []
            with open(a.tshark[0 if name == "r1" else 1]) as f:
                for line in f:
                    cols = [c.split("|") for c in line.rstrip("\n").split("\t")]
                    if len(cols) == 4 and len({len(c) for c in cols}) == 1:
                        got += [r for r in zip(*cols) if r[0] == str(e["pre"]["sport"])]
            ok = [r for r in got if r[1] == a.app and r[2] == "20" and r[3].replace(":", "").lower() == want_sel]
            check(len(got) > 0 and len(ok) == len(got),
                  f"{name}: tshark decodes IE 95/96 of the session: {len(ok)}/{len(got)} record(s) "
                  f"name {a.app!r}, engine 20, selector {want_sel} (got {sorted(set(got))[:3]})")
        rb = e["responder_octets"]
        # IP bytes of the reply: payload + HTTP headers + per-packet IP/TCP headers (5-6 %: 72 of
        # 1400 bytes on test_svr6v6's 1400-byte WAN) + TCP retransmissions, which a loaded host's
        # af_packet rings cause and the routers count again (seen: 10.2 % in all).
        check(a.bytes <= rb <= a.bytes * 1.15 + 4096,
              f"{name}: responder_octets {rb} matches the {a.bytes}-byte download (+ headers)")
        check(e["initiator_packets"] > 0 and e["responder_packets"] > a.bytes // 1500,
              f"{name}: packet counts {e['initiator_packets']}/{e['responder_packets']}")
        check(e["end_reason"] in (1, 3), f"{name}: flowEndReason {e['end_reason']} (idle or end of flow)")
        check(e["start_ms"] > 1.6e12 and e["start_ms"] <= e["end_ms"], f"{name}: start/end times are epoch ms")
sys.exit(1 if fails else 0)
