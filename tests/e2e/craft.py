#!/usr/bin/python3
"""Craft SVR packets toward a router's WAN waypoint (docs/svr-wire-format.md § Metadata block, § Security).

Modes:
  plain    UDP data with no metadata (no session at the receiver -> drops.no_session)
  valid    a complete forward metadata block with a correct HMAC (the receiver accepts it)
  badhmac  the same block with a corrupted HMAC trailer (-> drops.bad_hmac)
  badtlv   a correct HMAC over a block whose tenant TLV length runs past the payload
           section (-> drops.bad_metadata)

The HMAC is HMAC-SHA256 over the UDP header (final length, checksum zeroed), the metadata
block and the data, truncated to 16 bytes and appended after the data; the UDP length and IP
total length include it. Run inside the namespace that holds --iface (root: an AF_PACKET socket).
"""
import argparse
import hashlib
import hmac
import socket
import struct
import sys
import time
import uuid

COOKIE = bytes.fromhex("4c48dbc6ddf6670c")


def mix32(x):
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def affinity_class(src, dst, sport, dport, proto):
    """Class of the original tuple, mirroring dataplane/tuple.h symmetric_hash() & 63.

    docs/architecture.md § Sessions: the ingress router picks waypoint ports whose (port >> 1) & 63 is
    this class, and the receiver drops a first packet whose port disagrees (bad_metadata).
    A crafted packet meant to fail for another reason must get this right.
    """
    a = int.from_bytes(socket.inet_aton(src), "big") << 16 | sport
    b = int.from_bytes(socket.inet_aton(dst), "big") << 16 | dport
    lo, hi = min(a, b), max(a, b)
    h = mix32((lo & 0xFFFFFFFF) ^ 0x9E3779B9)
    h = mix32(h ^ (lo >> 32) ^ ((hi << 16) & 0xFFFFFFFF))
    h = mix32(h ^ ((hi >> 16) & 0xFFFFFFFF) ^ (proto << 24))
    return h & 63


def port_in_class(port, cls):
    """The port nearest below `port` (same parity) with (port >> 1) & 63 == cls."""
    return (port & ~0x7F) | (cls << 1) | (port & 1)


def tlv(t, value):
    return struct.pack("!HH", t, len(value)) + value


def fwd_context(src, dst, sport, dport, proto):
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HHB", sport, dport, proto)


def metadata_block(args, broken_tlv=False):
    payload = tlv(2, fwd_context(args.orig_src, args.orig_dst, args.orig_sport, args.orig_dport, 17))
    payload += tlv(6, uuid.uuid4().bytes)
    if broken_tlv:
        # Tenant TLV claims 200 value bytes; only the name's bytes follow and the
        # payload length covers just those, so the TLV runs past its section.
        payload += struct.pack("!HH", 7, 200) + args.tenant.encode()
    else:
        payload += tlv(7, args.tenant.encode())
        payload += tlv(10, args.service.encode())
        payload += tlv(14, args.router.encode())
        payload += tlv(17, args.dest_router.encode())
        payload += tlv(15, args.security.encode())
    header_len = 12  # no header TLVs
    return COOKIE + struct.pack("!HH", (1 << 12) | header_len, len(payload)) + payload


def l4_with_hmac(sport, dport, body, key, corrupt=False):
    udp_len = 8 + len(body) + 16
    covered = struct.pack("!HHHH", sport, dport, udp_len, 0) + body
    mac = hmac.new(key, covered, hashlib.sha256).digest()[:16]
    if corrupt:
        mac = bytes([mac[0] ^ 0xFF]) + mac[1:]
    return body + mac


def build(args):
    data = args.data.encode()
    if args.mode == "plain":
        return data
    key = bytes.fromhex(args.key)
    md = metadata_block(args, broken_tlv=(args.mode == "badtlv"))
    return l4_with_hmac(args.sport, args.dport, md + data, key, corrupt=(args.mode == "badhmac"))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(args, smac, payload):
    """Ethernet / IPv4 (DF, TTL 64) / UDP with both checksums, around `payload`."""
    src, dst = socket.inet_aton(args.src), socket.inet_aton(args.dst)
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    ck = checksum(pseudo + struct.pack("!HHHH", args.sport, args.dport, udp_len, 0) + payload) or 0xFFFF
    udp = struct.pack("!HHHH", args.sport, args.dport, udp_len, ck) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 1, 0x4000, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return bytes.fromhex(args.dmac.replace(":", "")) + smac + b"\x08\x00" + ip + udp


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["plain", "valid", "badhmac", "badtlv"])
    p.add_argument("--iface", required=True)
    p.add_argument("--dmac", required=True, help="Ethernet dst: the router's WAN MAC")
    p.add_argument("--src", default="172.16.0.1", help="outer source (a configured peer waypoint)")
    p.add_argument("--dst", default="172.16.0.2", help="outer destination (the router's waypoint)")
    p.add_argument("--sport", type=int, default=16384)
    p.add_argument("--dport", type=int, default=16385)
    p.add_argument("--key", default="", help="pair key, hex")
    p.add_argument("--orig-src", default="10.1.0.10")
    p.add_argument("--orig-dst", default="10.2.0.10")
    p.add_argument("--orig-sport", type=int, default=40000)
    p.add_argument("--orig-dport", type=int, default=5201)
    p.add_argument("--tenant", default="branch")
    p.add_argument("--service", default="iperf-udp")
    p.add_argument("--router", default="r1", help="source router name (TLV 14)")
    p.add_argument("--dest-router", default="r2", help="destination router name (TLV 17)")
    p.add_argument("--security", default="default", help="security policy name (TLV 15)")
    p.add_argument("--data", default="waypoint-e2e")
    p.add_argument("--keep-ports", action="store_true",
                   help="do not move --sport/--dport into the original tuple's affinity class")
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--dump", action="store_true", help="print the frame in hex, do not send")
    args = p.parse_args()
    if args.mode != "plain" and len(args.key) < 64:
        p.error("--key (64+ hex chars) is required for metadata modes")

    if args.mode != "plain" and not args.keep_ports:
        cls = affinity_class(args.orig_src, args.orig_dst, args.orig_sport, args.orig_dport, 17)
        args.sport, args.dport = port_in_class(args.sport, cls), port_in_class(args.dport, cls)
    # Built and sent by hand (an AF_PACKET socket on --iface): importing scapy costs
    # about a second of CPU per run, and the test runs this four times.
    with open(f"/sys/class/net/{args.iface}/address") as f:
        smac = bytes.fromhex(f.read().strip().replace(":", ""))
    out = frame(args, smac, build(args))
    if args.dump:
        print(out.hex())
        return 0
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((args.iface, 0))
        for i in range(args.count):
            if i:
                time.sleep(0.05)
            s.send(out)
    print(f"sent {args.count} x {args.mode} {args.src}:{args.sport} -> {args.dst}:{args.dport} "
          f"({len(out)} bytes) on {args.iface}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
