#!/usr/bin/python3
"""JSON checks for test_bgp.sh and test_ipsec.sh (waypointd's REST answers, FRR's vtysh json, bgpd's log).

  bgp_check.py hops PREFIX < routes.json        gateways of PREFIX in GET /api/v1/routes, sorted, one line
  bgp_check.py ifaces PREFIX < routes.json       interfaces of PREFIX's next hops in GET /api/v1/routes, sorted, one
                                                 line (a tunnel's name for a hop into it, which has no gateway)
  bgp_check.py count PREFIX_START < routes.json  routes whose prefix starts with PREFIX_START
  bgp_check.py session-hops < sessions.json      "SPORT NEXT_HOP" per session of GET /api/v1/sessions
  bgp_check.py same-fib ROUTES_JSON FRR_JSON     exit 0 when the FIB's routes equal the routes zebra
                                                 selected from routing protocols (show ip route json):
                                                 same prefixes, same next-hop gateways
  bgp_check.py watch LOG REGEX SECONDS          follows LOG from its end (every 10 ms): "watching", then the Unix
                                                 time a line matching REGEX appeared, or -1 after SECONDS
                                                 (bgpd logs with second precision: the time is taken here)
  bgp_check.py peer NEIGHBOR FIELD < summary     a field of NEIGHBOR in show bgp summary json, in the first
                                                 address family that has it ("none")
"""
import json
import re
import sys
import time

# zebra's own routes (its interfaces' prefixes: "kernel" over FPM) are not routing-protocol routes
ZEBRA_LOCAL = {"connected", "kernel", "local"}
FIB_LOCAL = {"kernel", "boot"}


def load(stream):
    try:
        return json.load(stream)
    except Exception:
        return {}


def fib_routes(doc):
    return {r["prefix"]: sorted(h.get("gateway", "") for h in r["next_hops"])
            for r in doc.get("routes", []) if r.get("protocol") not in FIB_LOCAL}


def frr_routes(doc):
    out = {}
    for prefix, entries in doc.items():
        for e in entries:
            if e.get("protocol") in ZEBRA_LOCAL or not e.get("selected") or not e.get("installed"):
                continue
            out[prefix] = sorted(h["ip"] for h in e.get("nexthops", []) if h.get("fib") and "ip" in h)
    return out


def same_fib(routes_path, frr_path):
    with open(routes_path) as f:
        fib = fib_routes(load(f))
    with open(frr_path) as f:
        frr = frr_routes(load(f))
    if fib == frr:
        print(f"  FIB == zebra: {len(fib)} routes")
        return 0
    only_fib = sorted(set(fib) - set(frr))
    only_frr = sorted(set(frr) - set(fib))
    differ = sorted(p for p in set(fib) & set(frr) if fib[p] != frr[p])
    print(f"  FIB {len(fib)} routes, zebra {len(frr)}; only in FIB {only_fib[:5]} ({len(only_fib)}),"
          f" only in zebra {only_frr[:5]} ({len(only_frr)}),"
          f" next hops differ {[(p, fib[p], frr[p]) for p in differ[:5]]} ({len(differ)})")
    return 1


def watch(path, pattern, seconds):
    rx = re.compile(pattern)
    end = time.time() + seconds
    with open(path, errors="replace") as f:
        f.seek(0, 2)
        print("watching", flush=True)
        pending = ""
        while time.time() < end:
            chunk = f.read()
            if chunk:
                now = time.time()
                pending += chunk
                lines = pending.split("\n")
                pending = lines.pop()
                if any(rx.search(line) for line in lines):
                    return f"{now:.3f}"
            else:
                time.sleep(0.01)
    return "-1"


def main(argv):
    cmd = argv[1]
    if cmd == "hops":
        print(" ".join(fib_routes(load(sys.stdin)).get(argv[2], [])))
    elif cmd == "ifaces":
        print(" ".join(sorted(h.get("interface", "") for r in load(sys.stdin).get("routes", [])
                              if r["prefix"] == argv[2] for h in r["next_hops"])))
    elif cmd == "count":
        print(sum(1 for p in fib_routes(load(sys.stdin)) if p.startswith(argv[2])))
    elif cmd == "session-hops":
        for s in load(sys.stdin).get("sessions", []):
            print(s["original"]["sport"], s.get("next_hop", ""))
    elif cmd == "same-fib":
        return same_fib(argv[2], argv[3])
    elif cmd == "watch":
        print(watch(argv[2], argv[3], float(argv[4])), flush=True)
    elif cmd == "peer":
        # The first address family that has the neighbor (ipv4Unicast first; an
        # IPv6 neighbor activated for IPv6 only is under ipv6Unicast).
        doc = load(sys.stdin)
        afs = [doc.get("ipv4Unicast")] + [v for k, v in doc.items() if k != "ipv4Unicast"]
        found = [af["peers"][argv[2]] for af in afs
                 if isinstance(af, dict) and argv[2] in af.get("peers", {})]
        print(found[0].get(argv[3], "none") if found else "none")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
