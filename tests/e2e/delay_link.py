#!/usr/bin/python3
"""A cable with latency for e2e tests (#9 paths): netem is not in this kernel.

usage: delay_link.py IF_A IF_B --delay-ms D [--loss-percent P] [--seconds S]

Forwards every Ethernet frame received on IF_A out of IF_B and vice versa,
each held back D ms (one way) and dropped with probability P %. Run it in a
namespace that holds both interfaces, neither enslaved to a bridge. Stops on
SIGTERM/SIGINT or after S seconds (default 300), whichever comes first.
"""
import argparse
import heapq
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

ap = argparse.ArgumentParser()
ap.add_argument("a")
ap.add_argument("b")
ap.add_argument("--delay-ms", type=float, required=True)
ap.add_argument("--loss-percent", type=float, default=0.0)
ap.add_argument("--seconds", type=float, default=300.0)
args = ap.parse_args()


def open_if(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((name, 0))
    s.setblocking(False)
    return s


sa, sb = open_if(args.a), open_if(args.b)
peer = {sa: sb, sb: sa}
queue = []  # (due, seq, out socket, frame)
seq = 0
stop = False
forwarded = dropped = 0


def on_signal(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)
delay = args.delay_ms / 1000.0
end = time.monotonic() + args.seconds
print(f"delay_link {args.a} <-> {args.b}: {args.delay_ms} ms, loss {args.loss_percent} %", flush=True)
while not stop and time.monotonic() < end:
    now = time.monotonic()
    timeout = max(0.0, min(queue[0][0] - now, 0.05)) if queue else 0.05
    ready, _, _ = select.select([sa, sb], [], [], timeout)
    now = time.monotonic()
    for s in ready:
        for _ in range(256):  # bounded drain per wake-up
            try:
                frame, addr = s.recvfrom(65535)
            except BlockingIOError:
                break
            if addr[2] == PACKET_OUTGOING:  # our own transmissions echo back here
                continue
            if args.loss_percent and random.random() * 100 < args.loss_percent:
                dropped += 1
                continue
            seq += 1
            heapq.heappush(queue, (now + delay, seq, peer[s], frame))
    while queue and queue[0][0] <= time.monotonic():
        _, _, out, frame = heapq.heappop(queue)
        try:
            out.send(frame)
            forwarded += 1
        except OSError:
            dropped += 1
print(f"delay_link: forwarded {forwarded}, dropped {dropped}", flush=True)
sys.exit(0)
