#!/usr/bin/python3
"""Session UUIDs in the SVR metadata of a capture (#9 paths e2e).

usage: svr_uuids.py CAPTURE

One line per metadata packet (SVR.md § Metadata block), in capture order:
  EPOCH_SECONDS SRC:SPORT DST:DPORT UUID KIND
KIND is fwd (forward context), rev (reverse context) or other, with
"+keepalive" when TLV 24 says keep-alive (a metadata-only packet).
"""
import struct
import subprocess
import sys

COOKIE = "4c:48:db:c6:dd:f6:67:0c"


def tlvs(block):
    hl = struct.unpack("!H", block[8:10])[0] & 0x0FFF
    pl = struct.unpack("!H", block[10:12])[0]
    end = min(len(block), hl + pl)
    pos = 12
    while pos + 4 <= end:
        t, n = struct.unpack("!HH", block[pos:pos + 4])
        yield t, block[pos + 4:pos + 4 + n]
        pos += 4 + n


# tshark picks the metadata packets (a bulk transfer's capture holds tens of
# thousands of data packets; dissecting them in python took seconds).
FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "tcp.payload", "udp.payload"]
cmd = ["tshark", "-r", sys.argv[1], "-n", "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f",
       "-Y", f"tcp.payload[0:8] == {COOKIE} || udp.payload[0:8] == {COOKIE}"]
for f in FIELDS:
    cmd += ["-e", f]
out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
for line in out.splitlines():
    t, src, dst, tsp, tdp, usp, udp_dp, tpl, upl = (line.split("\t") + [""] * 9)[:9]
    data = bytes.fromhex((tpl or upl).replace(":", ""))
    if len(data) < 12:
        continue
    sport, dport = (tsp, tdp) if tpl else (usp, udp_dp)
    uuid, kind, keepalive = None, "other", False
    for typ, v in tlvs(data):
        if typ == 6 and len(v) == 16:
            uuid = v.hex()
        elif typ == 2:
            kind = "fwd"
        elif typ == 4:
            kind = "rev"
        elif typ == 24 and v[:1] == b"\x01":
            keepalive = True
    if uuid:
        print(f"{float(t):.6f} {src}:{sport} {dst}:{dport} {uuid} {kind}{'+keepalive' if keepalive else ''}")
