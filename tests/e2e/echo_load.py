#!/usr/bin/python3
"""Concurrent TCP and UDP echo sessions that notice every break (HA faults).

serve ADDR... PORT
    TCP and UDP echo on PORT of each ADDR.
run DST PORT TCP UDP STOPFILE EVENTS
    TCP connections and UDP sockets (one session each) to DST:PORT; each
    sends a numbered line every 0.2 s and checks that exactly that line comes
    back. A session is lost on a reset or EOF, a wrong echo, or 5 s without an
    echo (a UDP echo of an earlier line that comes back intact after its 0.2 s
    slot is late, not wrong: on a loaded host every reply can be later than
    that). Appends to EVENTS one line per echo gap over 0.3 s
    ("gap EPOCH_S MS KIND ID DST", EPOCH_S when the gap began) and per loss
    ("lost EPOCH_S REASON KIND ID DST", EPOCH_S when it broke: for a silence, the
    last echo). Ends when STOPFILE exists (or after
    10 minutes); prints {"sessions": N, "lost": L, "max_gap_ms": G}.
"""
import asyncio
import json
import os
import socket
import sys
import time

INTERVAL, SILENCE, GAP = 0.2, 5.0, 0.3


class Session:
    def __init__(self, kind, ident, dst, events):
        self.kind, self.ident, self.dst, self.events = kind, ident, dst, events
        self.seq, self.last = 0, time.time()
        self.max_gap, self.lost = 0.0, None

    def line(self):
        self.seq += 1
        return f"{self.kind}{self.ident} {self.seq} {'x' * 40}\n".encode()

    def echoed(self, data, expect):
        now = time.time()
        if data != expect:
            return self.lose("corrupt")
        gap = now - self.last
        self.max_gap = max(self.max_gap, gap)
        if gap > GAP:
            self.events.write(f"gap {self.last:.3f} {int(gap * 1000)} {self.kind} {self.ident} {self.dst}\n")
        self.last = now

    def lose(self, reason, since=None):
        if self.lost is None:
            self.lost = reason
            self.events.write(f"lost {since or time.time():.3f} {reason} {self.kind} {self.ident} {self.dst}\n")


async def tcp_session(s, dst, port, stop):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(dst, port), 10)
        while not stop.is_set() and s.lost is None:
            msg = s.line()
            w.write(msg)
            await w.drain()
            try:
                got = await asyncio.wait_for(r.readexactly(len(msg)), SILENCE - (time.time() - s.last))
            except asyncio.TimeoutError:
                return s.lose("silence", s.last)
            s.echoed(got, msg)
            await asyncio.sleep(INTERVAL)
        w.close()
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
        s.lose(type(e).__name__)


async def udp_session(s, dst, port, stop):
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.connect((dst, port))
    sent = {}  # the lines still awaited: an echo later than INTERVAL is late, not lost
    while not stop.is_set() and s.lost is None:
        msg = s.line()
        sent[msg] = True
        if len(sent) > int(SILENCE / INTERVAL) + 1:
            del sent[next(iter(sent))]  # older than the silence limit: never counts
        try:
            sock.send(msg)
        except OSError:
            pass  # no route for a moment: the silence limit decides
        deadline = time.time() + INTERVAL
        while s.lost is None:
            try:
                got = await asyncio.wait_for(loop.sock_recv(sock, 2048), max(0.01, deadline - time.time()))
                if got == msg:
                    del sent[msg]
                    s.echoed(got, msg)
                    break
                if got in sent:  # an earlier line, echoed intact but late (a busy host)
                    del sent[got]
                    s.echoed(got, got)
                    continue
                if not got.startswith(f"u{s.ident} ".encode()):
                    s.lose("corrupt")
            except (asyncio.TimeoutError, OSError):
                break
        if time.time() - s.last > SILENCE:
            s.lose("silence", s.last)
        await asyncio.sleep(max(0, deadline - time.time()))
    sock.close()


async def run(dst, port, ntcp, nudp, stopfile, events_path):
    stop = asyncio.Event()
    with open(events_path, "a", buffering=1) as events:
        sessions = [Session("t", i, dst, events) for i in range(ntcp)] + [Session("u", i, dst, events) for i in range(nudp)]
        tasks = [asyncio.create_task((tcp_session if s.kind == "t" else udp_session)(s, dst, port, stop))
                 for s in sessions]
        end = time.time() + 600
        while not os.path.exists(stopfile) and time.time() < end:
            await asyncio.sleep(0.2)
        stop.set()
        await asyncio.gather(*tasks)
    lost = sum(1 for s in sessions if s.lost)
    print(json.dumps({"sessions": len(sessions), "lost": lost,
                      "max_gap_ms": int(max(s.max_gap for s in sessions) * 1000)}), flush=True)


async def serve(addrs, port):
    async def echo(r, w):
        try:
            while data := await r.read(4096):
                w.write(data)
                await w.drain()
        except OSError:
            pass
        w.close()

    def udp_echo(addr):
        # One socket takes every UDP session's lines to ADDR (750/s). asyncio's
        # datagram transport reads one datagram per wake-up: when this process
        # waits for a CPU (stress-ng), the backlog outgrows the socket buffer
        # (echoes lost) or, in a larger one, ages past the clients' 5 s (echoes
        # too late): the harness's loss, not the routers'. So each wake-up
        # drains the socket, in a buffer of 1 MiB (FORCE: above rmem_max).
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for opt, fallback in ((getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF),
                              (getattr(socket, "SO_SNDBUFFORCE", 32), socket.SO_SNDBUF)):
            try:
                sock.setsockopt(socket.SOL_SOCKET, opt, 1 << 20)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, fallback, 1 << 20)
        sock.bind((addr, port))
        sock.setblocking(False)

        def ready():
            for _ in range(4096):
                try:
                    data, peer = sock.recvfrom(2048)
                except (BlockingIOError, InterruptedError):
                    return
                try:
                    sock.sendto(data, peer)
                except OSError:
                    pass  # a full send buffer: that echo is lost, and the client counts it
        loop.add_reader(sock.fileno(), ready)
        return sock

    loop, socks = asyncio.get_running_loop(), []
    for a in addrs:
        await asyncio.start_server(echo, a, port, backlog=1024)
        socks.append(udp_echo(a))
    print(f"listening {addrs} {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        asyncio.run(serve(sys.argv[2:-1], int(sys.argv[-1])))
    else:
        dst, port, ntcp, nudp, stopfile, events = sys.argv[2:8]
        asyncio.run(run(dst, int(port), int(ntcp), int(nudp), stopfile, events))
