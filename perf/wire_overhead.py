#!/usr/bin/python3
"""On-wire overhead of one workload under SVR vs tunnels (scenario 4).

usage: wire_overhead.py WORKLOAD LAN.pcap WAN.pcap

LAN.pcap: the client's own interface (the original packets, both directions).
WAN.pcap: the WAN between the two waypointd routers for the same workload
(real SVR: metadata + HMAC on the first packets, nothing after).
For each original IPv4 TCP/UDP packet on the LAN the tunnel alternatives are
built with scapy and measured, packet by packet, as they would cross the WAN:
  ESP  tunnel mode, AES-256-CBC + HMAC-SHA256-128 (scapy SecurityAssociation;
       its real output length: new IP header, SPI/seq, IV, padding, ICV)
  GRE  outer IPv4 + 4-byte GRE header
  VXLAN outer IPv4 + UDP + VXLAN + the inner Ethernet header
Every variant counts Ethernet framing (14 bytes) on the WAN, as the capture
does. Lengths are the captured frames' original lengths (the capture may be
truncated; scapy's wirelen). Prints a table and one JSON line
{"scenario":"overhead",...}; saved_pct = 1 - svr / esp.
"""
import json
import logging
import os
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)  # no "Mac address ... not found" noise

from scapy.all import IP, TCP, UDP, Raw, rdpcap  # noqa: E402
from scapy.layers.inet import GRE  # noqa: E402
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.layers.vxlan import VXLAN  # noqa: E402

ETH = 14


def original_ip_packets(pcap):
    """(wire length of the IPv4 packet, proto) of every IPv4 TCP/UDP frame."""
    out = []
    for p in rdpcap(pcap):
        if IP not in p or not (TCP in p or UDP in p):
            continue
        wirelen = getattr(p, "wirelen", None) or len(p)
        out.append(wirelen - ETH)
    return out


def wan_bytes(pcap):
    total = n = 0
    for p in rdpcap(pcap):
        if IP not in p or not (TCP in p or UDP in p):
            continue  # ARP, ICMP from the routers' control thread
        total += getattr(p, "wirelen", None) or len(p)
        n += 1
    return total, n


def esp_len(sa, ip_len):
    inner = IP(src="10.1.0.10", dst="10.2.0.10") / Raw(b"\0" * (ip_len - 20))
    return len(sa.encrypt(inner))


def main():
    workload, lan, wan = sys.argv[1], sys.argv[2], sys.argv[3]
    sa = SecurityAssociation(
        ESP, spi=0x1001, crypt_algo="AES-CBC", crypt_key=os.urandom(32),
        auth_algo="SHA2-256-128", auth_key=os.urandom(32),
        tunnel_header=IP(src="172.16.0.1", dst="172.16.0.2"))
    pkts = original_ip_packets(lan)
    lan_total = sum(l + ETH for l in pkts)
    svr, svr_n = wan_bytes(wan)
    esp = sum(esp_len(sa, l) + ETH for l in pkts)
    gre_hdr = len(IP() / GRE())
    vx_hdr = len(IP() / UDP() / VXLAN() / Ether()) - 0
    gre = sum(l + gre_hdr + ETH for l in pkts)
    vxlan = sum(l + vx_hdr + ETH for l in pkts)
    rows = [("original (LAN)", lan_total, len(pkts)), ("SVR (captured)", svr, svr_n),
            ("ESP tunnel AES-256-CBC+HMAC-SHA256-128", esp, len(pkts)),
            (f"GRE (+{gre_hdr} B)", gre, len(pkts)), (f"VXLAN (+{vx_hdr} B)", vxlan, len(pkts))]
    print(f"workload {workload}: {len(pkts)} packets")
    print(f"  {'encapsulation':42} {'WAN bytes':>12} {'packets':>8} {'vs original':>12}")
    for name, b, n in rows:
        print(f"  {name:42} {b:12d} {n:8d} {100.0 * (b - lan_total) / lan_total:+11.2f}%")
    res = {
        "scenario": "overhead", "workload": workload, "packets": len(pkts),
        "lan_bytes": lan_total, "wan_bytes_svr": svr, "wan_packets_svr": svr_n,
        "wan_bytes_esp": esp, "wan_bytes_gre": gre, "wan_bytes_vxlan": vxlan,
        "saved_pct": round(100.0 * (1 - svr / esp), 2) if esp else None,
        "saved_pct_vs_gre": round(100.0 * (1 - svr / gre), 2) if gre else None,
        "saved_pct_vs_vxlan": round(100.0 * (1 - svr / vxlan), 2) if vxlan else None,
        # WP_SVR_SECURITY: the SVR routers' security policy for this capture
        # ("none": default policy; "aes256-cbc": data encrypted + HMAC on every packet).
        "svr_security": os.environ.get("WP_SVR_SECURITY", "none"),
        "esp": "tunnel, AES-256-CBC + HMAC-SHA256-128 (scapy SecurityAssociation)",
    }
    print(json.dumps(res, separators=(",", ":")))
    return 0 if svr_n == len(pkts) else 1


if __name__ == "__main__":
    sys.exit(main())
