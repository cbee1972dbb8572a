#!/usr/bin/python3
"""Re-inject a captured steady-state packet of an encrypted session (issue #4).

crypto_inject.py PCAP SRC DST MODE --iface IF [--count N] [--esp]
  Picks the last UDP packet SRC -> DST in PCAP that is a steady-state packet
  (no SVR cookie at the start of its data, at least IV + block + seq + HMAC
  long) and sends it again on IF:
    tamper  one ciphertext byte flipped (UDP checksum fixed, so only the
            HMAC can catch it)
    replay  unchanged
  --esp: the packet is ESP in UDP 4500 instead (RFC 3948: a non-zero SPI
  first, not IKE's zero marker or a keepalive), and tamper moves its sequence
  number 2^20 ahead, so that the replay window takes it as new and only the
  ICV can refuse it (RFC 4303 § 3.4.3 checks the window first).
  Prints what it sent; exit 1 when no such packet is in the capture.
"""
import argparse
import sys

from scapy.all import IP, UDP, Ether, rdpcap, sendp

COOKIE = bytes.fromhex("4c48dbc6ddf6670c")
MIN_LEN = 16 + 16 + 4 + 16
ESP_MIN_LEN = 8 + 8 + 16  # SPI, sequence number, GCM's IV, the tag


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("mode", choices=["tamper", "replay"])
    ap.add_argument("--iface", required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--esp", action="store_true")
    a = ap.parse_args()
    pick = None
    for p in rdpcap(a.pcap):
        if IP not in p or UDP not in p or p[IP].src != a.src or p[IP].dst != a.dst:
            continue
        data = bytes(p[UDP].payload)
        if a.esp:
            ok = p[UDP].dport == 4500 and len(data) >= ESP_MIN_LEN and data[:4] != bytes(4)
        else:
            ok = len(data) >= MIN_LEN and not data.startswith(COOKIE)
        if ok and len(p) == p[IP].len + 14:
            pick = p
    if pick is None:
        print("no steady-state UDP packet in the capture", file=sys.stderr)
        return 1
    pkt = Ether(bytes(pick))
    if a.mode == "tamper":
        data = bytearray(bytes(pkt[UDP].payload))
        if a.esp:
            seq = int.from_bytes(data[4:8], "big")
            data[4:8] = ((seq + (1 << 20)) & 0xFFFFFFFF).to_bytes(4, "big")
        else:
            data[20] ^= 0x01  # inside the first ciphertext block, after the IV
        pkt[UDP].remove_payload()
        pkt = pkt / bytes(data)
        del pkt[UDP].chksum
        pkt = Ether(bytes(pkt))
    sendp(pkt, iface=a.iface, count=a.count, verbose=False)
    print(f"sent {a.mode} {pkt[IP].src}:{pkt[UDP].sport} -> {pkt[IP].dst}:{pkt[UDP].dport} len {len(pkt)} x{a.count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
