#!/usr/bin/python3
"""A numbered UDP flow that counts what arrives (tests/e2e/test_dup.sh).

  dup_flow.py recv ADDR PORT OUT.json [--idle S]   # prints "listening"
  dup_flow.py send ADDR PORT COUNT [--pps N] [--size B]

The sender first sends "hello" datagrams (every 200 ms, up to 30 s) until the
receiver answers one: the session's SVR handshake is then over at both
routers, so every numbered datagram after it is steady-state traffic (the
traffic packet duplication applies to). It then sends COUNT datagrams of
SIZE bytes numbered 0..COUNT-1, paced at PPS, and prints one JSON line
{"sent": COUNT, "hellos": N}. The receiver counts distinct numbers (and
copies of a number it already had) and exits IDLE seconds (default 3) after
the last numbered datagram, writing {"received", "dup", "missing",
"max_seq"} to OUT.json; "missing" counts numbers in 0..max_seq never seen.
"""
import json
import socket
import struct
import sys
import time

HDR = struct.Struct("!BI")  # kind (1 hello, 2 hello answer, 3 data), number
HELLO, ANSWER, DATA = 1, 2, 3


def recv(addr, port, out, idle=3.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    print("listening", flush=True)
    seen = set()
    dup = 0
    last = None
    while True:
        s.settimeout(idle if last is not None else 120)
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            break
        if len(data) < HDR.size:
            continue
        kind, n = HDR.unpack_from(data)
        if kind == HELLO:
            s.sendto(HDR.pack(ANSWER, n), peer)
        elif kind == DATA:
            if n in seen:
                dup += 1
            seen.add(n)
            last = time.monotonic()
    top = max(seen) if seen else -1
    res = {"received": len(seen), "dup": dup, "missing": top + 1 - len(seen), "max_seq": top}
    with open(out, "w") as f:
        json.dump(res, f)
    print(json.dumps(res), flush=True)


def send(addr, port, count, pps=2000.0, size=160):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.settimeout(0.2)
    hellos = 0
    deadline = time.monotonic() + 30
    while True:
        if time.monotonic() > deadline:
            print(json.dumps({"sent": 0, "hellos": hellos, "error": "no answer"}), flush=True)
            sys.exit(1)
        s.send(HDR.pack(HELLO, hellos))
        hellos += 1
        try:
            kind, _ = HDR.unpack_from(s.recv(64))
            if kind == ANSWER:
                break
        except (socket.timeout, struct.error):
            pass
    pad = b"d" * max(0, size - HDR.size)
    start = time.monotonic()
    for n in range(count):
        due = start + n / pps
        t = time.monotonic()
        if due > t:
            time.sleep(due - t)
        s.send(HDR.pack(DATA, n) + pad)
    print(json.dumps({"sent": count, "hellos": hellos}), flush=True)


if __name__ == "__main__":
    a = sys.argv[1:]
    opts = {}
    pos = []
    i = 0
    while i < len(a):
        if a[i].startswith("--"):
            opts[a[i][2:]] = float(a[i + 1])
            i += 2
        else:
            pos.append(a[i])
            i += 1
    if pos[0] == "recv":
        recv(pos[1], int(pos[2]), pos[3], opts.get("idle", 3.0))
    elif pos[0] == "send":
        send(pos[1], int(pos[2]), int(pos[3]), opts.get("pps", 2000.0), int(opts.get("size", 160)))
    else:
        sys.exit(__doc__)
