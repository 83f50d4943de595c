"""Clients that go away mid-exchange: the upstream side is cleaned up and no stale bytes
reach the next client."""

from http_client import build_request
from recording_backend import Response


def test_client_abort_mid_upload_closes_upstream_and_proxy_keeps_serving(proxy):
    conn = proxy.connect()
    conn.send(build_request("POST", "/upload", headers=[("Content-Length", "1000000")])
              + b"x" * 10_000)
    assert proxy.blue.wait_for(lambda: proxy.blue.connection_count == 1, 5), \
        "the upload never started upstream"
    conn.close()
    # The half-sent request can never complete: the proxy must drop its upstream connection.
    assert proxy.blue.wait_for(lambda: proxy.blue.connections[0].closed.is_set(), 5), \
        "upstream connection kept open after the client vanished mid-body"
    assert proxy.blue.request_count == 0
    resp = proxy.get("/after")
    assert resp.status == 200 and resp.body == b"blue GET /after\n"


def test_client_gone_before_response_does_not_leak_it_to_the_next_client(proxy):
    def handle(req):
        if req.target == "/slow":
            return Response(200, body=b"response for the client that left", delay=0.5)
        return Response(200, body=b"response for " + req.target.encode())

    proxy.blue.handler = handle
    gone = proxy.connect()
    gone.send(build_request("GET", "/slow"))
    proxy.blue.wait_requests(1)
    gone.close()
    for i in range(3):
        resp = proxy.get(f"/next{i}", timeout=5)
        assert resp.status == 200
        assert resp.body == f"response for /next{i}".encode(), resp
    targets = [r.target for r in proxy.blue.wait_requests(4)]
    assert targets[0] == "/slow" and sorted(targets[1:]) == ["/next0", "/next1", "/next2"]
