"""Hop-by-hop fields never cross the proxy (RFC 9110 section 7.6.1)."""

from recording_backend import Response

HOP_BY_HOP = {"keep-alive", "proxy-connection", "te", "trailer", "upgrade",
              "proxy-authorization"}


def _connection_tokens(headers_all):
    return {t.strip().lower() for v in headers_all for t in v.split(",") if t.strip()}


def test_request_hop_by_hop_headers_are_stripped(proxy):
    conn = proxy.connect()
    resp = conn.get("/hop", headers=[
        ("Connection", "keep-alive, X-Secret"),
        ("Keep-Alive", "timeout=5, max=100"),
        ("Proxy-Connection", "keep-alive"),
        ("TE", "trailers"),
        ("Trailer", "X-Checksum"),
        ("Upgrade", "h2c"),
        ("Proxy-Authorization", "Basic dXNlcjpwYXNz"),
        ("X-Secret", "hunter2"),
        ("X-Keep", "yes"),
        ("Authorization", "Bearer end-to-end"),
    ])
    assert resp.status == 200 and resp.body == b"blue GET /hop\n"
    [req] = proxy.blue.wait_requests(1)
    names = req.header_names()
    assert not names & HOP_BY_HOP, req.headers
    assert "x-secret" not in names, req.headers
    # The proxy may send its own Connection field upstream, never the client's options.
    assert not _connection_tokens(req.header_all("Connection")) & {"x-secret", "upgrade"}
    assert req.header("X-Keep") == "yes"
    assert req.header("Authorization") == "Bearer end-to-end"
    assert req.header_all("Host") == ["test.local"]


def test_connection_close_with_named_header(proxy):
    conn = proxy.connect()
    resp = conn.get("/bye", headers=[("Connection", "close, X-Secret"), ("X-Secret", "s3"),
                                     ("X-Other", "o")])
    assert resp.status == 200 and resp.body == b"blue GET /bye\n"
    [req] = proxy.blue.wait_requests(1)
    assert not req.has("X-Secret"), req.headers
    assert req.header("X-Other") == "o"
    assert "x-secret" not in _connection_tokens(req.header_all("Connection"))
    # The client asked to close: the proxy closes after the response (RFC 9112 9.6).
    conn.assert_closed(5)


def test_response_hop_by_hop_headers_are_stripped(proxy):
    proxy.blue.handler = lambda req: Response(200, headers=[
        ("Keep-Alive", "timeout=5"),
        ("Connection", "keep-alive, X-Internal"),
        ("X-Internal", "1"),
        ("Proxy-Connection", "keep-alive"),
        ("Upgrade", "h2c"),
        ("Trailer", "X-Sum"),
        ("X-Visible", "v"),
    ], body=b"resp")
    conn = proxy.connect()
    resp = conn.get("/r")
    assert resp.status == 200 and resp.body == b"resp"
    names = {n.lower() for n, _ in resp.headers}
    assert "keep-alive" not in names, resp.headers
    assert "x-internal" not in names, resp.headers
    assert "proxy-connection" not in names and "upgrade" not in names, resp.headers
    assert "x-internal" not in resp.connection_tokens()
    assert resp.header("X-Visible") == "v"
    assert proxy.blue.wait_requests(1)[0].target == "/r"
    # The backend's hop-by-hop options did not leak into the client connection's state.
    assert conn.get("/again").body == b"resp"


def test_backend_connection_close_does_not_close_client_connection(proxy):
    proxy.blue.handler = lambda req: Response(200, body=req.target.encode(), close=True)
    conn = proxy.connect()
    first = conn.get("/1")
    assert first.body == b"/1"
    assert "close" not in first.connection_tokens()
    assert conn.get("/2").body == b"/2"
    proxy.blue.wait_requests(2)
    assert proxy.blue.connection_count == 2
