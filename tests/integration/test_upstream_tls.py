"""TLS to the upstreams ([pools.NAME.tls], docs/tls.md "TLS to the upstreams"): backends that
speak TLS with certificates made at test time by the openssl CLI, the proxy verifying them
(CA bundle, server name or IP SAN), presenting a client certificate (mTLS), keeping its TLS
connections alive and resuming sessions on new ones, and refusing what does not verify with
a 502, a counted `tls` error and a log line that says why."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
import time

import pytest

from admin_helpers import poll
from http_client import chunked
from proxy_process import run_cli
from recording_backend import Response, Upgrade
from test_metrics import parse_exposition
from tls_helpers import TestCA, TlsClientConn, server_context

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")

NAME = "green.test"


@pytest.fixture
def ca(tmp_path):
    return TestCA(tmp_path / "pki")


@pytest.fixture
def tls_backend(backends, ca):
    """tls_backend(*names, issuer=ca, client_ca=None, name="green") -> a TLS RecordingBackend
    presenting a certificate for `names` (default: green.test) issued by `issuer`."""

    def start(*names, issuer=None, client_ca=None, name="green", **kw):
        cert = (issuer or ca).issue(*(names or (NAME,)))
        return backends(name, ssl_context=server_context(cert, client_ca), **kw)

    return start


def tls_pool(backend, ca=None, **tls):
    """[pools.green] for `backend` with [pools.green.tls]: ca_file = ca's bundle, then `tls`.
    failover = "503" keeps a failed request from being served by blue instead."""
    if ca is not None:
        tls = {"ca_file": str(ca.pem), **tls}
    return {"endpoints": [backend.address], "failover": "503", "tls": tls}


def start_green(cutover, backends, green_pool, **kw):
    """A proxy sending everything to the TLS green pool; blue is a plain, unused backend."""
    blue = backends("blue")
    return cutover(pools={"blue": [blue.address], "green": green_pool},
                   weights={"blue": 0, "green": 100}, **kw)


def upstream_errors(px, backend, kind: str) -> float:
    samples = parse_exposition(px.admin().get("/metrics").raw.decode())
    return samples.get(("cutover_upstream_errors_total",
                        frozenset({"pool": "green", "endpoint": backend.address,
                                   "kind": kind}.items())), 0.0)


def wait_for_log(px, text: str) -> str:
    assert poll(lambda: text in px.stderr_text()), \
        f"{text!r} never logged:\n{px.stderr_text()[-4000:]}"
    return px.stderr_text()


def test_verified_pool_forwards_over_one_kept_alive_connection(cutover, backends, tls_backend, ca):
    green = tls_backend()
    px = start_green(cutover, backends, tls_pool(green, ca, server_name=NAME))
    conn = px.connect()
    for i in range(5):
        resp = conn.get(f"/r{i}")
        assert resp.status == 200 and resp.body == f"green GET /r{i}\n".encode()
    # A second client connection takes the same pooled upstream connection.
    assert px.get("/other").status == 200
    reqs = green.wait_requests(6)
    assert [r.target for r in reqs] == [f"/r{i}" for i in range(5)] + ["/other"]
    assert reqs[0].header("X-Forwarded-Proto") == "http"  # the client's scheme, not ours
    assert green.connection_count == 1  # one TLS connection, kept alive throughout
    [rec] = green.connections
    assert rec.tls_version == "TLSv1.3" and rec.session_reused is False
    assert "pools.green: TLS to the endpoints, verified against" in px.stderr_text()


def test_endpoint_address_is_verified_against_ip_sans(cutover, backends, tls_backend, ca):
    """Without server_name the endpoint's address is the name: a certificate for the IP
    verifies, one for a DNS name only does not."""
    by_ip = tls_backend("127.0.0.1")
    px = start_green(cutover, backends, tls_pool(by_ip, ca))
    assert px.get("/ip").status == 200
    by_name = tls_backend(NAME, name="green2")
    px2 = start_green(cutover, backends, tls_pool(by_name, ca))
    resp = px2.get("/ip")
    assert resp.status == 502
    log = wait_for_log(px2, "IP address mismatch")
    assert f"upstream {by_name.address}: TLS handshake failed" in log
    assert by_name.request_count == 0


def test_wrong_server_name_is_a_502_counted_and_logged(cutover, backends, tls_backend, ca):
    green = tls_backend()
    px = start_green(cutover, backends, tls_pool(green, ca, server_name="blue.test"),
                     admin=True)
    for _ in range(3):
        resp = px.get("/x")
        assert resp.status == 502, resp
        assert b"upstream TLS failed" in resp.body
    assert upstream_errors(px, green, "tls") == 3
    assert upstream_errors(px, green, "connect_refused") == 0
    log = wait_for_log(px, "hostname mismatch")
    line = next(l for l in log.splitlines() if "hostname mismatch" in l)
    assert "WARN" in line.upper() and green.address in line and '"blue.test"' in line, line
    # The backend saw handshakes it had to abort (our alert), never a request.
    assert green.request_count == 0
    assert green.wait_for(lambda: all(c.closed.is_set() for c in green.connections))
    assert green.connection_count == 3


def test_failed_handshakes_eject_the_endpoint_like_failed_connects(cutover, backends,
                                                                   tls_backend, ca):
    """Each failed exchange counts once toward consecutive_failures: with 2, the second 502
    ejects the endpoint and the third request is refused without a handshake."""
    green = tls_backend()
    pool = {**tls_pool(green, ca, server_name="blue.test"),
            "outlier": {"consecutive_failures": 2, "base_ejection": "30s"}}
    px = start_green(cutover, backends, pool)
    assert [px.get(f"/{i}").status for i in range(3)] == [502, 502, 503]
    assert green.connection_count == 2
    wait_for_log(px, f"endpoint {green.address} ejected")


def test_unknown_ca_is_a_502(cutover, backends, tls_backend, ca, tmp_path):
    other = TestCA(tmp_path / "other-pki", name="someone else's CA")
    green = tls_backend(issuer=other)
    px = start_green(cutover, backends, tls_pool(green, ca, server_name=NAME), admin=True)
    assert px.get("/x").status == 502
    wait_for_log(px, "certificate verify failed")
    assert upstream_errors(px, green, "tls") == 1
    assert green.request_count == 0


def test_plain_http_backend_in_a_tls_pool_is_a_502(cutover, backends, ca):
    """A backend that speaks plain HTTP answers the ClientHello like any garbage, with a 400,
    which is no TLS record."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = "127.0.0.1:%d" % listener.getsockname()[1]

        def answer_400():
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")

        server = threading.Thread(target=answer_400, daemon=True)
        server.start()
        px = start_green(cutover, backends,
                         {"endpoints": [address], "failover": "503",
                          "tls": {"ca_file": str(ca.pem), "server_name": NAME}}, admin=True)
        assert px.get("/x").status == 502
        server.join(5)
        assert not server.is_alive()
    log = wait_for_log(px, f"upstream {address}: TLS handshake failed")
    assert "wrong version number" in log or "packet length too long" in log, log
    samples = parse_exposition(px.admin().get("/metrics").raw.decode())
    assert samples[("cutover_upstream_errors_total", frozenset(
        {"pool": "green", "endpoint": address, "kind": "tls"}.items()))] == 1


def test_handshake_within_upstream_connect(cutover, ca):
    """A backend that accepts TCP but never answers the ClientHello: 504 after
    timeouts.upstream_connect, which covers the handshake."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts; nobody ever reads
        address = "127.0.0.1:%d" % silent.getsockname()[1]
        # Blue has no endpoint, so there is nowhere to fail over to: the 504 is green's.
        px = cutover(pools={"blue": [], "green": {
                         "endpoints": [address],
                         "tls": {"ca_file": str(ca.pem), "server_name": NAME}}},
                     weights={"blue": 0, "green": 100}, timeouts={"upstream_connect": "300ms"},
                     admin=True)
        started = time.monotonic()
        assert px.get("/x").status == 504
        assert time.monotonic() - started >= 0.3
        wait_for_log(px, f"upstream {address}: TLS handshake timed out")
        samples = parse_exposition(px.admin().get("/metrics").raw.decode())
        assert samples[("cutover_upstream_errors_total", frozenset(
            {"pool": "green", "endpoint": address, "kind": "connect_timeout"}.items()))] == 1


def test_system_store_does_not_trust_a_private_ca(cutover, backends, tls_backend):
    """No ca_file: the system store, which has never heard of the test CA."""
    green = tls_backend()
    px = start_green(cutover, backends, tls_pool(green, server_name=NAME))
    assert px.get("/x").status == 502
    wait_for_log(px, "certificate verify failed")
    assert "verified against the system store" in px.stderr_text()


def test_verify_false_forwards_with_a_warning(cutover, backends, tls_backend, tmp_path):
    other = TestCA(tmp_path / "other-pki", name="someone else's CA")
    green = tls_backend("anything.test", issuer=other)
    px = start_green(cutover, backends, tls_pool(green, verify=False))
    assert px.get("/x").status == 200
    assert green.wait_requests(1)[0].target == "/x"
    line = next(l for l in px.stderr_text().splitlines() if "verify = false" in l)
    assert "WARN" in line.upper() and "NOT checked" in line, line
    # `cutover check` says it too, and still accepts the file.
    out = run_cli("check", "--config", str(px.config_path))
    assert out.returncode == 0 and "verify = false" in out.stderr, out


def test_client_certificate_for_a_backend_that_requires_one(cutover, backends, tls_backend, ca,
                                                            tmp_path):
    clients = TestCA(tmp_path / "client-pki", name="client CA")
    client = clients.issue("cutover.client", organization="the proxy")
    green = tls_backend(client_ca=clients)
    px = start_green(cutover, backends,
                     tls_pool(green, ca, server_name=NAME, cert=str(client.pem),
                              key=str(client.key)))
    assert px.get("/mtls").status == 200
    assert green.wait_requests(1)[0].target == "/mtls"
    subject = dict(rdn[0] for rdn in green.connections[0].peer_cert["subject"])
    assert subject["commonName"] == "cutover.client"
    assert "client certificate " + str(client.pem) in px.stderr_text()


def test_no_client_certificate_for_a_backend_that_requires_one(cutover, backends, tls_backend,
                                                               ca, tmp_path):
    clients = TestCA(tmp_path / "client-pki", name="client CA")
    green = tls_backend(client_ca=clients)
    px = start_green(cutover, backends, tls_pool(green, ca, server_name=NAME), admin=True)
    assert px.get("/mtls").status == 502
    assert green.request_count == 0
    assert green.wait_for(lambda: green.connections and green.connections[0].tls_error)
    # With TLS 1.3 the backend refuses the certificate after our side finished the handshake:
    # its alert (or its reset) ends the exchange, before any response.
    assert poll(lambda: upstream_errors(px, green, "tls") + upstream_errors(px, green, "reset")
                == 1)


def test_new_connections_resume_the_session(cutover, backends, tls_backend, ca):
    green = tls_backend()
    px = start_green(cutover, backends, tls_pool(green, ca, server_name=NAME))
    assert px.get("/first").status == 200
    assert green.wait_for(lambda: green.connections and green.connections[0].idle)
    # The backend closes the idle connection; the next request needs a new one, which resumes
    # the session the first handshake left in the pool's cache.
    assert green.close_idle_connections() == 1
    assert green.wait_for(lambda: green.connections[0].closed.is_set())
    assert px.get("/second").status == 200
    assert green.connection_count == 2, [c.error for c in green.connections]
    first, second = green.connections
    assert first.session_reused is False
    assert second.session_reused is True
    assert [r.target for r in green.requests] == ["/first", "/second"]


def test_pooled_connection_the_backend_closes_with_close_notify_is_dropped(cutover, backends,
                                                                           ca):
    """A backend that ends an idle keep-alive connection with close_notify (then its TCP
    close): the proxy drops the pooled connection at once, answering with its own."""
    cert = ca.issue(NAME)
    context = server_context(cert)
    listener = socket.create_server(("127.0.0.1", 0))
    address = "127.0.0.1:%d" % listener.getsockname()[1]
    answered = threading.Event()
    outcome = {}

    def serve_one_then_close_notify():
        raw, _ = listener.accept()
        with context.wrap_socket(raw, server_side=True) as tls:
            head = b""
            while b"\r\n\r\n" not in head:
                head += tls.recv(4096)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            answered.wait(10)
            plain = tls.unwrap()  # close_notify, then the proxy's in return
            outcome["proxy_closed"] = plain.recv(1) == b""
            plain.close()

    server = threading.Thread(target=serve_one_then_close_notify, daemon=True)
    server.start()
    with listener:
        px = start_green(cutover, backends,
                         {"endpoints": [address], "failover": "503",
                          "tls": {"ca_file": str(ca.pem), "server_name": NAME}}, admin=True)
        assert px.get("/one").body == b"ok"

        def upstream_connections() -> float:
            samples = parse_exposition(px.admin().get("/metrics").raw.decode())
            return samples[("cutover_upstream_connections_active",
                            frozenset({"pool": "green"}.items()))]

        assert poll(lambda: upstream_connections() == 1)  # pooled, idle
        answered.set()
        assert poll(lambda: upstream_connections() == 0), "the pooled connection was kept"
        server.join(10)
        assert outcome == {"proxy_closed": True}


def test_large_bodies_both_ways(cutover, backends, tls_backend, ca):
    green = tls_backend()
    big = os.urandom(5 * 1024 * 1024 + 7)
    green.handler = lambda req: (
        Response(200, body=big) if req.target == "/down"
        else Response(200, body=big, framing="chunked", chunk_size=100_000)
        if req.target == "/down-chunked"
        else Response(200, body=big[:300_000], framing="close") if req.target == "/down-close"
        else Response(200, body=req.body_sha256.encode()))
    px = start_green(cutover, backends, tls_pool(green, ca, server_name=NAME),
                     limits={"body_bytes": 0})
    conn = px.connect(timeout=30)
    for target in ("/down", "/down-chunked"):
        resp = conn.get(target, timeout=30)
        assert resp.status == 200 and hashlib.sha256(resp.body).digest() == \
            hashlib.sha256(big).digest(), target
    resp = conn.request("POST", "/up", body=big, timeout=30)
    assert resp.status == 200 and resp.body == hashlib.sha256(big).hexdigest().encode()
    resp = conn.request("POST", "/up-chunked", body=chunked(big, 100_000), timeout=30,
                        headers=[("Transfer-Encoding", "chunked")])
    assert resp.status == 200 and resp.body == hashlib.sha256(big).hexdigest().encode()
    # A close-delimited body ends with the backend's close (no close_notify from Python).
    resp = px.get("/down-close", timeout=30)
    assert resp.status == 200 and resp.body == big[:300_000]
    sizes = [r.body_len for r in green.requests if r.method == "POST"]
    assert sizes == [len(big), len(big)]


def test_upgrade_tunnel_through_upstream_tls(cutover, backends, tls_backend, ca):
    green = tls_backend()
    green.handler = lambda req: Upgrade(greeting=b"hello")
    px = start_green(cutover, backends, tls_pool(green, ca, server_name=NAME))
    conn = px.connect()
    conn.send(b"GET /ws HTTP/1.1\r\nHost: chat.test\r\nConnection: Upgrade\r\n"
              b"Upgrade: websocket\r\n\r\n")
    assert conn.read_response(timeout=5).status == 101
    payload = os.urandom(200_000)
    conn.send(payload)
    expected = b"hello" + payload
    deadline = time.monotonic() + 10
    while len(conn.buf) < len(expected):
        assert conn._fill(deadline), f"tunnel closed after {len(conn.buf)} bytes"
    assert bytes(conn.buf) == expected
    assert green.connections[0].tunnel_bytes == len(payload)


def test_listener_tls_and_upstream_tls_together(cutover, backends, tls_backend, ca):
    site = ca.issue("site.test")
    green = tls_backend()
    px = start_green(cutover, backends, tls_pool(green, ca, server_name=NAME),
                     tls={"certificates": [site.entry()]})
    conn = TlsClientConn(px.port, ca, "site.test")
    for i in range(3):
        assert conn.get(f"/both{i}").status == 200
    reqs = green.wait_requests(3)
    assert all(r.header("X-Forwarded-Proto") == "https" for r in reqs)
    assert green.connection_count == 1


def test_reload_with_a_broken_ca_file_changes_nothing(cutover, backends, tls_backend, ca,
                                                      tmp_path):
    green = tls_backend()
    px = start_green(cutover, backends, tls_pool(green, ca, server_name=NAME))
    assert px.get("/before").status == 200
    broken = tmp_path / "broken-ca.pem"
    broken.write_text("not a certificate\n")
    pools = dict(px.config_kw["pools"])
    pools["green"] = tls_pool(green, server_name=NAME, ca_file=str(broken))
    px.reconfigure(pools=pools)
    assert px.sighup_and_wait() == "rejected"
    line = next(l for l in px.stderr_text().splitlines() if "keeping the running config" in l)
    assert "pools.green.tls" in line and str(broken) in line, line
    assert px.get("/after").status == 200  # the running pool, CA and connection as before
    assert green.connection_count == 1
    # `cutover check` and a fresh start refuse the same file with the same words.
    out = run_cli("check", "--config", str(px.config_path))
    assert out.returncode == 1 and str(broken) in out.stderr and "pools.green.tls" in out.stderr
    refused = cutover(pools=px.config_kw["pools"], weights={"blue": 0, "green": 100},
                      expect_failure=True)
    assert str(broken) in refused.stderr_text()


def test_reload_with_new_settings_retires_pooled_connections(cutover, backends, tls_backend, ca):
    green = tls_backend()
    px = start_green(cutover, backends, tls_pool(green, ca, server_name=NAME))
    assert px.get("/one").status == 200
    pools = dict(px.config_kw["pools"])
    pools["green"] = tls_pool(green, ca, server_name="blue.test")
    px.reload(pools=pools)
    # The idle connection made under the old name is not reused: the new name is checked.
    assert px.get("/two").status == 502
    assert green.request_count == 1


def test_health_checks_speak_tls(cutover, backends, tls_backend, ca):
    good = tls_backend()
    check = {"interval": "100ms", "timeout": "100ms", "healthy_threshold": 1,
             "unhealthy_threshold": 1}
    px = start_green(cutover, backends,
                     {**tls_pool(good, ca, server_name=NAME), "health_check": check},
                     admin=True)
    assert good.wait_for(lambda: any(r.target == "/healthz" for r in good.requests))
    probe = next(r for r in good.requests if r.target == "/healthz")
    assert probe.header("Host") == NAME  # the virtual host the certificate names
    assert px.get("/x").status == 200  # still healthy: the check verified it over TLS

    def health(proxy) -> bool:
        pools = proxy.admin().get("/v1/health").json["pools"]
        return next(p for p in pools if p["name"] == "green")["endpoints"][0]["healthy"]

    assert health(px) is True
    # A check that cannot verify the endpoint fails it like a refused connect.
    bad = tls_backend(name="green2")
    px2 = start_green(cutover, backends,
                      {**tls_pool(bad, ca, server_name="blue.test"), "health_check": check},
                      admin=True)
    assert poll(lambda: health(px2) is False)
    wait_for_log(px2, "hostname mismatch")
    assert bad.request_count == 0
