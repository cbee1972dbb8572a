#!/usr/bin/env python3
"""A journald socket for the tests: receives sd_journal_send's native protocol.

Binds a unix datagram socket at PATH and appends one line per entry to OUT:
the entry's fields as "NAME=value" joined by " | " (newlines in values shown
as "\\n"). Fields are "NAME=value\\n", or, for values holding a newline,
"NAME\\n" + 64-bit little-endian length + value + "\\n" (systemd's
journal native protocol). Runs until killed.

usage: journal_recv.py PATH OUT
"""
import os
import socket
import struct
import sys


def fields(data):
    out, i = [], 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            out.append(line.decode(errors="replace"))
            i = nl + 1
        else:
            (n,) = struct.unpack_from("<Q", data, nl + 1)
            start = nl + 9
            value = data[start:start + n].decode(errors="replace").replace("\n", "\\n")
            out.append(line.decode(errors="replace") + "=" + value)
            i = start + n + 1
    return out


def main():
    path, out = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    with open(out, "a", buffering=1) as f:
        while True:
            f.write(" | ".join(fields(s.recv(65536))) + "\n")


if __name__ == "__main__":
    main()
