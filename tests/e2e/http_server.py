#!/usr/bin/python3
"""Static file server for e2e tests: python's http.server (same handler, same
request log on stderr) without its start-up reverse DNS lookup. A PUT of any
path is read to its end and answered with "LENGTH SHA256" of the body (nothing
is stored): a client proves an upload arrived whole, to the last byte.
A GET with "?rate=BYTES_PER_S" sends the file at that pace, one tenth of a
second's worth at a time, each slice a tenth of a second after the previous one
was taken by the socket: after a stall (a failover, a lost SYN) the transfer
goes on at the same pace instead of catching up at line rate, as curl's
--limit-rate (an average since the transfer began) does. A long transfer thus
lasts at least size / rate seconds whatever happens on the path.

usage: http_server.py ADDR PORT DIR [--tls CERT KEY]

HTTPServer.server_bind calls socket.getfqdn() on the bound address. In a test
namespace whose default route leads to a router that is not up yet, the
resolver's query goes nowhere and python waits for its timeout (~6 s here)
before it listens, once per server in every test.
"""
import argparse
import functools
import hashlib
import http.server
import os
import socket
import socketserver
import ssl
import time
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("addr")
ap.add_argument("port", type=int)
ap.add_argument("directory")
ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
args = ap.parse_args()


class Server(http.server.ThreadingHTTPServer):
    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        rate = urllib.parse.parse_qs(url.query).get("rate")
        if not rate:
            return super().do_GET()
        path = self.translate_path(url.path)
        try:
            rate = int(rate[0])
            f = open(path, "rb")
        except (ValueError, OSError):
            return self.send_error(404 if isinstance(rate, int) else 400)
        with f:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(os.fstat(f.fileno()).st_size))
            self.end_headers()
            slice_len, due = max(1, rate // 10), time.monotonic()
            while chunk := f.read(slice_len):
                time.sleep(max(0.0, due - time.monotonic()))
                self.wfile.write(chunk)
                due = time.monotonic() + 0.1

    def do_PUT(self):
        left, digest = int(self.headers.get("Content-Length", 0)), hashlib.sha256()
        got = 0
        while got < left:
            chunk = self.rfile.read(min(65536, left - got))
            if not chunk:
                break
            digest.update(chunk)
            got += len(chunk)
        body = f"{got} {digest.hexdigest()}\n".encode()
        self.send_response(200 if got == left else 400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


handler = functools.partial(Handler, directory=args.directory)
if ":" in args.addr:  # an IPv6 address (test_ipv6_route.sh)
    Server.address_family = socket.AF_INET6
srv = Server((args.addr, args.port), handler)
if args.tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*args.tls)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(f"Serving {'HTTPS' if args.tls else 'HTTP'} on {args.addr} port {args.port}", flush=True)
srv.serve_forever()
