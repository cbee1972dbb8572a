#!/usr/bin/python3
"""Sends one UDP datagram in IPv6 fragments, raw AF_PACKET (test_nat64.sh § Fragments).

The payload is --len bytes (byte i = (i * 7 + id) & 0xff), the UDP checksum valid over the
IPv6 pseudo-header; the upper-layer bytes are cut into fragments of --size bytes (a multiple
of 8), sent last first. Prints "sha256 HEX LEN" of the payload, so the receiver's digest can
be compared. --mode:
  ok        the fragments, each once
  overlap   the second fragment starts 8 bytes early (RFC 5722: the router drops the whole
            datagram, ipv6_frag_overlap) and the first is sent last
"""
import argparse
import hashlib
import socket
import struct


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dmac", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--sport", type=int, default=40100)
    ap.add_argument("--dport", type=int, required=True)
    ap.add_argument("--len", type=int, default=3000)
    ap.add_argument("--size", type=int, default=1448)
    ap.add_argument("--id", type=int, default=1)
    ap.add_argument("--mode", choices=["ok", "overlap"], default="ok")
    a = ap.parse_args()
    src, dst = socket.inet_pton(socket.AF_INET6, a.src), socket.inet_pton(socket.AF_INET6, a.dst)
    payload = bytes((i * 7 + a.id) & 0xff for i in range(a.len))
    ulen = 8 + len(payload)
    pseudo = src + dst + struct.pack("!IxxxB", ulen, 17)
    c = checksum(pseudo + struct.pack("!HHHH", a.sport, a.dport, ulen, 0) + payload) or 0xffff
    l4 = struct.pack("!HHHH", a.sport, a.dport, ulen, c) + payload

    pieces = []  # (offset, bytes, more)
    for off in range(0, len(l4), a.size):
        part = l4[off:off + a.size]
        pieces.append((off, part, off + len(part) < len(l4)))
    if a.mode == "overlap":
        off, _, more = pieces[1]
        pieces[1] = (off - 8, l4[off - 8:off + a.size - 8], more)
    order = list(reversed(pieces))

    with open("/sys/class/net/%s/address" % a.iface) as f:
        smac = bytes.fromhex(f.read().strip().replace(":", ""))
    eth = bytes.fromhex(a.dmac.replace(":", "")) + smac + b"\x86\xdd"
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    for off, part, more in order:
        frag = struct.pack("!BBHI", 17, 0, off | (1 if more else 0), a.id)
        body = frag + part
        ip6 = struct.pack("!IHBB", 0x60000000, len(body), 44, 64) + src + dst
        s.send(eth + ip6 + body)
    print("sha256 %s %d" % (hashlib.sha256(payload).hexdigest(), len(payload)), flush=True)


if __name__ == "__main__":
    main()
