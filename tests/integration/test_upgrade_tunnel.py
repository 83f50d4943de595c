"""Upgrade (WebSocket style) and the raw tunnel after 101 (RFC 9110 section 7.8)."""

import os
import time

from recording_backend import Response, Upgrade

WS_REQUEST = (b"GET /ws HTTP/1.1\r\nHost: chat.test\r\nConnection: Upgrade\r\n"
              b"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def _upgrade_backend(greeting=b""):
    return lambda req: Upgrade(headers=[("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                        ("Sec-WebSocket-Accept", ACCEPT)], greeting=greeting)


def _read_exact(conn, n, timeout=5):
    deadline = time.monotonic() + timeout
    while len(conn.buf) < n:
        assert conn._fill(deadline), f"closed after {len(conn.buf)} of {n} tunnel bytes"
    data = bytes(conn.buf[:n])
    del conn.buf[:n]
    return data


def test_upgrade_headers_forwarded_and_101_relayed(proxy):
    proxy.blue.handler = _upgrade_backend()
    conn = proxy.connect()
    conn.send(WS_REQUEST)
    resp = conn.read_response(timeout=5)
    assert resp.status == 101, resp
    assert resp.header("Upgrade") == "websocket"
    assert "upgrade" in resp.connection_tokens()
    assert resp.header("Sec-WebSocket-Accept") == ACCEPT

    [req] = proxy.blue.wait_requests(1)
    assert req.target == "/ws"
    assert req.header("Upgrade") == "websocket"
    assert "upgrade" in {t.strip().lower() for t in (req.header("Connection") or "").split(",")}
    assert req.header("Sec-WebSocket-Key") == "dGhlIHNhbXBsZSBub25jZQ=="
    assert req.header("Sec-WebSocket-Version") == "13"


def test_tunnel_relays_binary_bytes_both_ways(proxy):
    proxy.blue.handler = _upgrade_backend(greeting=b"\x81\x05hello")
    conn = proxy.connect()
    conn.send(WS_REQUEST)
    assert conn.read_response(timeout=5).status == 101
    # Bytes the backend wrote together with its 101 head reach the client.
    assert _read_exact(conn, 7) == b"\x81\x05hello"
    total = 0
    for size in (1, 256, 4096, 65536, 300_000):
        payload = bytes(range(256)) * (size // 256) + os.urandom(size % 256)
        conn.send(payload)
        assert _read_exact(conn, len(payload), timeout=10) == payload
        total += len(payload)
    assert proxy.blue.connections[0].tunnel_bytes == total
    # Closing the client side ends the tunnel on the backend side too.
    conn.close()
    assert proxy.blue.wait_for(lambda: proxy.blue.connections[0].closed.is_set(), 5)


def test_backend_closing_tunnel_closes_client(proxy):
    proxy.blue.handler = _upgrade_backend()
    conn = proxy.connect()
    conn.send(WS_REQUEST)
    assert conn.read_response(timeout=5).status == 101
    conn.send(b"ping")
    assert _read_exact(conn, 4) == b"ping"
    # Stop the backend: its sockets shut down, the proxy must close the client side.
    proxy.blue.stop()
    conn.assert_closed(5)


def test_idle_tunnel_closed_after_tunnel_idle(cutover):
    px = cutover(timeouts={"tunnel_idle": "300ms"})
    px.blue.handler = _upgrade_backend()
    conn = px.connect()
    conn.send(WS_REQUEST)
    assert conn.read_response(timeout=5).status == 101
    conn.send(b"one")
    assert _read_exact(conn, 3) == b"one"
    start = time.monotonic()
    conn.assert_closed(5)
    elapsed = time.monotonic() - start
    assert elapsed >= 0.25, f"tunnel closed after {elapsed:.3f}s, before tunnel_idle"
    assert px.blue.wait_for(lambda: px.blue.connections[0].closed.is_set(), 5)


def test_active_tunnel_outlives_tunnel_idle(cutover):
    px = cutover(timeouts={"tunnel_idle": "400ms"})
    px.blue.handler = _upgrade_backend()
    conn = px.connect()
    conn.send(WS_REQUEST)
    assert conn.read_response(timeout=5).status == 101
    start = time.monotonic()
    while time.monotonic() - start < 1.2:  # three tunnel_idle periods of steady traffic
        conn.send(b"tick")
        assert _read_exact(conn, 4) == b"tick"
        conn.assert_open(0.1)


def test_upgrade_refused_by_backend_is_a_normal_response(proxy):
    proxy.blue.handler = lambda req: Response(200, body=b"no upgrade here")
    conn = proxy.connect()
    conn.send(WS_REQUEST)
    resp = conn.read_response(timeout=5)
    assert resp.status == 200 and resp.body == b"no upgrade here"
    assert proxy.blue.wait_requests(1)[0].header("Upgrade") == "websocket"


def test_switch_without_connection_upgrade_is_a_bad_gateway(proxy):
    """Regression: a 101 whose Connection field does not list "upgrade" (RFC 9110 section
    7.8 requires it) was relayed as a switch while the response parser read it as a complete
    response; the client was left tunnelling into a released connection. Now it is the
    backend's protocol error: 502, nothing relayed."""
    proxy.blue.handler = lambda req: Upgrade(headers=[("Upgrade", "websocket")])
    conn = proxy.connect()
    conn.send(WS_REQUEST)
    resp = conn.read_response(timeout=5)
    assert resp.status == 502, resp
