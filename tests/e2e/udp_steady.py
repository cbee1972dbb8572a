#!/usr/bin/python3
"""Steady UDP traffic on one socket (one session) to an echo server (#5 offload).

udp_steady.py ADDR PORT COUNT INTERVAL_S SIZE
    sends COUNT datagrams of SIZE bytes, one every INTERVAL_S, from one socket,
    collecting echoes as they come (and for 1 s after the last send); prints
    one JSON line {"sent": N, "echoed": M, "port": local port}.
many ADDR PORT SESSIONS ROUNDS INTERVAL_S
    SESSIONS sockets (sessions) at once, ROUNDS datagrams each, a round every
    INTERVAL_S; prints {"sessions": S, "sent": N, "echoed": M}.
"""
import json
import select
import socket
import sys
import time


def drain(socks, until):
    got = 0
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return got
        r, _, _ = select.select(socks, [], [], left)
        for s in r:
            s.recv(65535)
            got += 1


def steady(addr, port, count, interval, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, int(port)))
    echoed = 0
    payload = b"s" * int(size)
    start = time.monotonic()
    for i in range(int(count)):
        s.send(payload)
        echoed += drain([s], start + (i + 1) * float(interval))
    echoed += drain([s], time.monotonic() + 1.0)
    print(json.dumps({"sent": int(count), "echoed": echoed, "port": s.getsockname()[1]}), flush=True)


def many(addr, port, sessions, rounds, interval):
    socks = []
    for _ in range(int(sessions)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((addr, int(port)))
        socks.append(s)
    echoed = 0
    start = time.monotonic()
    for r in range(int(rounds)):
        for s in socks:
            s.send(b"m%d" % r)
        echoed += drain(socks, start + (r + 1) * float(interval))
    echoed += drain(socks, time.monotonic() + 1.0)
    print(json.dumps({"sessions": len(socks), "sent": len(socks) * int(rounds), "echoed": echoed}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "many":
        many(*sys.argv[2:7])
    else:
        steady(*sys.argv[1:6])
