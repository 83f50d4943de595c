"""Slow and stuck peers (issue 7, item 4; docs/robustness.md, "Slow and stuck peers").

Every case is cut off by its timeout (docs/http-behaviour.md, docs/configuration.md
[timeouts]), measured, and afterwards the proxy is back to its baseline: no client or
upstream connection open (the metrics gauges), the same number of file descriptors, and
RSS near where it started."""

from __future__ import annotations

import os
import socket
import time

import pytest

from admin_helpers import connection_gauges, poll
from http_client import build_request
from proxy_process import is_sanitized_binary, rss_kib
from recording_backend import NO_REPLY, Response

HEADER_READ = 0.3  # timeouts.header_read
IDLE = 0.5  # timeouts.idle: between requests, between body reads, and while a write stalls
UPSTREAM_RESPONSE = 0.5  # timeouts.upstream_response
MARGIN = 1.0  # scheduling slack on a busy CI machine (the measured figures are ~10 ms late)
TIMEOUTS = {"header_read": "300ms", "idle": "500ms", "upstream_response": "500ms",
            "upstream_idle": "300ms", "drain": "2s"}
MIB = 1024 * 1024


def _start(cutover, timeouts=None, **kw):
    return cutover(admin=True, timeouts={**TIMEOUTS, **(timeouts or {})}, **kw)


def _gauges(px) -> tuple[float, float]:
    return connection_gauges(px.admin())


def _fds(px) -> int:
    return len(os.listdir(f"/proc/{px.pid}/fd"))


class Baseline:
    def __init__(self, px):
        self.px = px
        assert poll(lambda: _gauges(px) == (0, 0), 5), _gauges(px)
        self.fds = _fds(px)
        self.rss = rss_kib(px.pid)

    def assert_back(self, rss_slack_mib: float = 8) -> None:
        px = self.px
        assert poll(lambda: _gauges(px) == (0, 0), 5), f"gauges stay at {_gauges(px)}"
        # The admin connection that reads the metrics is closed after each call, but the
        # proxy may not have closed its side yet when the baseline was taken: "<=".
        assert poll(lambda: _fds(px) <= self.fds, 5), \
            f"{_fds(px)} file descriptors open, {self.fds} at the start"
        if not is_sanitized_binary():
            rss = rss_kib(px.pid)
            assert rss - self.rss < rss_slack_mib * 1024, \
                f"RSS {rss} KiB, {self.rss} KiB at the start"
        assert px.alive()
        # And the proxy still serves.
        assert px.get("/after").status == 200


def _wait_closed(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Reads until EOF or reset; (bytes read, monotonic time of the close)."""
    deadline = time.monotonic() + timeout
    got = bytearray()
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"still open after {timeout}s; got {bytes(got[:200])!r}"
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            return bytes(got), time.monotonic()
        got += data


def test_slowloris_head_is_cut_at_header_read(cutover):
    """One header byte every 100 ms, never finishing: 408 and closed at header_read after
    the first byte, however steadily the bytes come; several such clients at once."""
    px = _start(cutover)
    base = Baseline(px)
    n = 5
    trickle = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    socks = [socket.create_connection(("127.0.0.1", px.port)) for _ in range(n)]
    first = [0.0] * n
    done: dict = {}
    try:
        for i, byte in enumerate(trickle):
            for k, s in enumerate(socks):
                if k in done:
                    continue
                if i == 0:
                    first[k] = time.monotonic()
                try:
                    s.send(bytes([byte]))
                except OSError:
                    done[k] = (b"", time.monotonic())
                    continue
                s.setblocking(False)
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    data = None
                except ConnectionResetError:
                    data = b""
                finally:
                    s.setblocking(True)
                if data is not None:
                    rest, t = _wait_closed(s, 5)
                    done[k] = (data + rest, t)
            if len(done) == n:
                break
            time.sleep(0.1)  # the slowloris pace: one byte per 100 ms
            assert time.monotonic() - first[0] < HEADER_READ + MARGIN + 1, "never cut off"
        cut = []
        for k in range(n):
            data, t = done[k]
            assert data.startswith(b"HTTP/1.1 408 "), data[:200]
            cut.append(t - first[k])
        print(f"slowloris: 408 + close after {min(cut) * 1000:.0f}..{max(cut) * 1000:.0f} ms "
              f"(header_read {HEADER_READ * 1000:.0f} ms, 1 byte / 100 ms)")
        assert all(HEADER_READ - 0.05 <= c < HEADER_READ + MARGIN for c in cut), cut
    finally:
        for s in socks:
            s.close()
    assert px.blue.connection_count == 0, "a head that never ended reached the backend"
    base.assert_back()


def test_silent_connection_is_closed_at_header_read(cutover):
    """A connection that never sends a byte is closed silently after header_read."""
    px = _start(cutover)
    base = Baseline(px)
    s = socket.create_connection(("127.0.0.1", px.port))
    try:
        t0 = time.monotonic()
        data, t = _wait_closed(s, HEADER_READ + MARGIN)
        print(f"silent connection: closed after {(t - t0) * 1000:.0f} ms")
        assert data == b""
        assert t - t0 >= HEADER_READ - 0.05
    finally:
        s.close()
    base.assert_back()


def test_slow_body_upload_is_cut_at_idle(cutover):
    """A body dribbled slower than the body timeout (timeouts.idle between reads): 408 (no
    response started), the client connection closed, the upstream connection dropped."""
    px = _start(cutover)
    base = Baseline(px)
    s = socket.create_connection(("127.0.0.1", px.port))
    try:
        s.sendall(build_request("POST", "/upload", headers=[("Content-Length", "100")]))
        s.sendall(b"x")
        assert px.blue.wait_for(lambda: px.blue.connection_count == 1, 5)
        last = time.monotonic()
        s.settimeout(IDLE * 0.6)  # the pace: 300 ms of waiting, then the next byte
        got = b""
        for _ in range(20):  # paced at 300 ms, 3 more bytes pass; it dies at 800 ms
            try:
                got = s.recv(65536)
                break
            except (socket.timeout, TimeoutError):
                pass
            try:
                s.sendall(b"x")
                last = time.monotonic()
            except OSError:
                break
            s.settimeout(IDLE * 1.6)  # from now on slower than the body timeout
        rest, t = _wait_closed(s, 5)
        got += rest
        cut = t - last
        print(f"slow body: 408 + close {cut * 1000:.0f} ms after the last byte "
              f"(idle {IDLE * 1000:.0f} ms)")
        assert got.startswith(b"HTTP/1.1 408 "), got[:200]
        assert IDLE - 0.05 <= cut < IDLE + MARGIN, cut
    finally:
        s.close()
    assert px.blue.wait_for(lambda: all(c.closed.is_set() for c in px.blue.connections), 5), \
        "the upstream connection of the abandoned upload is still open"
    assert px.blue.request_count == 0
    base.assert_back()


def test_client_that_never_reads_costs_bounded_memory_and_is_cut(cutover):
    """Three clients ask for a 50 MiB response and never read: back-pressure stops the
    backend reads, so RSS grows by far less than one response, and each connection is closed
    when its write has made no progress for timeouts.idle."""
    size = 50 * MIB
    piece = b"z" * (256 * 1024)

    def big(req):
        return Response(200, body=(piece for _ in range(size // len(piece))),
                        content_length=size)

    # upstream_response far above idle: the cut-off is the client's send timeout, not the
    # backend's (which is paused by the proxy, not stalled).
    px = _start(cutover, timeouts={"upstream_response": "5s"})
    px.blue.handler = big
    base = Baseline(px)
    n = 3
    socks = []
    try:
        t0 = time.monotonic()
        for _ in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            s.connect(("127.0.0.1", px.port))
            s.sendall(build_request("GET", "/big"))
            socks.append(s)
        assert px.blue.wait_for(lambda: px.blue.request_count == n, 5)
        peak = base.rss
        closed_at = None
        deadline = t0 + IDLE + MARGIN + 2
        while time.monotonic() < deadline:
            if not is_sanitized_binary():
                peak = max(peak, rss_kib(px.pid) or 0)
            if _gauges(px)[0] == 0:
                closed_at = time.monotonic()
                break
            time.sleep(0.02)  # RSS sampling interval
        assert closed_at is not None, f"non-reading clients still connected: {_gauges(px)}"
        assert closed_at - t0 < IDLE + MARGIN, closed_at - t0
        growth = (peak - base.rss) / 1024
        print(f"never-reading clients: closed {(closed_at - t0) * 1000:.0f} ms after the "
              f"requests; RSS {base.rss} KiB -> peak {peak} KiB (+{growth:.1f} MiB) for "
              f"{n} x {size // MIB} MiB responses")
        if not is_sanitized_binary():
            assert growth < 8, f"RSS grew by {growth:.1f} MiB"
        # What the kernel buffered arrives, then the close: never the whole body.
        for s in socks:
            data, _ = _wait_closed(s, 5)
            assert data.startswith(b"HTTP/1.1 200 "), data[:100]
            assert len(data) < size, "the whole body arrived although nobody read"
    finally:
        for s in socks:
            s.close()
    assert px.blue.wait_for(lambda: all(c.closed.is_set() for c in px.blue.connections), 5), \
        "upstream connections of the abandoned downloads are still open"
    base.assert_back()


def test_client_pausing_longer_than_upstream_response_is_not_cut(cutover):
    """A client that stops reading for longer than upstream_response but less than idle
    gets the whole response: while the proxy holds the backend back for a slow client, the
    backend is not stalled, and only the client's send timeout (idle) applies. The backend
    is not charged with a response_timeout either."""
    size = 8 * MIB
    piece = b"y" * (256 * 1024)
    px = _start(cutover, timeouts={"upstream_response": "300ms", "idle": "2s"})
    px.blue.handler = lambda req: Response(
        200, body=(piece for _ in range(size // len(piece))), content_length=size)
    base = Baseline(px)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.connect(("127.0.0.1", px.port))
    try:
        s.sendall(build_request("GET", "/big", headers=[("Connection", "close")]))
        assert px.blue.wait_for(lambda: px.blue.request_count == 1, 5)
        time.sleep(0.8)  # the pause under test: > upstream_response (300ms), < idle (2s)
        data, _ = _wait_closed(s, 10)
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head[:100]
    assert len(body) == size, f"{len(body)} of {size} body bytes: the response was cut"
    assert "response_timeout" not in px.stderr_text()
    base.assert_back()


def test_backend_that_never_answers_gives_504_at_upstream_response(cutover, backends):
    """Two stuck backends: one that reads the request and never answers, and a listening
    socket that never even accepts (the kernel completes the handshake and queues it).
    Both give 504 at upstream_response; response timeouts are not retried."""
    px = _start(cutover)
    px.blue.handler = lambda req: NO_REPLY
    base = Baseline(px)
    conn = px.connect()
    t0 = time.monotonic()
    resp = conn.get("/stuck", timeout=5)
    took = time.monotonic() - t0
    assert resp.status == 504, resp
    assert px.blue.request_count == 1, "a response timeout was retried"
    assert px.blue.wait_for(lambda: px.blue.connections[0].closed.is_set(), 5)
    conn.close()

    # The listener that never accepts.
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(16)
    try:
        px.reload(pools={"blue": [f"127.0.0.1:{mute.getsockname()[1]}"],
                         "green": [px.green.address]})
        conn = px.connect()
        t1 = time.monotonic()
        resp2 = conn.get("/mute", timeout=5)
        took2 = time.monotonic() - t1
        conn.close()
        print(f"stuck backend: 504 after {took * 1000:.0f} ms (reads, never answers), "
              f"{took2 * 1000:.0f} ms (never accepts); upstream_response "
              f"{UPSTREAM_RESPONSE * 1000:.0f} ms")
        assert resp2.status == 504, resp2
        for t in (took, took2):
            assert UPSTREAM_RESPONSE - 0.05 <= t < UPSTREAM_RESPONSE + MARGIN, t
        assert poll(lambda: _gauges(px) == (0, 0), 5), _gauges(px)
    finally:
        mute.close()
    px.reload(pools={"blue": [px.blue.address], "green": [px.green.address]})
    px.blue.handler = lambda req: Response(200, body=b"ok")
    base.assert_back()
