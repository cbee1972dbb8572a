#!/usr/bin/python3
"""Session UUIDs in the SVR metadata of a capture (the paths e2e test).

usage: svr_uuids.py CAPTURE

One line per metadata packet with a UUID (docs/svr-wire-format.md § Metadata block), in capture order:
  EPOCH_SECONDS SRC:SPORT DST:DPORT UUID KIND
KIND is fwd (forward context), rev (reverse context) or other, with
"+keepalive" when TLV 24 says keep-alive (a metadata-only packet).
"""
import sys

from pcapfile import metadata_packets, tlvs

for p in metadata_packets(sys.argv[1]):
    uuid, kind, keepalive = None, "other", False
    for typ, v in tlvs(p.payload):
        if typ == 6 and len(v) == 16:
            uuid = v.hex()
        elif typ == 2:
            kind = "fwd"
        elif typ == 4:
            kind = "rev"
        elif typ == 24 and v[:1] == b"\x01":
            keepalive = True
    if uuid:
        print(f"{p.time:.6f} {p.src}:{p.sport} {p.dst}:{p.dport} {uuid} {kind}{'+keepalive' if keepalive else ''}")
