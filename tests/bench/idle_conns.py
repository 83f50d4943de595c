#!/usr/bin/env python3
"""Idle keep-alive client connections for tests/bench/run.sh.

Opens COUNT connections to HOST:PORT one after another, completes one GET on each (so
the proxy has seen a full request and parked the connection as idle keep-alive), then:
  prints "ready ok=N failed=M",
  waits SETTLE seconds, checks that none of them was closed by the proxy,
  prints "held open=N closed=M",
  holds them until killed or HOLD seconds pass.
Sockets use SO_LINGER 0 so that exiting resets them instead of filling TIME_WAIT.
"""
import argparse
import select
import signal
import socket
import struct
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: cutover-bench-idle\r\n\r\n"


def read_response(sock: socket.socket) -> bool:
    """Reads one response (Content-Length or chunked body); True if it is a 200."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    ok = lines[0].split(b" ")[1:2] == [b"200"]
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while not body.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                return False
            body += chunk
    elif length is not None:
        while len(body) < length:
            chunk = sock.recv(4096)
            if not chunk:
                return False
            body += chunk
    return ok


def open_one(host: str, port: int, timeout: float):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
        sock.sendall(REQUEST)
        if read_response(sock):
            return sock
    except OSError:
        pass
    sock.close()
    return None


def count_closed(socks) -> int:
    """A socket that is readable while idle was closed (or sent junk) by the proxy."""
    poller = select.poll()
    for s in socks:
        poller.register(s.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
    return len(poller.poll(0))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--hold", type=float, default=120.0)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "localhost"):
        print("only 127.0.0.1 is allowed", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    socks = []
    failed = 0
    for _ in range(args.count):
        s = open_one(args.host, args.port, args.timeout)
        if s is None:
            failed += 1
            if failed > 50:  # the proxy is refusing; stop early rather than time out 5000 times
                break
        else:
            socks.append(s)
    print(f"ready ok={len(socks)} failed={failed}", flush=True)
    time.sleep(args.settle)
    closed = count_closed(socks)
    print(f"held open={len(socks) - closed} closed={closed}", flush=True)
    time.sleep(args.hold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
