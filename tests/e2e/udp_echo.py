#!/usr/bin/python3
"""Tiny UDP echo for e2e tests.

serve ADDR PORT            echo every datagram back; log "from IP:PORT LEN" per datagram (ADDR: IPv4 or IPv6, here and in send)
sink ADDR PORT             log "from IP:PORT LEN" per datagram, answer nothing
digest ADDR PORT           as sink, each line with " sha256 HEX" of the datagram (byte-exact checks)
send ADDR PORT MSG [TRIES] [ROUNDS]
                           ROUNDS times (default 1) on one socket (one session): send MSG#i,
                           wait for the same bytes back (1 s per try); exit 0 if all echoed.
                           MSG "hex:..." is sent as those bytes (then "#i" is appended raw)
refused ADDR PORT LPORT [TRIES]
                           from local port LPORT, a connected socket: send a datagram to a closed
                           port (1 s per try, default 5 tries); exit 0 once the kernel reports
                           ECONNREFUSED, i.e. a Port Unreachable quoting this socket's own 4-tuple
"""
import hashlib
import socket
import sys


def serve(addr, port, echo=True, digest=False):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    print(f"listening {addr}:{port}", flush=True)
    while True:
        data, peer = s.recvfrom(65535)
        tail = f" sha256 {hashlib.sha256(data).hexdigest()}" if digest else ""
        print(f"from {peer[0]}:{peer[1]} {len(data)}{tail}", flush=True)
        if echo:
            s.sendto(data, peer)


def send(addr, port, msg, tries, rounds):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.connect((addr, port))
    for r in range(rounds):
        head = bytes.fromhex(msg[4:]) if msg.startswith("hex:") else msg.encode()
        data = head + f"#{r}".encode()
        if not exchange(s, data, tries):
            print(f"no echo for round {r + 1} of {rounds}")
            return 1
    print(f"{rounds} echo(es) ok from {addr}:{port} via local port {s.getsockname()[1]}")
    return 0


def refused(addr, port, lport, tries):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(1.0)
    s.bind(("::" if ":" in addr else "0.0.0.0", lport))
    s.connect((addr, port))
    for i in range(tries):
        try:
            s.send(f"closed-port-{i}".encode())
            s.recv(65535)
            print(f"an answer from {addr}:{port}, not a Port Unreachable")
            return 1
        except ConnectionRefusedError:
            print(f"refused: Port Unreachable for {s.getsockname()} -> {addr}:{port} after {i + 1} send(s)")
            return 0
        except socket.timeout:
            continue
    print(f"no Port Unreachable from {addr}:{port} in {tries} tries")
    return 1


def exchange(s, data, tries):
    for _ in range(tries):
        s.send(data)
        try:
            while True:
                if s.recv(65535) == data:
                    return True
        except socket.timeout:
            continue
    return False


if __name__ == "__main__":
    if sys.argv[1] in ("serve", "sink", "digest"):
        serve(sys.argv[2], int(sys.argv[3]), echo=(sys.argv[1] == "serve"), digest=(sys.argv[1] == "digest"))
    elif sys.argv[1] == "refused":
        sys.exit(refused(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                         int(sys.argv[5]) if len(sys.argv) > 5 else 5))
    else:
        sys.exit(send(sys.argv[2], int(sys.argv[3]), sys.argv[4],
                      int(sys.argv[5]) if len(sys.argv) > 5 else 5,
                      int(sys.argv[6]) if len(sys.argv) > 6 else 1))
