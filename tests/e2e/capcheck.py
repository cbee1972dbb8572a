#!/usr/bin/python3
"""Check a WAN capture against SVR's promises (docs/svr-wire-format.md § First packet, § Handshake).

usage: capcheck.py CAPTURE WAYPOINT_ADDR... [--summary]
       capcheck.py CAPTURE --uuids     (print the session UUIDs, TLV 6, of forward metadata: TLV 2 or 3)
       capcheck.py CAPTURE --apps      (print "UUID APPLICATION" for every block with TLV 35)
       capcheck.py CAPTURE --md-headers (#4: one line per metadata packet, IP datagrams
                                        reassembled: "SRC TYPES" with its header TLV types)
       capcheck.py CAPTURE --hmac KEY  (verify the HMAC-SHA256-128 trailer of every metadata
                                        packet captured whole, docs/svr-wire-format.md § Security)

1. Every IPv4 packet on the WAN is between waypoint addresses (client/server addresses
   never appear in the outer header).
2. Every session (tshark tcp.stream / udp.stream: one waypoint port pair) starts with the
   SVR cookie 0x4c48dbc6ddf6670c at payload offset 0, the first reply carries it too
   (reverse metadata), and the cookie stops after the handshake:
   TCP: only on SYN / SYN-ACK, plus at most one packet without SYN, which must be the
   first forward packet after the SYN-ACK (its ACK); never on data.
   UDP: only on the first packets (at most 4, all before the 6th packet of the session).
3. Waypoint ports (docs/svr-wire-format.md § First packet, docs/architecture.md § Sessions): the first packet of a session
   goes from an even port to an odd one, both in 16384..65534, with the same affinity class
   (port >> 1) & 63.
Prints PASS/FAIL lines; exit 1 on any failure. --summary only prints counts.
"""
import collections
import subprocess
import sys

from pcapfile import metadata_packets, tlvs

COOKIE = "4c:48:db:c6:dd:f6:67:0c"
COOKIE_HEX = COOKIE.replace(":", "")


def tshark(cap, dfilter, fields):
    cmd = ["tshark", "-r", cap, "-n", "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    if dfilter:
        cmd += ["-Y", dfilter]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def is_keepalive(block):
    """Control message TLV 24 = 1 (keep-alive) in the block's header section."""
    hl = int.from_bytes(block[8:10], "big") & 0xFFF if len(block) >= 12 else 0
    return (24, b"\x01") in tlvs(block[:hl])


def applications(cap):
    """TLV 35 of every forward metadata block: "SESSION-UUID APPLICATION" lines."""
    found = set()
    for p in metadata_packets(cap):
        t = dict(tlvs(p.payload))
        if 6 in t and 35 in t:
            found.add(f"{t[6].hex()} {t[35].decode(errors='replace')}")
    for line in sorted(found):
        print(line)
    return 0


def uuids(cap):
    found = set()
    for p in metadata_packets(cap):
        t = dict(tlvs(p.payload))
        if (2 in t or 3 in t) and 6 in t:  # forward context (IPv4 or IPv6): a forward metadata packet
            found.add(t[6].hex())
    for u in sorted(found):
        print(u)
    return 0


def md_headers(cap):
    """#4: header-section TLV types of every metadata block (TLV 1 fragment, 16 key version)."""
    rows = tshark(cap, f"tcp.payload[0:8] == {COOKIE} || udp.payload[0:8] == {COOKIE}",
                  ["ip.src", "tcp.payload", "udp.payload"])
    for r in rows:
        r = r + ["", "", ""]
        block = bytes.fromhex((r[1] or r[2]).replace(":", ""))
        hl = int.from_bytes(block[8:10], "big") & 0xFFF if len(block) >= 12 else 0
        types = [t for t, _ in tlvs(block[:hl])]  # the header section only: the payload may be encrypted
        print(r[0], ",".join(str(t) for t in types) or "-")
    return 0


def verify_hmacs(cap, key_hex):
    """Recompute each metadata packet's trailer: HMAC-SHA256 over the L4 header with its
    checksum zeroed, the metadata block and the data, truncated to 16 bytes."""
    import hashlib
    import hmac
    key = bytes.fromhex(key_hex)
    good = bad = partial = 0
    for p in metadata_packets(cap):
        if not p.whole:
            partial += 1  # cut by the capture's snaplen, or fragmented
            continue
        l4 = p.l4
        hl, ck = (8, 6) if p.proto == 17 else ((l4[12] >> 4) * 4, 16)
        hdr = l4[:ck] + b"\0\0" + l4[ck + 2:hl]
        mac = hmac.new(key, hdr + l4[hl:-16], hashlib.sha256).digest()[:16]
        if mac == l4[-16:]:
            good += 1
        else:
            bad += 1
            print(f"  bad trailer: {p}, {p.l4_len} L4 bytes")
    ok = good > 0 and bad == 0
    print(("PASS: " if ok else "FAIL: ") + f"metadata HMAC trailers verify with the pair key "
          f"({good} good, {bad} bad, {partial} not captured whole)")
    return 0 if ok else 1


def main():
    if "--hmac" in sys.argv:
        return verify_hmacs(sys.argv[1], sys.argv[sys.argv.index("--hmac") + 1])
    if "--md-headers" in sys.argv:
        return md_headers(sys.argv[1])
    if "--uuids" in sys.argv:
        return uuids(sys.argv[1])
    if "--apps" in sys.argv:
        return applications(sys.argv[1])
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    summary_only = "--summary" in sys.argv
    cap, waypoints = args[0], set(args[1:])
    # One dissection pass: tshark's sessions (streams, IP datagrams reassembled) and each
    # packet's payload, whose first 8 bytes tell whether it carries a metadata block.
    fields = ["frame.number", "ip.src", "ip.dst", "ip.proto", "tcp.stream", "udp.stream",
              "tcp.flags.syn", "tcp.flags.ack", "tcp.len", "tcp.srcport", "udp.srcport",
              "tcp.dstport", "udp.dstport", "tcp.payload", "udp.payload"]
    rows = tshark(cap, "ip", fields)
    cookie = set()
    keepalive = 0
    for r in rows:
        r += [""] * (len(fields) - len(r))
        payload = (r[13] or r[14]).replace(":", "")
        if payload.startswith(COOKIE_HEX):
            # A metadata-only packet (TLV 24 keep-alive: an application found after the
            # handshake, a migration) may come any time; the checks below are about data.
            if is_keepalive(bytes.fromhex(payload)):
                keepalive += 1
            else:
                cookie.add(int(r[0]))
        del r[13:]
    fields = fields[:13]

    sessions = collections.OrderedDict()   # ("tcp"|"udp", stream) -> [row dicts]
    foreign = []
    for r in rows:
        r += [""] * (len(fields) - len(r))
        d = dict(zip(fields, r))
        d["n"] = int(d["frame.number"])
        d["cookie"] = d["n"] in cookie
        if d["ip.src"] not in waypoints or d["ip.dst"] not in waypoints:
            foreign.append(d)
        if d["tcp.stream"]:
            sessions.setdefault(("tcp", int(d["tcp.stream"])), []).append(d)
        elif d["udp.stream"]:
            sessions.setdefault(("udp", int(d["udp.stream"])), []).append(d)

    ntcp = sum(1 for k in sessions if k[0] == "tcp")
    nudp = sum(1 for k in sessions if k[0] == "udp")
    print(f"  WAN capture: {len(rows)} IPv4 packets, {len(cookie)} with the SVR cookie on data, "
          f"{keepalive} metadata-only, {ntcp} TCP + {nudp} UDP sessions")
    if summary_only:
        for key, pkts in sessions.items():
            c = [p for p in pkts if p["cookie"]]
            first = pkts[0]
            print(f"    {key[0]} {first['ip.src']}:{first['tcp.srcport'] or first['udp.srcport']} -> "
                  f"{first['ip.dst']}: {len(pkts)} packets, metadata on {len(c)}")
        return 0

    failures = 0

    def result(ok, msg):
        nonlocal failures
        print(("PASS: " if ok else "FAIL: ") + msg)
        failures += 0 if ok else 1

    result(not foreign and rows, "WAN carries only waypoint addresses " + (
        f"({len(rows)} IPv4 packets)" if not foreign else
        f"({len(foreign)} foreign, first: frame {foreign[0]['n']} {foreign[0]['ip.src']} -> {foreign[0]['ip.dst']})"))

    bad = []
    for key, pkts in sessions.items():
        fwd_src = pkts[0]["ip.src"]
        if key[0] == "tcp":
            syn = [p for p in pkts if p["tcp.flags.syn"] in ("1", "True")]
            if not syn:
                continue  # a session that started before the capture
            problems = []
            if not all(p["cookie"] for p in syn):
                problems.append("SYN/SYN-ACK without metadata")
            synack = [p for p in syn if p["tcp.flags.ack"] in ("1", "True")]
            if not synack:
                problems.append("no SYN-ACK")
            later = [p for p in pkts if p["cookie"] and p not in syn]
            if later:
                after = [p for p in pkts if synack and p["n"] > synack[0]["n"] and p["ip.src"] == fwd_src]
                first_ack = after[0] if after else None
                if len(later) > 1 or later[0] is not first_ack:
                    problems.append("metadata after the handshake on frames "
                                    + ",".join(str(p["n"]) for p in later[:5]))
        else:
            problems = []
            if not pkts[0]["cookie"]:
                problems.append(f"first packet (frame {pkts[0]['n']}) without metadata")
            rev = [p for p in pkts if p["ip.src"] != fwd_src]
            if rev and not rev[0]["cookie"]:
                problems.append(f"first reverse packet (frame {rev[0]['n']}) without metadata")
            idx = [i for i, p in enumerate(pkts) if p["cookie"]]
            if len(idx) > 4 or (idx and idx[-1] >= 6):
                problems.append(f"metadata on {len(idx)} packets, last at packet #{idx[-1] + 1} of {len(pkts)}")
        ncookie = sum(1 for p in pkts if p["cookie"])
        line = f"{key[0]} session {fwd_src}:{pkts[0]['tcp.srcport'] or pkts[0]['udp.srcport']}: " \
               f"{len(pkts)} packets, metadata on {ncookie}"
        if problems:
            bad.append(line + ": " + "; ".join(problems))
        else:
            print("  ok " + line)
    for b in bad:
        print("  BAD " + b)

    port_bad = []
    for key, pkts in sessions.items():
        f = pkts[0]
        sp = int(f["tcp.srcport"] or f["udp.srcport"])
        dp = int(f["tcp.dstport"] or f["udp.dstport"])
        ok = (sp % 2 == 0 and dp % 2 == 1 and all(16384 <= p <= 65534 for p in (sp, dp))
              and (sp >> 1) & 63 == (dp >> 1) & 63)
        if not ok:
            port_bad.append(f"{key[0]} {f['ip.src']}:{sp} -> {f['ip.dst']}:{dp}")
    result(not port_bad and sessions, "waypoint ports: even -> odd, in 16384..65534, same affinity class"
           + (f" ({len(sessions)} sessions)" if not port_bad else ": bad " + ", ".join(port_bad[:5])))
    result(not bad and ntcp > 0, f"SVR cookie only on session setup ({ntcp} TCP, {nudp} UDP sessions, {len(bad)} bad)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
