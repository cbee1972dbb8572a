#!/usr/bin/python3
"""Hostile REST clients for test_rest_abuse.sh (docs/security.md § Management plane).

  rest_abuse.py slow HOST PORT N SECONDS   N connections that send a request's
      header one byte every 0.2 s; prints how many the server closed within
      SECONDS (all of them, when the request deadline works)
  rest_abuse.py rate HOST PORT TOKEN N SRC N GETs of /api/v1/stats back to back
      on fresh connections from address SRC; prints "200=<n> 429=<n> other=<n>"
"""
import http.client
import selectors
import socket
import sys
import time


def slow(host, port, n, seconds):
    head = b"GET /api/v1/stats HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=5)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    closed, sent, deadline = set(), 0, time.monotonic() + seconds
    while len(closed) < n and time.monotonic() < deadline:
        for s in socks:
            if s not in closed and sent < len(head):
                try:
                    s.send(head[sent:sent + 1])
                except OSError:
                    closed.add(s)
        sent += 1
        for key, _ in sel.select(timeout=0.2):
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:
                closed.add(key.fileobj)
                sel.unregister(key.fileobj)
    print(len(closed))


def rate(host, port, token, n, src):
    counts = {"200": 0, "429": 0, "other": 0}
    for _ in range(n):
        c = http.client.HTTPConnection(host, port, timeout=5, source_address=(src, 0))
        try:
            c.request("GET", "/api/v1/stats", headers={"Authorization": "Bearer " + token})
            status = str(c.getresponse().status)
        except OSError:
            status = "other"
        finally:
            c.close()
        counts[status if status in counts else "other"] += 1
    print("200=%d 429=%d other=%d" % (counts["200"], counts["429"], counts["other"]))


def main():
    cmd, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if cmd == "slow":
        slow(host, port, int(sys.argv[4]), float(sys.argv[5]))
    elif cmd == "rate":
        rate(host, port, sys.argv[4], int(sys.argv[5]), sys.argv[6])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
