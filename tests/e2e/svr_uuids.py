#!/usr/bin/python3
"""Session UUIDs in the SVR metadata of a capture (#9 paths e2e).

usage: svr_uuids.py CAPTURE

One line per metadata packet (docs/svr-wire-format.md § Metadata block), in capture order:
  EPOCH_SECONDS SRC:SPORT DST:DPORT UUID KIND
KIND is fwd (forward context), rev (reverse context) or other, with
"+keepalive" when TLV 24 says keep-alive (a metadata-only packet).
"""
import struct
import sys

from scapy.all import IP, TCP, UDP, PcapReader  # noqa: E402

COOKIE = bytes.fromhex("4c48dbc6ddf6670c")


def tlvs(block):
    hl = struct.unpack("!H", block[8:10])[0] & 0x0FFF
    pl = struct.unpack("!H", block[10:12])[0]
    end = min(len(block), hl + pl)
    pos = 12
    while pos + 4 <= end:
        t, n = struct.unpack("!HH", block[pos:pos + 4])
        yield t, block[pos + 4:pos + 4 + n]
        pos += 4 + n


with PcapReader(sys.argv[1]) as cap:
    for p in cap:
        if IP not in p or (TCP not in p and UDP not in p):
            continue
        l4 = p[TCP] if TCP in p else p[UDP]
        data = bytes(l4.payload)
        if not data.startswith(COOKIE) or len(data) < 12:
            continue
        uuid, kind, keepalive = None, "other", False
        for t, v in tlvs(data):
            if t == 6 and len(v) == 16:
                uuid = v.hex()
            elif t == 2:
                kind = "fwd"
            elif t == 4:
                kind = "rev"
            elif t == 24 and v[:1] == b"\x01":
                keepalive = True
        if uuid:
            print(f"{float(p.time):.6f} {p[IP].src}:{l4.sport} {p[IP].dst}:{l4.dport} {uuid} "
                  f"{kind}{'+keepalive' if keepalive else ''}")
