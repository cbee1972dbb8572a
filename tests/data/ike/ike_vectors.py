#!/usr/bin/env python3
"""Test vectors from a strongSwan pair: the initiator's charon log (ike = 4) and
the capture (ikepair.sh DIR PROPOSAL made both). The messages are the UDP
payloads without the non-ESP marker of port 4500 (strongSwan moves there for
IKE_AUTH).  usage: ike_vectors.py DIR PROPOSAL > file"""
import re, subprocess, sys
d, prop = sys.argv[1], sys.argv[2]
want = {"shared Diffie Hellman secret": "dh_secret", "SKEYSEED": "skeyseed", "Sk_d secret": "sk_d",
        "Sk_ai secret": "sk_ai", "Sk_ar secret": "sk_ar", "Sk_ei secret": "sk_ei", "Sk_er secret": "sk_er",
        "Sk_pi secret": "sk_pi", "Sk_pr secret": "sk_pr"}
out, cur = {}, None
for line in open(f"{d}/i/charon.log"):
    m = re.search(r"\[IKE\] (.+?) => (\d+) bytes @", line)
    if m:
        cur = want.get(m.group(1)) if want.get(m.group(1)) not in out else None
        if cur: out[cur] = ""
        continue
    m = re.search(r"\[IKE\]\s+\d+: ((?:[0-9A-F]{2} ){1,16})", line)
    if m and cur:
        out[cur] += m.group(1).replace(" ", "").lower()
    elif cur:
        cur = None
rows = subprocess.run(["tshark", "-r", f"{d}/ike.pcap", "-Y", "isakmp", "-T", "fields", "-e", "udp.dstport",
                       "-e", "udp.payload"], capture_output=True, text=True).stdout.split("\n")
msgs = []
for row in rows:
    if not row.strip():
        continue
    port, payload = row.split()
    if port == "4500" and payload.startswith("00000000"):  # RFC 3948 non-ESP marker (NAT-T port)
        payload = payload[8:]
    msgs.append(payload)
print(f"# strongSwan 5.9.8 initiator <-> responder, PSK \"test-psk-0123456789\", IDs site1.example /")
print(f"# headend.example, proposal {prop}; keys from the initiator's charon log (ike = 4),")
print(f"# messages from tcpdump on UDP 500 (tests/data/ike/README.md says how).")
print("psk=" + b"test-psk-0123456789".hex())
for k in want.values():
    if k in out: print(f"{k}={out[k]}")
for i, m in enumerate(msgs[:4], 1):
    print(f"msg{i}={m}")
