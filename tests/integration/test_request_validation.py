"""Request line and Host validation (RFC 9112 sections 3 and 3.2, RFC 9110 section 9.3.6)."""

import pytest


def _assert_rejected(px, conn, statuses):
    resp = conn.read_response(timeout=5)
    assert resp.status in statuses, resp
    assert resp.body
    conn.assert_closed(5)
    for backend in (px.blue, px.green):  # nothing forwarded
        assert all(c.raw_len == 0 for c in backend.connections), \
            [bytes(c.raw[:300]) for c in backend.connections]
    return resp


def test_connect_gets_405(proxy):
    conn = proxy.connect()
    conn.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    resp = _assert_rejected(proxy, conn, (405,))
    allow = {m.strip().upper() for m in (resp.header("Allow") or "").split(",")}
    assert "CONNECT" not in allow


@pytest.mark.parametrize("line", [
    b"G@T / HTTP/1.1",
    b"GET / HTTP/1.1 extra",
    b"GET /a b HTTP/1.1",
    b"GET / HTTZ/1.1",
    b"GET / HTTP/1.x",
    b"GET / HTTP/11",
    b"GET / http/1.1",
], ids=["bad_method", "extra_token", "space_in_target", "bad_protocol",
        "bad_minor_version", "no_dot", "lowercase_protocol"])
def test_invalid_request_line_gets_400(proxy, line):
    conn = proxy.connect()
    conn.send(line + b"\r\nHost: x\r\n\r\n")
    _assert_rejected(proxy, conn, (400,))


def test_unsupported_http_version_rejected(proxy):
    conn = proxy.connect()
    conn.send(b"GET / HTTP/3.0\r\nHost: x\r\n\r\n")
    _assert_rejected(proxy, conn, (400, 505))


def test_missing_host_on_http11_gets_400(proxy):
    conn = proxy.connect()
    conn.send(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n")
    _assert_rejected(proxy, conn, (400,))


def test_two_host_fields_get_400(proxy):
    conn = proxy.connect()
    conn.send(b"GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n")
    _assert_rejected(proxy, conn, (400,))


def test_valid_request_after_rejections_on_new_connection_still_served(proxy):
    bad = proxy.connect()
    bad.send(b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert bad.read_response(timeout=5).status == 400
    resp = proxy.get("/fine")
    assert resp.status == 200 and resp.body == b"blue GET /fine\n"
    assert [r.target for r in proxy.blue.wait_requests(1)] == ["/fine"]
