#!/usr/bin/python3
"""A cable with latency and loss for e2e tests (the paths test): netem is not in this kernel.

usage: delay_link.py IF_A IF_B [--delay-ms D] [--loss-percent P] [--spare-udp-port N]...
                     [--control FILE [--unbridge]] [--seconds S]

Forwards every Ethernet frame received on IF_A out of IF_B and vice versa,
each held back D ms (one way) and dropped with probability P %, except IPv4
UDP to a --spare-udp-port (e.g. BFD, 3784: a test that measures loss on live
traffic must not also lose the path's liveness to an unlucky run of drops).
Run it in a namespace that holds both interfaces. Stops on SIGTERM/SIGINT or
after S seconds (default 300), whichever comes first.

With --control FILE the element starts idle (it reads and discards frames, so
IF_A and IF_B may still be bridged) and prints "delay_link: ready". Each
SIGHUP reads "DELAY_MS LOSS_PERCENT" from FILE, applies it and prints
"delay_link: applied N: ...". With --unbridge the first SIGHUP also takes IF_A
and IF_B out of their bridge (ip link set ... nomaster) and forwards from that
moment: frames that arrive while ip runs are kept (a few may reach the far end
twice, once bridged), so the link is never dark. The settings then change
without ever restarting the process (a restart leaves the link dead for as
long as python takes to start, which on a loaded host is longer than a BFD
detection time). A test runs the element at real-time priority: it stands for
a wire, which a busy host does not slow down.
"""
import argparse
import heapq
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

ap = argparse.ArgumentParser()
ap.add_argument("a")
ap.add_argument("b")
ap.add_argument("--delay-ms", type=float, default=0.0)
ap.add_argument("--loss-percent", type=float, default=0.0)
ap.add_argument("--spare-udp-port", type=int, action="append", default=[])
ap.add_argument("--control")
ap.add_argument("--unbridge", action="store_true")
ap.add_argument("--seconds", type=float, default=300.0)
args = ap.parse_args()


def open_if(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((name, 0))
    s.setblocking(False)
    return s


def spared(frame):
    """IPv4 UDP to a spared port: never dropped."""
    if not args.spare_udp_port or len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return False
    ihl = (frame[14] & 0x0F) * 4
    if len(frame) < 14 + ihl + 4:
        return False
    return struct.unpack_from("!H", frame, 14 + ihl + 2)[0] in args.spare_udp_port


sa, sb = open_if(args.a), open_if(args.b)
peer = {sa: sb, sb: sa}
queue = []  # (due, seq, out socket, frame)
seq = 0
stop = False
reload_due = False
applied = 0
active = args.control is None
delay = args.delay_ms / 1000.0
loss = args.loss_percent
forwarded = dropped = 0


def on_signal(*_):
    global stop
    stop = True


def on_hup(*_):
    global reload_due
    reload_due = True


def apply_control():
    """New settings from the control file; the first one starts forwarding."""
    global delay, loss, active, applied
    try:
        with open(args.control) as f:
            d, p = (float(x) for x in f.read().split()[:2])
    except (OSError, ValueError) as e:
        print(f"delay_link: bad control file {args.control}: {e}", flush=True)
        return
    if not active:  # whatever queued while idle was also forwarded by the bridge
        for s in (sa, sb):
            while True:
                try:
                    s.recv(65535)
                except BlockingIOError:
                    break
        if args.unbridge:
            subprocess.run(["ip", "-batch", "-"], input=f"link set {args.a} nomaster\nlink set {args.b} nomaster\n",
                           text=True, check=True)
    delay, loss, active = d / 1000.0, p, True
    applied += 1
    print(f"delay_link: applied {applied}: delay {d} ms, loss {p} %", flush=True)


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGHUP, on_hup)
end = time.monotonic() + args.seconds
if active:
    print(f"delay_link {args.a} <-> {args.b}: {args.delay_ms} ms, loss {args.loss_percent} %", flush=True)
else:
    print(f"delay_link {args.a} <-> {args.b}: ready", flush=True)
while not stop and time.monotonic() < end:
    if reload_due:
        reload_due = False
        apply_control()
    now = time.monotonic()
    timeout = max(0.0, min(queue[0][0] - now, 0.05)) if queue else 0.05
    try:
        ready, _, _ = select.select([sa, sb], [], [], timeout)
    except InterruptedError:
        continue
    if reload_due:  # a SIGHUP during select: apply it before reading the frames that woke us
        reload_due = False
        apply_control()
    now = time.monotonic()
    for s in ready:
        for _ in range(256):  # bounded drain per wake-up
            try:
                frame, addr = s.recvfrom(65535)
            except BlockingIOError:
                break
            if not active or addr[2] == PACKET_OUTGOING:  # idle, or our own transmission echoed back
                continue
            if loss and random.random() * 100 < loss and not spared(frame):
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
