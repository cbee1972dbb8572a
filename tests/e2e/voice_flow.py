#!/usr/bin/python3
"""A voice-like UDP flow with its own timestamps (tests/e2e/test_qos.sh).

  voice_flow.py recv ADDR PORT OUT.json   # until SIGTERM/SIGINT or --seconds; prints "listening"
  voice_flow.py send ADDR PORT SECONDS [--kbps 200] [--size 200]

The sender paces datagrams of SIZE bytes at KBPS (200 kbit/s of 200-byte
datagrams: one every 8 ms), each carrying its sequence number and the
CLOCK_MONOTONIC time it left; every namespace of the host reads the same
clock, so the receiver computes each datagram's one-way delay. On exit the
receiver writes {"sent_max_seq", "received", "lost", "dup", "min_ms",
"p50_ms", "p99_ms", "max_ms", "queueing_p99_ms"} to OUT.json, queueing_p99_ms
being p99 minus the minimum (the path's own delay is the minimum). Losses are
counted against the highest sequence number seen plus one, and the sender
ends with a burst of end markers so the receiver knows the total.
"""
import json
import signal
import socket
import struct
import sys
import time

HDR = struct.Struct("!IQI")  # seq, send time (ns), total (0 = data, else an end marker with the count)


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def send(addr, port, seconds, kbps=200, size=200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    interval = size * 8 / (kbps * 1000.0)
    pad = b"v" * (size - HDR.size)
    start = time.monotonic()
    seq = 0
    while True:
        due = start + seq * interval
        t = time.monotonic()
        if t - start >= seconds:
            break
        if due > t:
            time.sleep(due - t)
        s.sendto(HDR.pack(seq, now_ns(), 0) + pad, (addr, port))
        seq += 1
    for _ in range(5):  # end markers (several: one may be lost)
        s.sendto(HDR.pack(seq, now_ns(), seq), (addr, port))
        time.sleep(0.02)
    print(f"sent {seq}")


def recv(addr, port, out, seconds=120):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((addr, port))
    s.settimeout(0.5)
    delays, seen, total = [], set(), None
    dup = 0
    done = [False]

    def stop(*_):
        done[0] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("listening", flush=True)
    end = time.monotonic() + seconds
    while not done[0] and time.monotonic() < end:
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            continue
        t = now_ns()
        seq, sent, mark = HDR.unpack_from(data)
        if mark:
            total = mark
            break
        if seq in seen:
            dup += 1
            continue
        seen.add(seq)
        delays.append((t - sent) / 1e6)
    delays.sort()
    n = len(delays)
    pct = lambda p: delays[min(n - 1, int(p * n))] if n else -1.0
    sent_total = total if total is not None else (max(seen) + 1 if seen else 0)
    r = {"sent": sent_total, "ended": total is not None, "received": n, "lost": sent_total - n, "dup": dup,
         "min_ms": delays[0] if n else -1.0, "p50_ms": pct(0.5), "p99_ms": pct(0.99),
         "max_ms": delays[-1] if n else -1.0, "queueing_p99_ms": pct(0.99) - delays[0] if n else -1.0}
    with open(out, "w") as f:
        json.dump(r, f)
    print(json.dumps(r), flush=True)


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "send":
        kbps = int(a[a.index("--kbps") + 1]) if "--kbps" in a else 200
        size = int(a[a.index("--size") + 1]) if "--size" in a else 200
        send(a[1], int(a[2]), float(a[3]), kbps, size)
    elif len(a) >= 4 and a[0] == "recv":
        recv(a[1], int(a[2]), a[3])
    else:
        print(__doc__)
        sys.exit(2)
