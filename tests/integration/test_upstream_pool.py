"""Pooled upstream connections closed by the backend are replaced transparently."""

from recording_backend import Response


def test_request_succeeds_after_backend_closed_idle_pooled_connection(proxy):
    conn = proxy.connect()
    assert conn.get("/first").body == b"blue GET /first\n"
    proxy.blue.wait_requests(1)
    assert proxy.blue.wait_for(lambda: proxy.blue.connections[0].idle, 5), \
        "the upstream connection was not kept alive after the first response"
    assert proxy.blue.close_idle_connections() == 1
    assert proxy.blue.wait_for(lambda: proxy.blue.connections[0].closed.is_set(), 5)

    resp = conn.get("/second")
    assert resp.status == 200 and resp.body == b"blue GET /second\n"
    reqs = proxy.blue.wait_requests(2)
    assert [r.target for r in reqs] == ["/first", "/second"]
    assert reqs[1].conn_id == 1, "the second request went over a new upstream connection"
    assert proxy.blue.connection_count == 2


def test_repeated_backend_idle_closes_never_fail_a_request(proxy):
    """Each round closes the pooled connection right before the next request, so the proxy
    may not yet have seen the FIN: it must retry a request that got no bytes back."""
    conn = proxy.connect()
    for i in range(10):
        resp = conn.get(f"/r{i}")
        assert resp.status == 200 and resp.body == f"blue GET /r{i}\n".encode(), resp
        assert proxy.blue.wait_for(
            lambda: all(c.idle or c.closed.is_set() for c in proxy.blue.connections), 5)
        proxy.blue.close_idle_connections()
    assert [r.target for r in proxy.blue.wait_requests(10)] == [f"/r{i}" for i in range(10)]


def test_backend_closing_after_each_response_is_handled(proxy):
    proxy.blue.handler = lambda req: Response(200, body=req.target.encode(), close=True)
    conn = proxy.connect()
    for i in range(5):
        assert conn.get(f"/c{i}").body == f"/c{i}".encode()
    proxy.blue.wait_requests(5)
    assert proxy.blue.connection_count == 5
