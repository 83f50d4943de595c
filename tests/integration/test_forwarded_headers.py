"""X-Forwarded-For / X-Forwarded-Proto set by the proxy."""


def _xff(req):
    return ", ".join(req.header_all("X-Forwarded-For"))


def test_x_forwarded_for_set_to_client_address(proxy):
    resp = proxy.get("/xff")
    assert resp.status == 200
    [req] = proxy.blue.wait_requests(1)
    assert req.header_all("X-Forwarded-For") == ["127.0.0.1"]
    assert req.header_all("X-Forwarded-Proto") == ["http"]


def test_x_forwarded_for_appends_to_incoming_value(proxy):
    resp = proxy.get("/xff", headers=[("X-Forwarded-For", "10.1.1.1")])
    assert resp.status == 200
    [req] = proxy.blue.wait_requests(1)
    assert _xff(req) == "10.1.1.1, 127.0.0.1"


def test_x_forwarded_for_appends_to_several_incoming_fields(proxy):
    resp = proxy.get("/xff", headers=[("X-Forwarded-For", "10.1.1.1"),
                                      ("X-Forwarded-For", "10.2.2.2, 10.3.3.3")])
    assert resp.status == 200
    [req] = proxy.blue.wait_requests(1)
    assert _xff(req) == "10.1.1.1, 10.2.2.2, 10.3.3.3, 127.0.0.1"


def test_x_forwarded_proto_replaces_incoming_value(proxy):
    resp = proxy.get("/xfp", headers=[("X-Forwarded-Proto", "https")])
    assert resp.status == 200
    [req] = proxy.blue.wait_requests(1)
    assert req.header_all("X-Forwarded-Proto") == ["http"]


def test_forwarded_headers_can_be_disabled(cutover):
    px = cutover(headers={"x_forwarded_for": False, "x_forwarded_proto": False})
    resp = px.get("/plain")
    assert resp.status == 200
    [req] = px.blue.wait_requests(1)
    assert not req.has("X-Forwarded-For"), req.headers
    assert not req.has("X-Forwarded-Proto"), req.headers


def test_x_forwarded_for_on_every_keep_alive_request(proxy):
    conn = proxy.connect()
    for i in range(3):
        assert conn.get(f"/k{i}", headers=[("X-Forwarded-For", f"10.0.0.{i}")]).status == 200
    reqs = proxy.blue.wait_requests(3)
    assert [_xff(r) for r in reqs] == [f"10.0.0.{i}, 127.0.0.1" for i in range(3)]
