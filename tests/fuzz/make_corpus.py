#!/usr/bin/python3
"""Regenerates the fuzz seed corpora in tests/fuzz/corpus/<target>/ (README.md § Seeds).

    tests/fuzz/make_corpus.py [--pcap FILE ...] [--config FILE ...] [--seeds-bin PATH]

Where the seeds come from:
  packet       cap-*: frames from e2e captures (--pcap; without it the committed
               cap-* frames stay), one or two per kind of frame; a frame the
               capture's snaplen cut short is also kept repaired (lengths and
               checksums made to fit what was captured); craft-*: edge cases
               built with scapy (options, fragments, ARP, VLAN, IPv6, runts)
  metadata     cap-*: the L4 payloads of captured frames that carry an SVR
               metadata block (block, data, HMAC trailer); the rest from
               wp_fuzz_seeds (MetadataWriter, as svr/emit.cc builds blocks)
  reassembly   fuzz_reassembly scripts cutting captured datagrams into fragments
               (in order, reversed, duplicated, overlapping, timed out, several
               at once, table full, too many, too big, malformed)
  bfd, fpm, ipfix, ha_session   wp_fuzz_seeds (BfdSession, FpmWriter, IpfixMessage,
               encode_session)
  ike          cap-*: an IKE_SA_INIT strongSwan sent (committed, from
               tests/data/ike/); enc-*: wp_fuzz_seeds (encode_message)
  ipv6         fuzz_ipv6 streams of IPv6 datagrams built with scapy: every
               extension header, AH/ESP, limits, bad order, truncations, and
               fragments (in order, reversed, overlapping, duplicated, atomic,
               a tiny first fragment, timed out)
  config       examples/*.yaml, tests/data/config/*, configs an e2e run wrote
               (--config), and the config texts of tests/unit/*.cc
  rest_config  the same files, their REST JSON form (wp_fuzz_seeds) and the
               PUT bodies of tests/unit/rest_test.cc
  rest_request whole HTTP requests (rest_requests below): each route with the
               read-write, read-only, wrong and no token, dry-run and real PUTs,
               an alias bomb, chunked and oversized bodies
  config_aliases  YAML with anchors and aliases (alias_yaml below: merges,
               bombs, deep nesting) and the config files

Everything but the capture is read from the tree, so a rerun without --pcap
rewrites the same files. Needs scapy (the Debian python has it) and
wp_fuzz_seeds (ninja -C build-san wp_fuzz_seeds; the build test.sh makes).
"""
import argparse
import codecs
import glob
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

from scapy.all import (ARP, ICMP, IP, IPOption_NOP, IPOption_RR, TCP, UDP, Dot1Q, Ether, IPv6, Padding,
                       Raw, fragment, rdpcap)
from scapy.layers.inet6 import (ICMPv6EchoRequest, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                                IPv6ExtHdrHopByHop, IPv6ExtHdrSegmentRouting, PadN)
from scapy.layers.ipsec import AH, ESP

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
COOKIE = bytes.fromhex("4c48dbc6ddf6670c")
CONFIG_KEYS = ("router", "tenants", "services", "policies", "peers", "dataplane", "mgmt", "routes",
               "security_policies", "ipfix", "ha", "path_monitoring", "offload")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# Targets whose corpus mixes committed wire captures (cap-*) with encoder
# seeds (enc-*, rewritten on every run).
ENC_PREFIXED = ("metadata", "ike")


def clear(target, prefix=""):
    d = os.path.join(CORPUS, target)
    for f in glob.glob(os.path.join(d, prefix + "*")):
        os.remove(f)


def corpus_files(target, prefix):
    return sorted(glob.glob(os.path.join(CORPUS, target, prefix + "*")))


# --- packets -----------------------------------------------------------------

def frame_kind(p):
    """A short name for the kind of frame: what the parser branches on."""
    if IP not in p:
        return p.lastlayer().name.lower().replace(" ", "")
    ip = p[IP]
    parts = []
    if ip.flags.MF or ip.frag:
        parts.append("frag")
    if TCP in p:
        parts.append("tcp-" + (str(p[TCP].flags) or "none"))
        payload = bytes(p[TCP].payload)
    elif UDP in p:
        parts.append("udp")
        payload = bytes(p[UDP].payload)
    else:
        parts.append("ip%d" % ip.proto)
        payload = b""
    if payload.startswith(COOKIE):
        parts.append("svr")
    elif payload:
        parts.append("data")
    return "-".join(parts)


def repaired(raw):
    """The frame with IP/L4 lengths and checksums fitting the captured bytes."""
    p = Ether(raw)
    if IP not in p:
        return None
    del p[IP].len, p[IP].chksum
    if UDP in p:
        del p[UDP].len, p[UDP].chksum
    elif TCP in p:
        del p[TCP].chksum
    return bytes(p)


def capture_seeds(pcaps, per_kind=2):
    clear("packet", "cap-")
    n = 0
    for path in pcaps:
        tag = os.path.splitext(os.path.basename(path))[0]
        seen = {}
        for pkt in rdpcap(path):
            raw = bytes(pkt)
            truncated = pkt.wirelen is not None and pkt.wirelen > len(raw)
            kind = frame_kind(Ether(raw)) + ("-cut" if truncated else "")
            if seen.get(kind, 0) >= per_kind:
                continue
            seen[kind] = seen.get(kind, 0) + 1
            name = "cap-%s-%s-%d" % (tag, kind, seen[kind])
            write("packet", name, raw)
            n += 1
            if truncated:
                fixed = repaired(raw)
                if fixed:
                    write("packet", name + "-repaired", fixed)
                    n += 1
    return n


def crafted_packets():
    clear("packet", "craft-")
    mac = dict(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b")
    base = IP(src="10.1.0.10", dst="10.2.0.10", id=0x1234)
    data = bytes(range(64)) * 4
    seeds = {
        "arp-request": Ether(dst="ff:ff:ff:ff:ff:ff", src=mac["src"]) /
        ARP(op=1, hwsrc=mac["src"], psrc="10.1.0.10", pdst="10.1.0.1"),
        "arp-reply": Ether(**mac) / ARP(op=2, hwsrc=mac["src"], psrc="10.1.0.10", hwdst=mac["dst"],
                                        pdst="10.1.0.1"),
        "icmp-echo": Ether(**mac) / IP(src="10.1.0.10", dst="10.1.0.1") / ICMP(id=7, seq=1) / b"ping",
        "ip-options-udp": Ether(**mac) / IP(src="10.1.0.10", dst="10.2.0.10",
                                            options=[IPOption_RR(routers=["0.0.0.0"] * 3), IPOption_NOP()]) /
        UDP(sport=5353, dport=53) / b"\x12\x34\x01\x00",
        "tcp-syn-options": Ether(**mac) / base / TCP(sport=40000, dport=80, flags="S", seq=1000,
                                                     options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7),
                                                              ("Timestamp", (1, 0))]),
        "udp-zero-checksum": Ether(**mac) / base / UDP(sport=1000, dport=5201, chksum=0) / (b"x" * 20),
        "udp-svr-cookie-marker": Ether(**mac) / base / UDP(sport=1000, dport=5201) / (COOKIE + b"data"),
        "vlan-ipv4": Ether(**mac) / Dot1Q(vlan=10) / base / UDP(sport=1, dport=2),
        "ipv6-udp": Ether(**mac) / IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=1, dport=2) / b"x",
        # Padding past the IP length (a short frame on a 60-byte minimum link).
        "ethernet-padding": Ether(**mac) / base / UDP(sport=1, dport=2) / Padding(b"\0" * 18),
    }
    frags = fragment(Ether(**mac) / base / UDP(sport=1000, dport=5201) / data, fragsize=96)
    for i, f in enumerate(frags):
        seeds["udp-fragment-%d" % i] = f
    for name, p in seeds.items():
        write("packet", "craft-" + name, bytes(p))
    # Broken on purpose: what no builder would send.
    good = bytes(Ether(**mac) / base / TCP(sport=40000, dport=80, flags="PA") / b"GET / HTTP/1.1\r\n\r\n")
    l3 = 14
    broken = {
        "runt": good[:20],
        "ip-header-cut": good[:l3 + 12],
        "ihl-too-small": good[:l3] + bytes([0x43]) + good[l3 + 1:],
        "ihl-past-end": good[:l3] + bytes([0x4f]) + good[l3 + 1:l3 + 40],
        "total-length-too-big": good[:l3 + 2] + b"\xff\xf0" + good[l3 + 4:],
        "total-length-below-header": good[:l3 + 2] + b"\x00\x10" + good[l3 + 4:],
        "tcp-data-offset-past-end": good[:l3 + 20 + 12] + bytes([0xf0]) + good[l3 + 20 + 13:],
        "ip-version-6-in-v4-ethertype": good[:l3] + bytes([0x65]) + good[l3 + 1:],
    }
    for name, raw in broken.items():
        write("packet", "craft-" + name, raw)
    return len(seeds) + len(broken)


# --- metadata from captures ---------------------------------------------------

def capture_metadata():
    clear("metadata", "cap-")
    n = 0
    for path in corpus_files("packet", "cap-"):
        if path.endswith("-repaired"):
            continue
        p = Ether(open(path, "rb").read())
        l4 = p[TCP] if TCP in p else p[UDP] if UDP in p else None
        payload = bytes(l4.payload) if l4 is not None else b""
        if payload.startswith(COOKIE):
            write("metadata", os.path.basename(path), payload)
            n += 1
    return n


# --- reassembly scripts -------------------------------------------------------

def reasm(payload, frags, slots=0, timeout=99, start=0xfffff000):
    """A fuzz_reassembly input. frags: (key, mf, ihl_sel, ticks, off8, df, length)."""
    out = bytearray([slots, timeout]) + start.to_bytes(4, "big") + bytes([len(frags)])
    for key, mf, ihl_sel, ticks, off8, df, length in frags:
        out += bytes([key | (0x10 if mf else 0) | ihl_sel << 5, ticks])
        out += (off8 | (0x4000 if df else 0)).to_bytes(2, "big") + length.to_bytes(2, "big")
    return bytes(out + payload)


def cut(total, pieces, key=0, ihl_sel=0, ticks=2, df=False):
    """`total` bytes in `pieces` fragments of 8-byte multiples, in order."""
    step = max(8, (total // pieces) // 8 * 8)
    out, off = [], 0
    while off < total:
        length = min(step, total - off)
        last = off + length >= total
        out.append((key, not last, ihl_sel, ticks, off // 8, df and off == 0, length))
        off += length
    return out


def with_ticks(op, ticks):
    return op[:3] + (ticks,) + op[4:]


def reassembly_seeds():
    clear("reassembly")
    datagrams = []
    for path in corpus_files("packet", "cap-"):
        p = Ether(open(path, "rb").read())
        whole = "-cut-" not in path or path.endswith("-repaired")
        if IP in p and whole and len(bytes(p[IP].payload)) >= 64:
            datagrams.append((os.path.basename(path), bytes(p[IP].payload)))
    # One of each kind, metadata ones first: SVR datagrams are what our peers fragment.
    datagrams.sort(key=lambda d: ("svr" not in d[0], -len(d[1])))
    kinds = set()
    picked = []
    for name, d in datagrams:
        kind = re.sub(r"-\d+$", "", name)
        if kind not in kinds:
            kinds.add(kind)
            picked.append((name, d))
    rng = random.Random(5)
    n = 0
    for name, d in picked[:3]:
        tag = name.replace("cap-", "")
        total = len(d)
        inorder = cut(total, 4)
        rev = list(reversed(inorder))
        shuffled = inorder[:] + [inorder[1]]
        rng.shuffle(shuffled)
        seeds = {
            "in-order": reasm(d, inorder),
            # An odd clock step on the completing fragment: take() gets too small a buffer.
            "in-order-df-small-buffer": reasm(d, cut(total, 3, df=True)[:-1] + [with_ticks(cut(total, 3)[-1], 3)]),
            "reversed": reasm(d, rev),
            "shuffled-duplicate": reasm(d, shuffled),
            "overlap-then-resent": reasm(d, inorder[:2] + [(0, True, 0, 2, inorder[1][4] - 1, False, 16)] + inorder),
            "timeout-then-resent": reasm(d, inorder[:2] + [(0, False, 0, 250, 0, False, 0)] * 2 + inorder, timeout=9),
            "two-interleaved-options": reasm(d, [x for pair in zip(cut(total, 3, key=1, ihl_sel=2),
                                                                   cut(total, 3, key=2, ihl_sel=7)) for x in pair]),
            "table-full": reasm(d, [(k, True, 0, 1, 0, False, 16) for k in range(6)] +
                                   [(0, False, 0, 2, 2, False, total - 16)], slots=0),
            "too-many": reasm(d, [(3, True, 0, 0, i, False, 8) for i in range(17)] +
                                 [(3, False, 0, 0, 17, False, 8)]),
            "too-big": reasm(d, [(4, True, 0, 1, 0, False, 64), (4, False, 0, 1, 505, False, 64)]),
            "malformed": reasm(d, [(5, True, 0, 1, 0, False, 13), (5, True, 0, 1, 0, False, 0)] + cut(total, 2, key=5)),
            "last-first-contradiction": reasm(d, [inorder[-1], (0, False, 0, 2, 0, False, 8)] + inorder[:-1]),
        }
        for kind, data in seeds.items():
            write("reassembly", "%s-%s" % (tag, kind), data)
            n += 1
    return n


# --- configs ------------------------------------------------------------------

# --- IPv6 ------------------------------------------------------------------

def v6_stream(datagrams, slots=1, timeout=99):
    """fuzz_ipv6 input: table size and timeout bytes, then (advance, length, datagram) records."""
    out = bytes([slots, timeout])
    for d in datagrams:
        advance, d = d if isinstance(d, tuple) else (1, d)
        out += bytes([advance]) + len(d).to_bytes(2, "big") + d
    return out


def v6_frags(body, size, ident, ext=None, start=0):
    """The bytes of a UDP datagram `body` cut into fragments of `size` bytes from `start`."""
    frags = []
    for off in range(start, len(body), size):
        fh = IPv6ExtHdrFragment(nh=17, offset=off // 8, m=int(off + size < len(body)), id=ident)
        head = IPv6(src="2001:db8:1::5", dst="2001:db8:2::10")
        pkt = (head / ext.copy() / fh if ext is not None else head / fh) / Raw(body[off:off + size])
        frags.append(bytes(pkt))
    return frags


def ipv6_seeds():
    clear("ipv6")
    base = IPv6(src="2001:db8:1::5", dst="2001:db8:2::10")
    udp = UDP(sport=4000, dport=53) / (b"q" * 24)
    plain = {
        "udp": base / udp,
        "tcp": base / TCP(sport=40000, dport=443, flags="S"),
        "echo": base / ICMPv6EchoRequest(id=7, data=b"ping"),
        "chain": base / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / IPv6ExtHdrSegmentRouting(addresses=["2001:db8::1"])
                 / IPv6ExtHdrFragment(m=0, offset=0, id=3) / IPv6ExtHdrDestOpt() / udp,
        "ah": base / IPv6ExtHdrHopByHop() / AH(spi=1, icv=b"\0" * 12) / udp,
        "esp": base / ESP(spi=9, seq=1, data=b"x" * 32),
        "nonext": base / IPv6ExtHdrDestOpt(nh=59),
        "too-many": base / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() /
                    IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() /
                    IPv6ExtHdrDestOpt() / udp,
        "too-long": base / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0" * 200)] * 2) / udp,
        "order": base / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / udp,
        # a whole 1,456-byte packet: cut into IPv6 fragments as NAT64 does for clients (ip/ipv6_cut.h)
        "big": base / UDP(sport=4000, dport=53) / (bytes(range(256)) * 5 + b"z" * 128),
    }
    n = 0
    for name, p in plain.items():
        d = bytes(p)
        cuts = [d, d[:30], d[:len(d) - 5], d[:48] + d[48:]]
        write("ipv6", "pkt-" + name, v6_stream(cuts))
        n += 1
    big = bytes(UDP(sport=4000, dport=53) / (bytes(range(256)) * 5))
    frags = v6_frags(big, 512, 0x1234)
    hbh = v6_frags(big, 256, 0x99, ext=IPv6ExtHdrHopByHop())
    overlapping = v6_frags(big, 512, 0x1234, start=504)[:1]
    streams = {
        "in-order": frags,
        "reversed": frags[::-1],
        "duplicated": frags[:2] + frags,
        "overlap": frags[:1] + overlapping + frags[1:],
        "hop-by-hop": hbh,
        "atomic": [bytes(base / IPv6ExtHdrFragment(nh=17, m=0, offset=0, id=0x1234) / udp)] + frags,
        "tiny-first": [frags[0][:40 + 8 + 4]] + frags[1:],
        "timeout": [frags[0], (200, frags[1])] + frags[2:],
        "interleaved": [f for pair in zip(frags, v6_frags(big, 512, 0x5678)) for f in pair],
    }
    for name, s in streams.items():
        write("ipv6", "frag-" + name, v6_stream(s, slots=0 if name != "interleaved" else 2))
        n += 1
    return n



def cpp_strings(text):
    """C++ string literals of `text` that look like a Waypoint config, as the
    bytes the compiler makes of them: raw strings whole, and plain ones passed
    to load_config_text or PUT. "\\xff" is the byte 0xff there, not U+00FF,
    so escapes are decoded as bytes (the tests split literals after a \\x
    escape, so two hex digits each is what C++ reads too)."""
    out = []
    for lit in re.findall(r'R"\((.*?)\)"', text, re.S):
        if re.search(r"^\s*(%s)\s*:" % "|".join(CONFIG_KEYS), lit, re.M) or lit.lstrip().startswith("{"):
            out.append(lit.encode())
    for lit in re.findall(r'(?:load_config_text|put)\(\s*(?:"[^"]*",\s*)?((?:"(?:[^"\\]|\\.)*"\s*)+)\)', text):
        out.append(b"".join(codecs.escape_decode(s[1:-1].encode())[0]
                            for s in re.findall(r'"(?:[^"\\]|\\.)*"', lit)))
    return [s for s in out if s.strip()]


def config_seeds(extra):
    """Copies config files and unit-test texts; returns the config files for
    wp_fuzz_seeds. Without `extra` the e2e-* configs of the last run stay."""
    kept = [] if extra else corpus_files("config", "e2e-")
    for target in ("config", "rest_config"):
        for f in corpus_files(target, ""):
            if f not in kept and not (not extra and os.path.basename(f).startswith("e2e-")):
                os.remove(f)
    files = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")) +
                   glob.glob(os.path.join(ROOT, "tests", "data", "config", "*")))
    for f in files:
        name = os.path.basename(os.path.dirname(f)) + "-" + os.path.basename(f)
        data = open(f, "rb").read()
        write("config", name, data)
        write("rest_config", name, data)
    for f in extra:
        data = open(f, "rb").read()
        write("config", "e2e-" + os.path.basename(f), data)
        write("rest_config", "e2e-" + os.path.basename(f), data)
    for src in sorted(glob.glob(os.path.join(ROOT, "tests", "unit", "*.cc"))):
        stem = os.path.basename(src)[:-3]
        for text in cpp_strings(open(src).read()):
            digest = hashlib.sha1(text).hexdigest()[:8]
            write("config", "unit-%s-%s" % (stem, digest), text)
            if stem == "rest_test":
                write("rest_config", "unit-%s-%s" % (stem, digest), text)
    return files + corpus_files("config", "e2e-")


RW, RO = "fuzz-rw-token-0001", "fuzz-ro-token-0001"  # fuzz_rest_request.cc's tokens
R1 = open(os.path.join(ROOT, "tests", "data", "config", "r1.yaml"), "rb").read()


def alias_bomb(levels=6, width=6):
    y = b"a0: &a0 [" + b", ".join([b"x"] * width) + b"]\n"
    for i in range(1, levels + 1):
        y += b"a%d: &a%d [" % (i, i) + b", ".join([b"*a%d" % (i - 1)] * width) + b"]\n"
    return y + b"router: {name: *a%d}\n" % levels


def request(method, path, token=None, body=None, extra=b""):
    head = b"%s %s HTTP/1.1\r\nHost: 127.0.0.1:9101\r\n" % (method, path)
    if token:
        head += b"Authorization: Bearer " + token.encode() + b"\r\n"
    if body is not None:
        head += b"Content-Type: application/yaml\r\nContent-Length: %d\r\n" % len(body)
    return head + extra + b"\r\n" + (body or b"")


def rest_requests():
    out = {}
    for route in (b"/api/v1/stats", b"/metrics", b"/api/v1/config", b"/api/v1/sessions?limit=2", b"/api/v1/peers",
                  b"/api/v1/ha", b"/api/v1/nothing"):
        name = route.strip(b"/").replace(b"/", b"_").split(b"?")[0].decode()
        out["get-%s-rw" % name] = request(b"GET", route, RW)
    out["get-config-ro"] = request(b"GET", b"/api/v1/config", RO)
    out["get-config-none"] = request(b"GET", b"/api/v1/config")
    out["get-config-wrong"] = request(b"GET", b"/api/v1/config", "guess")
    out["put-dry-rw"] = request(b"PUT", b"/api/v1/config?dry_run=1", RW, R1)
    out["put-rw"] = request(b"PUT", b"/api/v1/config", RW, R1)
    out["put-ro"] = request(b"PUT", b"/api/v1/config", RO, R1)
    out["put-bomb"] = request(b"PUT", b"/api/v1/config", RW, alias_bomb())
    out["put-empty"] = request(b"PUT", b"/api/v1/config", RW, b"")
    out["put-oversized"] = request(b"PUT", b"/api/v1/config", RW, None, b"Content-Length: 99999999\r\n")
    chunks = b"%x\r\n%s\r\n0\r\n\r\n" % (len(R1), R1)
    out["put-chunked"] = request(b"PUT", b"/api/v1/config?dry_run=true", RW, None,
                                 b"Transfer-Encoding: chunked\r\n") + chunks
    out["head-stats"] = request(b"HEAD", b"/api/v1/stats", RO)
    out["http10"] = b"GET /metrics HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n" % RW.encode()
    return out


def alias_yaml():
    return {
        "bomb": alias_bomb(),
        "bomb-wide": alias_bomb(3, 30),
        "merge": b"x-base: &base {protocol: tcp, next_peer: r2}\nservices:\n"
                 b"  - {<<: *base, name: web, prefixes: [10.2.0.0/24]}\n",
        "shared-list": b"x: &p [10.1.0.0/25]\ntenants: [{name: a, prefixes: *p}, {name: b, prefixes: *p}]\n",
        "alias-key": b"x: &k router\n*k : {name: r1}\n",
        "deep": b"router: " + b"[" * 40 + b"]" * 40 + b"\n",
        "r1-anchored": b"x-note: &note r1\n" + R1,
    }


def rest_security_seeds():
    clear("rest_request")
    for name, data in rest_requests().items():
        write("rest_request", name, data)
    clear("config_aliases")
    for name, data in alias_yaml().items():
        write("config_aliases", name, data)
    write("config_aliases", "r1.yaml", R1)
    return len(rest_requests()) + len(alias_yaml()) + 1


# --- main ---------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pcap", action="append", default=[], help="e2e capture to take frames from")
    ap.add_argument("--config", action="append", default=[], help="config an e2e run used")
    ap.add_argument("--seeds-bin", default=os.path.join(ROOT, "build-san", "tests", "wp_fuzz_seeds"))
    args = ap.parse_args()
    if not os.access(args.seeds_bin, os.X_OK):
        sys.exit("%s missing: ninja -C build-san wp_fuzz_seeds" % args.seeds_bin)

    if args.pcap:
        print("packet: %d frames from captures" % capture_seeds(args.pcap))
    print("packet: %d crafted" % crafted_packets())
    print("metadata: %d from captures" % capture_metadata())
    print("reassembly: %d scripts" % reassembly_seeds())
    print("ipv6: %d streams" % ipv6_seeds())
    configs = config_seeds(args.config)
    print("rest_request, config_aliases: %d" % rest_security_seeds())

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.seeds_bin, tmp] + configs, check=True)
        for target in sorted(os.listdir(tmp)):
            if target in ENC_PREFIXED:
                clear(target, "enc-")
            elif target != "rest_config":
                clear(target)
            os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
            for f in sorted(os.listdir(os.path.join(tmp, target))):
                name = ("enc-" if target in ENC_PREFIXED else "") + f
                shutil.copy(os.path.join(tmp, target, f), os.path.join(CORPUS, target, name))

    for target in sorted(os.listdir(CORPUS)):
        files = glob.glob(os.path.join(CORPUS, target, "*"))
        print("%-12s %3d files %7d bytes" % (target, len(files), sum(os.path.getsize(f) for f in files)))


if __name__ == "__main__":
    main()
