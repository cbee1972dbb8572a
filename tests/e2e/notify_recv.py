#!/usr/bin/env python3
"""A systemd notify socket for the tests (sd_notify(3) receiver side).

Binds a unix datagram socket at PATH and appends one line per datagram to
OUT: "<unix time, seconds> <the states, newlines shown as |>", flushed at
once so the test can poll the file. Runs until killed.

usage: notify_recv.py PATH OUT
"""
import os
import socket
import sys
import time


def main():
    path, out = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    with open(out, "a", buffering=1) as f:
        while True:
            data = s.recv(4096)
            f.write("%.3f %s\n" % (time.time(), data.decode(errors="replace").strip().replace("\n", "|")))


if __name__ == "__main__":
    main()
