"""Responses that never have a body: HEAD, 204, 304 (RFC 9112 section 6.3 items 1-2)."""

from http_client import build_request
from recording_backend import Response


def test_head_gets_backend_content_length_and_no_body(proxy):
    proxy.blue.handler = lambda req: Response(200, headers=[("X-Method", req.method)],
                                              body=b"x" * 1234)
    conn = proxy.connect()
    head = conn.request("HEAD", "/doc")
    assert head.status == 200
    assert head.header("Content-Length") == "1234"
    assert head.header("X-Method") == "HEAD"
    assert head.body == b""
    # Nothing stray follows the head: the next response parses from the right byte.
    get = conn.get("/doc")
    assert get.status == 200 and get.body == b"x" * 1234
    reqs = proxy.blue.wait_requests(2)
    assert [r.method for r in reqs] == ["HEAD", "GET"]
    # The proxy knew the upstream HEAD response had no body and reused the connection.
    assert proxy.blue.connection_count == 1


def test_head_pipelined_with_get(proxy):
    proxy.blue.handler = lambda req: Response(200, body=f"body-of-{req.method}".encode())
    conn = proxy.connect()
    conn.send(build_request("HEAD", "/a") + build_request("GET", "/b"))
    head = conn.read_response(method="HEAD")
    assert head.status == 200 and head.header("Content-Length") == str(len("body-of-HEAD"))
    assert conn.read_response().body == b"body-of-GET"


def test_head_with_chunked_backend_response_has_no_body(proxy):
    proxy.blue.handler = lambda req: Response(200, body=b"abc" * 100, framing="chunked",
                                              chunk_size=50)
    conn = proxy.connect()
    head = conn.request("HEAD", "/c")
    assert head.status == 200
    assert not head.has("Content-Length") or head.header("Content-Length") != "0"
    assert conn.get("/c").body == b"abc" * 100
    assert [r.method for r in proxy.blue.wait_requests(2)] == ["HEAD", "GET"]


def test_204_has_no_body_and_connection_stays_usable(proxy):
    proxy.blue.handler = lambda req: (Response(204, headers=[("X-Empty", "yes")], framing="none")
                                      if req.target == "/nothing" else Response(200, body=b"next"))
    conn = proxy.connect()
    resp = conn.request("DELETE", "/nothing")
    assert resp.status == 204
    assert resp.header("X-Empty") == "yes"
    assert not resp.has("Transfer-Encoding")
    assert resp.header("Content-Length") in (None, "0")
    after = conn.get("/after")
    assert after.status == 200 and after.body == b"next"
    assert [r.target for r in proxy.blue.wait_requests(2)] == ["/nothing", "/after"]
    assert proxy.blue.connection_count == 1


def test_304_has_no_body_and_connection_stays_usable(proxy):
    def handle(req):
        if req.header("If-None-Match") == '"v1"':
            # A 304 may carry the Content-Length the 200 would have had (RFC 9110 8.6).
            return Response(304, headers=[("ETag", '"v1"')], framing="content-length",
                            content_length=5000, body=b"")
        return Response(200, headers=[("ETag", '"v1"')], body=b"fresh")

    proxy.blue.handler = handle
    conn = proxy.connect()
    resp = conn.get("/cached", headers=[("If-None-Match", '"v1"')])
    assert resp.status == 304
    assert resp.header("ETag") == '"v1"'
    assert resp.body == b""
    after = conn.get("/cached")
    assert after.status == 200 and after.body == b"fresh"
    reqs = proxy.blue.wait_requests(2)
    assert reqs[0].header("If-None-Match") == '"v1"'
    assert proxy.blue.connection_count == 1
