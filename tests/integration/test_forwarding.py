"""Plain forwarding, keep-alive on both sides, pipelining (RFC 9112 sections 3, 9.3)."""

from http_client import build_request
from recording_backend import Response


def test_get_is_forwarded_as_http11_with_host_and_response_relayed(proxy):
    proxy.blue.handler = lambda req: Response(
        200, headers=[("X-Backend", "blue"), ("X-Custom", "abc"), ("Content-Type", "text/x-t")],
        body=b"hello from blue")
    conn = proxy.connect()
    conn.send(b"GET /hello/world?x=1&y=%20 HTTP/1.1\r\nHost: example.test:8443\r\n"
              b"User-Agent: itest/1\r\nAccept: */*\r\n\r\n")
    resp = conn.read_response()

    [req] = proxy.blue.wait_requests(1)
    assert req.method == "GET"
    assert req.target == "/hello/world?x=1&y=%20"
    assert req.version == "HTTP/1.1"
    assert req.header_all("Host") == ["example.test:8443"]
    assert req.header("User-Agent") == "itest/1"
    assert req.header("Accept") == "*/*"
    assert req.framing == "none" and req.body == b""
    assert proxy.green.request_count == 0

    assert resp.version == "HTTP/1.1"
    assert (resp.status, resp.reason) == (200, "OK")
    assert resp.header("X-Custom") == "abc"
    assert resp.header("Content-Type") == "text/x-t"
    assert resp.header("Content-Length") == str(len(b"hello from blue"))
    assert resp.body == b"hello from blue"


def test_http10_client_request_goes_upstream_as_http11(proxy):
    conn = proxy.connect()
    conn.send(b"GET /old HTTP/1.0\r\nHost: legacy.test\r\n\r\n")
    resp = conn.read_response()
    [req] = proxy.blue.wait_requests(1)
    assert req.version == "HTTP/1.1"
    assert req.header_all("Host") == ["legacy.test"]
    assert resp.status == 200
    assert resp.body == b"blue GET /old\n"
    # HTTP/1.0 without keep-alive: the proxy closes after the response (RFC 9112 9.3).
    conn.assert_closed(5)


def test_http10_request_without_host_gets_the_endpoint_as_host_upstream(proxy):
    """HTTP/1.0 allows a request without Host; the HTTP/1.1 request the proxy sends must have
    one (RFC 9112 section 3.2): the endpoint's address, as NGINX sends $proxy_host."""
    conn = proxy.connect()
    conn.send(b"GET /bare HTTP/1.0\r\n\r\n")
    resp = conn.read_response()
    [req] = proxy.blue.wait_requests(1)
    assert req.version == "HTTP/1.1"
    assert req.header_all("Host") == [proxy.blue.address]
    assert resp.status == 200 and resp.body == b"blue GET /bare\n"


def test_error_statuses_from_backend_are_relayed_unchanged(proxy):
    statuses = {"/404": (404, "Not Found"), "/503": (503, "Busy Now"), "/418": (418, "Tea")}

    def handle(req):
        code, reason = statuses[req.target]
        return Response(code, reason, headers=[("X-Why", req.target)],
                        body=f"status {code}".encode())

    proxy.blue.handler = handle
    conn = proxy.connect()
    for target, (code, reason) in statuses.items():
        resp = conn.get(target)
        assert (resp.status, resp.reason) == (code, reason)
        assert resp.header("X-Why") == target
        assert resp.body == f"status {code}".encode()
    assert [r.target for r in proxy.blue.requests] == list(statuses)


def test_client_keep_alive_serves_sequential_requests_on_one_connection(proxy):
    conn = proxy.connect()
    for i in range(5):
        resp = conn.get(f"/seq/{i}")
        assert resp.status == 200
        assert resp.body == f"blue GET /seq/{i}\n".encode()
        assert "close" not in resp.connection_tokens()
    reqs = proxy.blue.wait_requests(5)
    assert [r.target for r in reqs] == [f"/seq/{i}" for i in range(5)]


def test_upstream_keep_alive_one_backend_connection_for_sequential_requests(proxy):
    conn = proxy.connect()
    for i in range(8):
        assert conn.get(f"/ka/{i}").body == f"blue GET /ka/{i}\n".encode()
    proxy.blue.wait_requests(8)
    assert proxy.blue.connection_count == 1
    assert len(proxy.blue.connections[0].requests) == 8


def test_upstream_connection_is_reused_across_client_connections(proxy):
    for i in range(4):
        conn = proxy.connect()
        assert conn.get(f"/c/{i}").status == 200
        conn.close()
    proxy.blue.wait_requests(4)
    assert proxy.blue.connection_count == 1


def test_pipelined_requests_are_answered_in_order(proxy):
    conn = proxy.connect()
    conn.send(build_request("GET", "/one")
              + build_request("POST", "/two", body=b"payload-two")
              + build_request("GET", "/three"))
    bodies = [conn.read_response().body for _ in range(3)]
    assert bodies == [b"blue GET /one\n", b"blue POST /two\n", b"blue GET /three\n"]
    reqs = proxy.blue.wait_requests(3)
    assert [(r.method, r.target) for r in reqs] == [("GET", "/one"), ("POST", "/two"),
                                                    ("GET", "/three")]
    assert reqs[1].body == b"payload-two"
    assert reqs[0].body == b"" and reqs[2].body == b""
    # The connection still works after the pipeline.
    assert conn.get("/four").body == b"blue GET /four\n"


def test_pipelined_requests_with_slow_first_response_keep_order(proxy):
    def handle(req):
        delay = 0.3 if req.target == "/slow" else 0.0
        return Response(200, body=req.target.encode(), delay=delay)

    proxy.blue.handler = handle
    conn = proxy.connect()
    conn.send(build_request("GET", "/slow") + build_request("GET", "/fast"))
    assert conn.read_response().body == b"/slow"
    assert conn.read_response().body == b"/fast"


def test_hundred_pipelined_requests_in_one_write(proxy):
    conn = proxy.connect()
    conn.send(b"".join(build_request("GET", f"/p{i}") for i in range(100)))
    bodies = [conn.read_response().body for _ in range(100)]
    assert bodies == [f"blue GET /p{i}\n".encode() for i in range(100)]
    assert [r.target for r in proxy.blue.wait_requests(100)] == [f"/p{i}" for i in range(100)]
