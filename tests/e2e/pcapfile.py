"""SVR metadata packets of a classic pcap capture (what lib.sh's wp_cap_start writes), read
in python: the checks that only need the bytes of a few packets skip a tshark pass, which
dissects every frame of a bulk transfer's capture (about a second per 25 000 frames here).

metadata_packets(path) yields the IPv4 TCP/UDP packets, and the IPv6 ones without extension
headers (IPv6 waypoints, docs/ipv6.md § IPv6 sessions between IPv6 waypoints), whose payload
starts with the SVR cookie (docs/svr-wire-format.md § Metadata block). A fragmented datagram is seen in its first
fragment, the one that holds the L4 header and the block; `whole` tells whether all of it was
captured.
"""
import socket
import struct

COOKIE = bytes.fromhex("4c48dbc6ddf6670c")
ETH_IPV4, ETH_VLAN, ETH_IPV6 = b"\x08\x00", b"\x81\x00", b"\x86\xdd"


def frames(path):
    """(number, epoch seconds, bytes captured) of each frame; numbered from 1 like tshark."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a classic pcap file (pcapng?)")
    frac = 1e9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e6
    if len(data) < 24 or struct.unpack_from(endian + "I", data, 20)[0] != 1:
        raise ValueError(f"{path}: not an Ethernet capture")
    pos, n = 24, 0
    while pos + 16 <= len(data):
        sec, sub, incl, _ = struct.unpack_from(endian + "IIII", data, pos)
        n += 1
        yield n, sec + sub / frac, data[pos + 16:pos + 16 + incl]
        pos += 16 + incl


class Packet:
    """An IPv4 TCP/UDP packet (or first fragment) carrying a metadata block."""
    __slots__ = ("number", "time", "src", "dst", "proto", "sport", "dport", "l4", "l4_len", "whole", "payload")

    def __repr__(self):
        return f"frame {self.number} {self.src}:{self.sport} -> {self.dst}:{self.dport} proto {self.proto}"


def metadata_packets(path):
    for number, t, frame in frames(path):
        eth = 14
        while frame[eth - 2:eth] == ETH_VLAN:
            eth += 4
        if frame[eth - 2:eth] == ETH_IPV6:
            p = _ipv6_packet(number, t, frame[eth:])
            if p:
                yield p
            continue
        if frame[eth - 2:eth] != ETH_IPV4 or len(frame) < eth + 20:
            continue
        ip = frame[eth:]
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack_from("!H", ip, 2)[0]
        flags_offset = struct.unpack_from("!H", ip, 6)[0]
        proto = ip[9]
        if flags_offset & 0x1FFF or proto not in (6, 17):
            continue  # a later fragment: no L4 header in it
        l4 = ip[ihl:total]
        hl = 8 if proto == 17 else ((l4[12] >> 4) * 4 if len(l4) > 12 else 20)
        if len(l4) < hl + len(COOKIE) or l4[hl:hl + len(COOKIE)] != COOKIE:
            continue
        p = Packet()
        p.number, p.time, p.proto = number, t, proto
        p.src, p.dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        p.sport, p.dport = struct.unpack_from("!HH", l4, 0)
        p.l4_len = total - ihl  # of this packet; the datagram's if it is not fragmented
        p.whole = not flags_offset & 0x2000 and len(l4) == p.l4_len
        p.l4, p.payload = l4, l4[hl:]
        yield p


def _ipv6_packet(number, t, ip):
    """An IPv6 TCP/UDP packet without extension headers carrying a metadata block, or None."""
    if len(ip) < 40 or ip[6] not in (6, 17):
        return None
    plen, proto = struct.unpack_from("!H", ip, 4)[0], ip[6]
    l4 = ip[40:40 + plen]
    hl = 8 if proto == 17 else ((l4[12] >> 4) * 4 if len(l4) > 12 else 20)
    if len(l4) < hl + len(COOKIE) or l4[hl:hl + len(COOKIE)] != COOKIE:
        return None
    p = Packet()
    p.number, p.time, p.proto = number, t, proto
    p.src, p.dst = socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
    p.sport, p.dport = struct.unpack_from("!HH", l4, 0)
    p.l4_len = plen
    p.whole = len(l4) == plen
    p.l4, p.payload = l4, l4[hl:]
    return p


def tlvs(block):
    """TLVs of a metadata block as (type, value) pairs, header and payload sections
    (docs/svr-wire-format.md § Metadata block); stops at a truncated one."""
    if len(block) < 12:
        return []
    hl = int.from_bytes(block[8:10], "big") & 0xFFF
    pl = int.from_bytes(block[10:12], "big")
    out, o, end = [], 12, min(len(block), hl + pl)
    while o + 4 <= end:
        t, n = int.from_bytes(block[o:o + 2], "big"), int.from_bytes(block[o + 2:o + 4], "big")
        out.append((t, block[o + 4:o + 4 + n]))
        o += 4 + n
    return out
