#!/usr/bin/env python3
"""Traffic for the application-classification e2e test (test_apps.sh).

usage: app_traffic.py dns-server ADDR PORT          answer every A query with 10.2.0.10
       app_traffic.py dns-query ADDR PORT NAME       one A query (RFC 1035), exit 0 on an answer
       app_traffic.py tcp-sink ADDR PORT...          accept and read on each port until killed
       app_traffic.py bittorrent ADDR PORT           a BitTorrent peer handshake (BEP 3) over TCP;
                                                     exit 0 when it was sent

The DNS client stands in for dig where bind9-dnsutils is not installed; the packets are
ordinary DNS either way.
"""
import os
import socket
import struct
import sys
import threading


def dns_query_bytes(name, qid=0x1234):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack("!HH", 1, 1)


def dns_server(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    print("listening", flush=True)
    while True:
        q, peer = s.recvfrom(2048)
        if len(q) < 12:
            continue
        end = q.index(b"\x00", 12) + 5  # question: name, type, class
        answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("10.2.0.10")
        s.sendto(q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x01\x00\x00\x00\x00" + q[12:end] + answer, peer)


def dns_query(addr, port, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    for _ in range(5):
        s.sendto(dns_query_bytes(name), (addr, int(port)))
        try:
            r, _ = s.recvfrom(2048)
            if r[:2] == b"\x12\x34" and struct.unpack("!H", r[6:8])[0] >= 1:
                print("answer", socket.inet_ntoa(r[-4:]))
                return 0
        except socket.timeout:
            continue
    return 1


def sink(conn):
    with conn:
        while conn.recv(65536):
            pass


def tcp_sink(addr, ports):
    def serve(port):
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, int(port)))
        ls.listen(16)
        while True:
            c, _ = ls.accept()
            threading.Thread(target=sink, args=(c,), daemon=True).start()
    for p in ports:
        threading.Thread(target=serve, args=(p,), daemon=True).start()
    print("listening", flush=True)
    threading.Event().wait()


def bittorrent(addr, port):
    hs = bytes([19]) + b"BitTorrent protocol" + bytes(8) + os.urandom(20) + b"-WP0001-" + os.urandom(12)
    try:
        s = socket.create_connection((addr, int(port)), timeout=3)
        s.sendall(hs)
        s.settimeout(1)
        try:
            s.recv(1)  # give the handshake time to leave before the FIN
        except (socket.timeout, OSError):
            pass
        s.close()
    except OSError as e:
        print("bittorrent:", e)
        return 1
    print("sent")
    return 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "dns-server":
        dns_server(*args)
    elif cmd == "dns-query":
        return dns_query(*args)
    elif cmd == "tcp-sink":
        tcp_sink(args[0], args[1:])
    elif cmd == "bittorrent":
        return bittorrent(*args)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
