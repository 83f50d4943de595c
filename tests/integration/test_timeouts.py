"""Timeouts: header read, idle keep-alive, upstream connect, upstream response."""

import time

from http_client import ConnectionClosed
from proxy_process import free_port
from recording_backend import NO_REPLY, Response

SHORT = "300ms"


def test_header_read_timeout_sends_408_then_closes(cutover):
    px = cutover(timeouts={"header_read": SHORT})
    conn = px.connect()
    start = time.monotonic()
    conn.send(b"GET /partial HTTP/1.1\r\nHost: x\r\n")  # no blank line: head never ends
    resp = conn.read_response(timeout=5)
    elapsed = time.monotonic() - start
    assert resp.status == 408, resp
    assert resp.body, "a 4xx says why in its body"
    assert elapsed >= 0.25, f"408 after {elapsed:.3f}s, before the 300ms timeout"
    conn.assert_closed(5)
    assert px.blue.connection_count == 0


def test_header_read_timeout_covers_the_whole_head_not_each_read(cutover):
    """A slowloris client trickling a byte every 100ms still hits the 300ms head deadline."""
    px = cutover(timeouts={"header_read": SHORT})
    conn = px.connect()
    start = time.monotonic()
    trickle = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    got = b""
    for byte in trickle:
        try:
            conn.send(bytes([byte]))
        except OSError:
            break
        data, closed = conn.read_until_close(0.1)  # doubles as the 100ms pace
        got += data
        if closed or got:
            break
    if not got:
        got, _ = conn.read_until_close(5)
    elapsed = time.monotonic() - start
    assert got.startswith(b"HTTP/1.1 408"), got[:200]
    assert elapsed < 3, f"slowloris kept the head open for {elapsed:.1f}s"
    assert px.blue.connection_count == 0


def test_idle_keep_alive_connection_closed_without_response(cutover):
    px = cutover(timeouts={"idle": SHORT})
    conn = px.connect()
    assert conn.get("/once").status == 200
    start = time.monotonic()
    conn.assert_closed(5)
    elapsed = time.monotonic() - start
    assert elapsed >= 0.25, f"closed after {elapsed:.3f}s, before the 300ms idle timeout"
    assert px.blue.request_count == 1


def test_connection_active_within_idle_timeout_is_kept(cutover):
    px = cutover(timeouts={"idle": "1s"})
    conn = px.connect()
    for i in range(3):
        assert conn.get(f"/{i}").status == 200
        conn.assert_open(0.4)
    assert conn.get("/last").status == 200


def test_upstream_connect_refused_gives_502(cutover):
    # Both pools dead: the refused connect is retried (other endpoint, then the other
    # pool, as test_routing_endpoints covers) and, with nothing left, answered 502.
    dead_blue = f"127.0.0.1:{free_port()}"  # nothing listens there
    dead_green = f"127.0.0.1:{free_port()}"
    px = cutover(pools={"blue": [dead_blue], "green": [dead_green]})
    conn = px.connect()
    start = time.monotonic()
    resp = conn.get("/nowhere", timeout=5)
    assert resp.status == 502, resp
    assert resp.body
    assert time.monotonic() - start < 3
    # The client connection still gets answers (or was closed cleanly, never left hanging);
    # 503 is allowed once the proxy has marked the only endpoint unhealthy.
    try:
        again = conn.get("/again", timeout=5)
    except (ConnectionClosed, ConnectionError):
        return
    assert again.status in (502, 503), again


def test_upstream_response_timeout_gives_504(cutover):
    px = cutover(timeouts={"upstream_response": SHORT})
    px.blue.handler = lambda req: NO_REPLY
    conn = px.connect()
    start = time.monotonic()
    resp = conn.get("/never", timeout=5)
    elapsed = time.monotonic() - start
    assert resp.status == 504, resp
    assert resp.body
    assert 0.25 <= elapsed < 3, f"504 after {elapsed:.3f}s"
    [req] = px.blue.wait_requests(1)
    assert req.target == "/never"
    # The proxy gave up on that upstream connection: the backend sees it closed.
    assert px.blue.wait_for(lambda: px.blue.connections[0].closed.is_set(), 5)


def test_slow_but_in_time_response_is_not_cut(cutover):
    px = cutover(timeouts={"upstream_response": "1s"})
    px.blue.handler = lambda req: Response(200, body=b"late", delay=0.3)
    resp = px.get("/slowish")
    assert resp.status == 200 and resp.body == b"late"
