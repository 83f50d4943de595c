"""Broken backends: the client always gets a proper answer, never a hang."""

import time

import pytest

from http_client import ConnectionClosed
from recording_backend import CLOSE, Response


def _garbage(req):
    return b"THIS IS NOT HTTP\r\n\r\n"


def test_invalid_status_line_gives_502(proxy):
    proxy.blue.handler = _garbage
    conn = proxy.connect()
    start = time.monotonic()
    resp = conn.get("/garbage", timeout=5)
    assert resp.status == 502, resp
    assert resp.body
    assert time.monotonic() - start < 3
    assert proxy.blue.wait_requests(1)[0].target == "/garbage"


def test_invalid_header_from_backend_gives_502(proxy):
    proxy.blue.handler = lambda req: b"HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n"
    resp = proxy.get("/badheader", timeout=5)
    assert resp.status == 502, resp
    assert proxy.blue.wait_requests(1)[0].target == "/badheader"


def test_backend_closing_before_responding_gives_502(cutover, backends):
    # failover = "503": with the default ("other-pool") an idempotent request the backend
    # dropped is retried on the other pool (test_routing_endpoints covers that).
    blue, green = backends("blue"), backends("green")
    proxy = cutover(pools={"blue": {"endpoints": [blue.address], "failover": "503"},
                           "green": [green.address]})
    blue.handler = lambda req: CLOSE
    proxy.blue = blue
    conn = proxy.connect()
    start = time.monotonic()
    resp = conn.get("/vanish", timeout=5)
    assert resp.status == 502, resp
    assert resp.body
    assert time.monotonic() - start < 3
    assert all(r.target == "/vanish" for r in proxy.blue.wait_requests(1))


def test_backend_closing_mid_body_closes_client_without_hang(proxy):
    proxy.blue.handler = lambda req: Response(200, body=b"x" * 10_000, truncate_body_at=100)
    conn = proxy.connect()
    conn.send(b"GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        head = conn.read_head(timeout=5)
    except ConnectionClosed:
        pytest.fail("the proxy closed without any response when the backend died mid-body")
    assert proxy.blue.wait_requests(1)[0].target == "/cut"
    data, closed = conn.read_until_close(5)
    assert closed, "client left hanging after the backend died mid-body"
    if head.status == 502:  # the proxy had not sent the head yet: a clean error
        return
    assert head.status == 200, head
    # The head already went out, so the only honest signal left is closing the connection
    # before the announced length.
    if head.has("Content-Length"):
        assert len(data) < int(head.header("Content-Length"))
    else:  # re-chunked: the terminating zero-size chunk must not be sent
        assert not data.endswith(b"0\r\n\r\n")


def test_backend_garbage_then_good_backend_behaviour_recovers(proxy):
    proxy.blue.handler = _garbage
    assert proxy.get("/bad", timeout=5).status == 502
    proxy.blue.handler = lambda req: Response(200, body=b"fine again")
    resp = proxy.get("/good", timeout=5)
    assert resp.status == 200 and resp.body == b"fine again"


def test_interim_103_then_final_response(proxy):
    proxy.blue.handler = lambda req: (b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n"
                                      b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    conn = proxy.connect()
    conn.send(b"GET /hints HTTP/1.1\r\nHost: x\r\n\r\n")
    resp = conn.read_response(timeout=5)
    for _ in range(3):  # the proxy may relay the 1xx (RFC 9110 15.2) or drop it
        if resp.status >= 200:
            break
        assert resp.status == 103 and resp.body == b""
        resp = conn.read_response(timeout=5)
    assert resp.status == 200 and resp.body == b"ok"
    proxy.blue.handler = lambda req: Response(200, body=b"next")
    assert conn.get("/next").body == b"next"


def test_response_with_content_length_and_chunked_is_not_relayed_ambiguously(proxy):
    """A response framed both ways (RFC 9112 6.1): either a 502, or chunked wins and the
    Content-Length does not reach the client."""
    proxy.blue.handler = lambda req: (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                                      b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    resp = proxy.get("/both", timeout=5)
    if resp.status == 502:
        return
    assert resp.status == 200
    assert not (resp.has("Content-Length") and resp.has("Transfer-Encoding")), resp.headers
    assert resp.body == b"abc"
