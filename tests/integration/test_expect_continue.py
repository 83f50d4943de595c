"""Expect: 100-continue is answered by the proxy (RFC 9110 section 10.1.1)."""

from recording_backend import Response, identify_handler


def _head(length: int) -> bytes:
    return (f"PUT /obj HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
            f"Expect: 100-continue\r\n\r\n").encode()


def test_proxy_sends_100_continue_before_body_and_backend_never_sees_expect(proxy):
    identify = identify_handler("blue")
    proxy.blue.handler = lambda req: (Response(201, body=b"stored " + req.body)
                                      if req.method == "PUT" else identify(req))
    conn = proxy.connect()
    conn.send(_head(11))
    interim = conn.read_response(timeout=5)
    assert interim.status == 100, interim
    assert interim.version == "HTTP/1.1"
    assert interim.body == b""
    conn.send(b"hello world")
    final = conn.read_response()
    assert final.status == 201
    assert final.body == b"stored hello world"

    [req] = proxy.blue.wait_requests(1)
    assert not req.has("Expect"), req.headers
    assert req.body == b"hello world"
    assert req.header("Content-Length") == "11"
    # Only the one 100 and the final response came; the connection is reusable.
    assert conn.get("/after").body == b"blue GET /after\n"


def test_expect_over_body_limit_gets_413_without_100(cutover):
    px = cutover(limits={"body_bytes": 100})
    conn = px.connect()
    conn.send(_head(1000))
    resp = conn.read_response(timeout=5)
    assert resp.status == 413, resp
    assert resp.body, "a 4xx says why in its body"
    conn.assert_closed(5)
    assert all(c.raw_len == 0 for c in px.blue.connections), "the request was forwarded"
