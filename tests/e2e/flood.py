#!/usr/bin/python3
"""Floods a router's LAN port with forged frames (docs/security.md § Dataplane), raw AF_PACKET.

Modes:
  arp      spoofed ARP: replies nobody asked for and gratuitous ARP for --sources made-up hosts
           of --net, replies that claim --poison's address (our client's), and ARP from an
           address off the subnet (-> arp_learn_unsolicited, arp_learn_off_subnet, maybe
           arp_rate_limited)
  frag     first fragments (MF set) of datagrams that never complete, all from --src, each with
           its own IP id (-> frag_source_limit once the source holds its share)
  syn      TCP SYNs to --dst:--dport from --sources spoofed addresses of --net with random
           source ports (-> session_rate_source / session_rate_tenant)
  badcsum  UDP to --dst with a wrong IPv4 header checksum (-> bad_ip_checksum)
  wan      from the WAN side, to the router's waypoint --dst on random odd ports: every
           other packet a forged first packet (the SVR cookie and a well-formed block from
           the peer's waypoint --src, a random HMAC trailer -> bad_hmac), the others plain UDP
           with no metadata from --sources spoofed addresses of --net (-> no_session)

--count N packets, or --seconds S of sending as fast as the socket takes them. Prints
"sent N" at the end. Run inside the namespace that holds --iface (root).
"""
import argparse
import ipaddress
import random
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac_bytes(text):
    return bytes.fromhex(text.replace(":", ""))


def ipv4(src, dst, proto, payload, ident=0, frag=0, good_csum=True):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    csum = checksum(hdr)
    if not good_csum:
        csum ^= 0x5A5A
    return hdr[:10] + struct.pack("!H", csum) + hdr[12:] + payload


def tcp_syn(src, dst, sport, dport):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    return hdr[:16] + struct.pack("!H", checksum(pseudo + hdr)) + hdr[18:]


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def arp(op, smac, spa, tha, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, smac, socket.inet_aton(spa), tha,
                       socket.inet_aton(tpa))


COOKIE = bytes.fromhex("4c48dbc6ddf6670c")


def forged_block(data):
    """A well-formed metadata block (no header TLVs, one payload TLV of a type nobody acts
    on), the data, and 16 random bytes where the HMAC trailer goes."""
    payload = struct.pack("!HH", 99, 4) + b"wpfl"
    head = COOKIE + struct.pack("!HH", (1 << 12) | 12, len(payload))
    return head + payload + data + random.randbytes(16)


def hosts(net, n):
    """n addresses of net, skipping the first 16 (the router and the test's own hosts live there)."""
    net = ipaddress.ip_network(net)
    first = int(net.network_address) + 16
    size = max(1, min(n, net.num_addresses - 18))
    return [str(ipaddress.ip_address(first + i % size)) for i in range(n)]


def frames(args, smac, dmac):
    """An endless generator of Ethernet frames for the mode."""
    ip_eth = dmac + smac + b"\x08\x00"
    if args.mode == "arp":
        fake = hosts(args.net, args.sources)
        bcast = b"\xff" * 6
        i = 0
        while True:
            host = fake[i % len(fake)]
            own = bytes([2, 0xEE]) + struct.pack("!I", i & 0xFFFFFFFF)
            kind = i % 4
            if kind == 0:  # an unrequested reply
                body = arp(2, own, host, dmac, args.router)
            elif kind == 1:  # gratuitous ARP of an unknown host
                body = arp(1, own, host, b"\0" * 6, host)
            elif kind == 2:  # "the client is at my MAC"
                body = arp(2, own, args.poison, dmac, args.router)
            else:  # a sender off the subnet
                body = arp(2, own, "192.0.2.%d" % (1 + i % 250), dmac, args.router)
            yield (bcast if kind == 1 else dmac) + own + b"\x08\x06" + body
            i += 1
    elif args.mode == "frag":
        ident = 0
        while True:
            payload = udp(40000, 5201, b"f" * 1000)[:1000]  # 1000 bytes: a multiple of 8, MF set
            yield ip_eth + ipv4(args.src, args.dst, 17, payload, ident=ident & 0xFFFF, frag=0x2000)
            ident += 1
    elif args.mode == "syn":
        fake = hosts(args.net, args.sources)
        i = 0
        while True:
            src = fake[i % len(fake)]
            yield ip_eth + ipv4(src, args.dst, 6, tcp_syn(src, args.dst, random.randint(1024, 65535), args.dport))
            i += 1
    elif args.mode == "wan":
        fake = hosts(args.net, args.sources)
        i = 0
        while True:
            dport = random.randint(8192, 32767) | 1
            if i % 2 == 0:
                body = udp(random.randint(8192, 32767) & ~1, dport, forged_block(b"x" * 64))
                yield ip_eth + ipv4(args.src, args.dst, 17, body)
            else:
                src = fake[i % len(fake)]
                yield ip_eth + ipv4(src, args.dst, 17, udp(random.randint(1024, 65535), dport, b"y" * 64))
            i += 1
    elif args.mode == "badcsum":
        while True:
            yield ip_eth + ipv4(args.src, args.dst, 17, udp(40001, 5201, b"x" * 32), good_csum=False)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["arp", "frag", "syn", "badcsum", "wan"])
    p.add_argument("--iface", required=True)
    p.add_argument("--dmac", required=True, help="the router's MAC on that segment")
    p.add_argument("--router", default="10.1.0.1", help="the router's LAN address")
    p.add_argument("--net", default="10.1.0.0/25", help="where spoofed sources come from")
    p.add_argument("--sources", type=int, default=100000)
    p.add_argument("--poison", default="10.1.0.10", help="address whose MAC the arp mode claims")
    p.add_argument("--src", default="10.1.0.10")
    p.add_argument("--dst", default="10.2.0.10")
    p.add_argument("--dport", type=int, default=80)
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--seconds", type=float, default=0)
    args = p.parse_args()
    if not args.count and not args.seconds:
        p.error("--count or --seconds")
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.iface, 0))
    smac = s.getsockname()[4]
    gen = frames(args, smac, mac_bytes(args.dmac))
    sent = 0
    end = time.monotonic() + args.seconds if args.seconds else None
    while (not args.count or sent < args.count) and (end is None or sent % 256 or time.monotonic() < end):
        try:
            s.send(next(gen))
            sent += 1
        except BlockingIOError:
            time.sleep(0.001)
    print("sent", sent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
