#!/usr/bin/python3
"""Sends crafted IPv6 frames to a router's port, raw AF_PACKET (dataplane/ip/README.md § IPv6).

Each --kind sends --count frames that the router's IPv6 header walk refuses with its own drop
reason (or, for `good`, a well-formed frame the router does not route yet: not_ipv4):
  chain      nine destination-options headers           -> ipv6_ext_chain_too_long
  long       a 264-byte hop-by-hop header               -> ipv6_ext_too_long
  order      hop-by-hop after destination options       -> ipv6_ext_order
  truncated  a destination-options header past the end  -> ipv6_ext_truncated
  tiny       a first fragment with 4 bytes of UDP       -> ipv6_first_fragment_short
  short      a UDP header whose length disagrees        -> ipv6_l4_truncated
  good       UDP, well formed                           -> not_ipv4
Neighbor Solicitations for the router's address (--target, RFC 4861 § 7.1.1 checks):
  nd-hop     hop limit 64, not 255                      -> nd_bad_hop_limit
  nd-csum    a wrong ICMPv6 checksum                    -> icmpv6_bad_checksum
  nd-code    code 1, not 0                              -> nd_malformed (the control thread)
  nd-mcast   a multicast target                         -> not_ipv4 (the worker: not for us)
  nd-short   12 bytes of body, no room for the target   -> not_ipv4 (the worker: not for us)
"""
import argparse
import socket
import struct

from frag6_send import checksum  # the Internet checksum (RFC 1071), beside this script

SRC = bytes.fromhex("20010db8000100000000000000000066")
DST = bytes.fromhex("20010db8000200000000000000000010")


def opts(nh, length):
    """Hop-by-hop / destination options of `length` bytes (PadN options inside) naming `nh`."""
    body, left = b"", length - 2
    while left:
        n = min(left - 2, 255) if left - 2 <= 255 or left - 2 - 255 >= 2 else left - 4
        body += bytes([1, n]) + bytes(n)
        left -= n + 2
    return bytes([nh, length // 8 - 1]) + body


def udp(length=None, data=b"x" * 8):
    return struct.pack("!HHHH", 4000, 53, length if length is not None else 8 + len(data), 0) + data


def datagram(first_nh, body):
    return struct.pack("!IHBB", 0x60000000, len(body), first_nh, 64) + SRC + DST + body


def icmp6_checksum(src, dst, msg):
    return checksum(src + dst + struct.pack("!IxxxB", len(msg), 58) + msg)  # RFC 4443 § 2.3 pseudo-header


def solicitation(kind, target):
    """A Neighbor Solicitation from SRC to `target` (unicast), its checksum right unless nd-csum."""
    body = bytes(target if kind != "nd-mcast" else bytes.fromhex("ff020000000000000000000000000001"))
    if kind == "nd-short":
        body = body[:12]
    msg = struct.pack("!BBHI", 135, 1 if kind == "nd-code" else 0, 0, 0) + body
    csum = icmp6_checksum(SRC, target, msg) ^ (0x5555 if kind == "nd-csum" else 0)
    msg = msg[:2] + struct.pack("!H", csum) + msg[4:]
    hop = 64 if kind == "nd-hop" else 255
    return struct.pack("!IHBB", 0x60000000, len(msg), 58, hop) + SRC + target + msg


def frame(kind, target=None):
    if kind.startswith("nd-"):
        return solicitation(kind, target)
    if kind == "chain":
        body = b"".join(opts(60, 8) for _ in range(8)) + opts(17, 8) + udp()
        return datagram(60, body)
    if kind == "long":
        return datagram(0, opts(17, 264) + udp())
    if kind == "order":
        return datagram(60, opts(0, 8) + opts(17, 8) + udp())
    if kind == "truncated":
        return datagram(60, opts(17, 64)[:24])
    if kind == "tiny":
        return datagram(44, struct.pack("!BBHI", 17, 0, 1, 7) + udp()[:4])
    if kind == "short":
        return datagram(17, udp(length=40))
    return datagram(17, udp())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dmac", required=True)
    ap.add_argument("--kind", required=True,
                    choices=["chain", "long", "order", "truncated", "tiny", "short", "good",
                             "nd-hop", "nd-csum", "nd-code", "nd-mcast", "nd-short"])
    ap.add_argument("--target", default="2001:db8:1::1", help="the router's address (nd-* kinds)")
    ap.add_argument("--count", type=int, default=5)
    a = ap.parse_args()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    eth = bytes.fromhex(a.dmac.replace(":", "")) + bytes.fromhex("020000000066") + b"\x86\xdd"
    for _ in range(a.count):
        s.send(eth + frame(a.kind, socket.inet_pton(socket.AF_INET6, a.target)))
    print("sent %d %s" % (a.count, a.kind))


if __name__ == "__main__":
    main()
