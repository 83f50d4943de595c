"""Request limits: URI, header bytes, header count, body bytes (DESIGN section 7)."""

import time

import pytest

from http_client import ConnectionClosed, build_request, chunked

LIMITS = {"uri_bytes": 200, "header_bytes": 2048, "header_count": 10, "body_bytes": 1000}


@pytest.fixture
def limited(cutover):
    return cutover(limits=LIMITS)


def _assert_rejected(px, conn, status):
    resp = conn.read_response(timeout=5)
    assert resp.status == status, resp
    assert resp.body and len(resp.body) < 1024, f"expected a short reason, got {resp.body!r}"
    assert resp.header("Content-Length") == str(len(resp.body)) or resp.framing == "chunked"
    conn.assert_closed(5)
    assert all(c.raw_len == 0 for c in px.blue.connections), "the request was forwarded"
    return resp


def test_uri_too_long_gives_414(limited):
    conn = limited.connect()
    conn.send(build_request("GET", "/" + "u" * 400))
    _assert_rejected(limited, conn, 414)


def test_headers_too_large_give_431(limited):
    conn = limited.connect()
    conn.send(build_request("GET", "/", headers=[("X-Big", "b" * 4000)]))
    _assert_rejected(limited, conn, 431)


def test_too_many_headers_give_431(limited):
    conn = limited.connect()
    conn.send(build_request("GET", "/", headers=[(f"X-H{i}", "v") for i in range(15)]))
    _assert_rejected(limited, conn, 431)


def test_content_length_over_body_limit_gives_413(limited):
    conn = limited.connect()
    conn.send(build_request("POST", "/", body=b"z" * 1001))
    _assert_rejected(limited, conn, 413)


def test_requests_within_limits_pass(limited):
    conn = limited.connect()
    resp = conn.request("POST", "/" + "u" * 150,
                        headers=[(f"X-H{i}", "v" * 100) for i in range(6)], body=b"y" * 1000)
    assert resp.status == 200
    [req] = limited.blue.wait_requests(1)
    assert req.target == "/" + "u" * 150
    assert req.body == b"y" * 1000
    assert all(req.header(f"X-H{i}") == "v" * 100 for i in range(6))


def test_chunked_body_over_limit_is_not_forwarded_whole(limited):
    """The chunked body's size is known only while streaming: the proxy answers 413 or,
    once the head is upstream, aborts; the backend never gets a complete oversize body."""
    conn = limited.connect()
    conn.send(build_request("POST", "/chunks", headers=[("Transfer-Encoding", "chunked")])
              + chunked(b"c" * 5000, 500))
    data, closed = conn.read_until_close(5)
    assert closed, f"connection left open after an oversize body: {data[:200]!r}"
    assert data.startswith(b"HTTP/1.1 413") or data == b"", data[:200]
    assert not any(r.body_len > LIMITS["body_bytes"] for r in limited.blue.requests)


def test_connection_limit_per_worker(cutover):
    px = cutover(limits={"connections": 2})
    first = px.connect()
    assert first.get("/1").status == 200
    # The fixture's readiness probe may still count until the proxy has seen it close.
    second = _connect_served(px, "/2")
    assert second is not None, "a second connection was never served with a limit of 2"
    third = px.connect()  # the kernel accepts; the proxy must shed it
    try:
        third.send(build_request("GET", "/3"))
        data, closed = third.read_until_close(5)
    except (ConnectionError, OSError):
        data, closed = b"", True
    assert closed, f"a connection over the limit was kept: {data[:200]!r}"
    assert data == b"" or data.startswith(b"HTTP/1.1 503"), data[:200]
    assert "/3" not in [r.target for r in px.blue.requests]
    # Below the limit again, new connections are served.
    first.close()
    assert _connect_served(px, "/4") is not None, "no connection served after one closed"
    assert second.get("/5").status == 200


def _connect_served(px, target, timeout=3.0):
    """A new connection on which a GET was answered 200, retried while the proxy sheds
    connections (it may not have processed a close yet); None if none within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = px.connect()
        try:
            if conn.get(target, timeout=2).status == 200:
                return conn
        except (ConnectionClosed, ConnectionError):
            pass
        conn.close()
        time.sleep(0.02)  # poll interval
    return None
