"""Message body framing in both directions (RFC 9112 sections 6 and 7)."""

import os
import threading
import time

from http_client import build_request, chunked
from recording_backend import Response, identify_handler

_identify = identify_handler("blue")


def _echo_length(req):
    """POSTs are answered with the body length the backend got; anything else identifies."""
    if req.method != "POST":
        return _identify(req)
    return Response(200, headers=[("X-Got", str(req.body_len))], body=b"ok")


def _assert_one_framing(req):
    """The forwarded request is framed by exactly one of chunked / Content-Length."""
    has_te, has_cl = req.has("Transfer-Encoding"), req.has("Content-Length")
    assert not (has_te and has_cl), f"both framings forwarded: {req.headers}"
    assert has_te or has_cl, f"body forwarded without framing: {req.headers}"
    if has_te:
        assert req.header("Transfer-Encoding").lower() == "chunked"
        assert req.framing == "chunked" and req.chunk_sizes[-1] == 0
    else:
        assert int(req.header("Content-Length")) == req.body_len


def test_content_length_request_body_forwarded_intact(proxy):
    body = os.urandom(100_000)
    proxy.blue.handler = _echo_length
    conn = proxy.connect()
    resp = conn.request("POST", "/upload", headers=[("Content-Type", "application/octet-stream")],
                        body=body)
    assert resp.status == 200 and resp.header("X-Got") == str(len(body))
    [req] = proxy.blue.wait_requests(1)
    assert req.method == "POST"
    assert req.body == body
    _assert_one_framing(req)


def test_empty_content_length_body(proxy):
    conn = proxy.connect()
    resp = conn.request("POST", "/empty", body=b"")
    assert resp.status == 200
    [req] = proxy.blue.wait_requests(1)
    assert req.body == b""
    assert not req.has("Transfer-Encoding")
    assert req.header("Content-Length") in (None, "0")
    assert conn.get("/after").body == b"blue GET /after\n"


def test_chunked_request_body_forwarded_with_valid_framing(proxy):
    body = os.urandom(50_000)
    proxy.blue.handler = _echo_length
    conn = proxy.connect()
    conn.send(build_request("POST", "/chunked", headers=[("Transfer-Encoding", "chunked")])
              + chunked(body, 7000, extensions=True))
    resp = conn.read_response()
    assert resp.status == 200 and resp.header("X-Got") == str(len(body))
    [req] = proxy.blue.wait_requests(1)
    assert req.body == body
    _assert_one_framing(req)
    # The connection is still in sync after the last chunk.
    assert conn.get("/next").body == b"blue GET /next\n"


def test_chunked_request_body_sent_in_pieces(proxy):
    """Chunk boundaries split across TCP writes must not confuse the proxy."""
    body = b"abcdefghij" * 1000
    proxy.blue.handler = _echo_length
    conn = proxy.connect()
    wire = build_request("POST", "/pieces", headers=[("Transfer-Encoding", "chunked")]) \
        + chunked(body, 3333)
    for i in range(0, len(wire), 997):
        conn.send(wire[i:i + 997])
    resp = conn.read_response()
    assert resp.status == 200 and resp.header("X-Got") == str(len(body))
    [req] = proxy.blue.wait_requests(1)
    assert req.body == body
    _assert_one_framing(req)


def test_chunked_response_relayed_as_chunked(proxy):
    body = os.urandom(40_000)
    proxy.blue.handler = lambda req: Response(200, headers=[("X-Kind", "chunked")], body=body,
                                              framing="chunked", chunk_size=9000)
    conn = proxy.connect()
    resp = conn.get("/stream")
    assert resp.status == 200
    assert resp.header("X-Kind") == "chunked"
    assert resp.framing == "chunked", resp.headers
    assert not resp.has("Content-Length")
    assert resp.body == body
    [req] = proxy.blue.wait_requests(1)
    assert req.target == "/stream"
    # The connection is in sync after the last chunk: the same body comes again, whole.
    again = conn.get("/after")
    assert again.framing == "chunked" and again.body == body


def test_content_length_response_relayed_with_it(proxy):
    body = os.urandom(70_000)
    proxy.blue.handler = lambda req: Response(200, body=body)
    conn = proxy.connect()
    resp = conn.get("/fixed")
    assert resp.status == 200
    assert resp.framing == "content-length"
    assert resp.header("Content-Length") == str(len(body))
    assert not resp.has("Transfer-Encoding")
    assert resp.body == body
    assert proxy.blue.wait_requests(1)[0].target == "/fixed"


def test_close_delimited_response_reaches_client_complete(proxy):
    """A response without length, ended by the backend closing (RFC 9112 6.3 item 8)."""
    body = os.urandom(20_000)
    proxy.blue.handler = lambda req: Response(200, body=body, framing="close")
    conn = proxy.connect()
    resp = conn.get("/eof")
    assert resp.status == 200
    assert resp.body == body
    assert proxy.blue.wait_requests(1)[0].target == "/eof"


def test_chunked_response_to_http10_client_is_not_chunked(proxy):
    """HTTP/1.0 has no chunked coding (RFC 9112 7.1): the proxy must de-chunk."""
    body = b"0123456789" * 500
    proxy.blue.handler = lambda req: Response(200, body=body, framing="chunked", chunk_size=999)
    conn = proxy.connect()
    conn.send(b"GET /old HTTP/1.0\r\nHost: x\r\n\r\n")
    resp = conn.read_response()
    assert resp.status == 200
    assert not resp.has("Transfer-Encoding"), resp.headers
    assert resp.body == body
    proxy.blue.wait_requests(1)


def test_response_body_streams_before_backend_finishes(proxy):
    """The head and the first bytes reach the client while the backend still holds the rest
    (DESIGN 2.6: the response is streamed back, not buffered whole)."""
    release = threading.Event()

    def body():
        yield b"a" * 1000
        release.wait(10)
        yield b"b" * 1000

    proxy.blue.handler = lambda req: Response(200, body=body(), content_length=2000)
    conn = proxy.connect()
    conn.send(build_request("GET", "/stream"))
    try:
        head = conn.read_head(timeout=3)
        assert head.status == 200
        deadline = time.monotonic() + 3
        while len(conn.buf) < 1000 and conn._fill(deadline):
            pass
        assert bytes(conn.buf[:1000]) == b"a" * 1000
    finally:
        release.set()
    rest_deadline = time.monotonic() + 5
    while len(conn.buf) < 2000 and conn._fill(rest_deadline):
        pass
    assert bytes(conn.buf) == b"a" * 1000 + b"b" * 1000


def test_request_body_streams_to_backend_before_client_finishes(proxy):
    """The backend gets the head and the first body bytes while the client still sends."""
    proxy.blue.handler = _echo_length
    conn = proxy.connect()
    head = build_request("POST", "/up", headers=[("Content-Length", "2000")])
    conn.send(head + b"a" * 1000)
    arrived = proxy.blue.wait_for(
        lambda: any(b"a" * 1000 in c.raw for c in proxy.blue.connections), 3)
    conn.send(b"b" * 1000)
    resp = conn.read_response()
    assert arrived, "the proxy held the request body back until the client finished it"
    assert resp.status == 200 and resp.header("X-Got") == "2000"
    assert proxy.blue.wait_requests(1)[0].body == b"a" * 1000 + b"b" * 1000
