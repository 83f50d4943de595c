"""TLS termination on the listener ([listener.tls], docs/tls.md): certificates made at test
time with the openssl CLI, clients from Python's ssl module, curl and openssl s_client."""

from __future__ import annotations

import hashlib
import shutil
import socket
import ssl
import subprocess

import pytest

from admin_helpers import poll
from recording_backend import Response
from test_metrics import parse_exposition
from tls_helpers import TestCA, TlsClientConn, client_context, peer_organization

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


@pytest.fixture
def ca(tmp_path):
    return TestCA(tmp_path / "pki")


def s_client(port: int, *args: str, stdin: bytes = b"") -> str:
    """openssl s_client's whole output (stdout and stderr) for one connection."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
                         input=stdin, capture_output=True, timeout=20)
    return (out.stdout + out.stderr).decode(errors="replace")


def curl(port: int, ca: TestCA, name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["curl", "-sS", "--max-time", "10", "--cacert", str(ca.pem), "--resolve",
         f"{name}:{port}:127.0.0.1", *args, f"https://{name}:{port}/"],
        capture_output=True, text=True, timeout=20)


def test_sni_picks_each_names_certificate(cutover, ca):
    a = ca.issue("a.test", organization="cert A")
    b = ca.issue("b.test", "*.b.test", organization="cert B")
    px = cutover(tls={"certificates": [a.entry(), b.entry()]})
    for name, organization in (("a.test", "cert A"), ("b.test", "cert B"),
                               ("api.b.test", "cert B")):
        conn = TlsClientConn(px.port, ca, name)
        assert conn.organization == organization, name
        assert conn.get("/").status == 200
        conn.close()
        # curl verifies the name against the certificate it got: success means the right one.
        done = curl(px.port, ca, name, "-o", "/dev/null", "-w", "%{http_code} %{http_version}")
        assert done.returncode == 0 and done.stdout == "200 1.1", (name, done.stderr)
    # A name no certificate claims, or no SNI at all, gets the first (default) certificate.
    ctx = client_context(ca)
    ctx.check_hostname = False
    for server_name in ("unknown.test", None):
        with socket.create_connection(("127.0.0.1", px.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
                assert peer_organization(tls) == "cert A", server_name
    assert px.blue.request_count == 6  # three through Python, three through curl


def test_alpn_is_http11_and_tls11_is_refused(cutover, ca):
    a = ca.issue("a.test")
    px = cutover(tls={"certificates": [a.entry()]})
    conn = TlsClientConn(px.port, ca, "a.test", context=client_context(ca, ["h2", "http/1.1"]))
    assert conn.sock.selected_alpn_protocol() == "http/1.1"
    assert conn.sock.version() == "TLSv1.3"
    assert conn.get("/").status == 200
    # A client that speaks only h2 is refused rather than answered in a protocol it did not ask.
    with pytest.raises(ssl.SSLError, match="NO_APPLICATION_PROTOCOL|no application protocol"):
        TlsClientConn(px.port, ca, "a.test", context=client_context(ca, ["h2"]))
    # TLS 1.1 and 1.0: refused with a protocol_version alert (the client's own security level
    # is lowered, or OpenSSL 3 would not even offer them).
    for flag in ("-tls1_1", "-tls1"):
        out = s_client(px.port, flag, "-cipher", "DEFAULT@SECLEVEL=0", "-servername", "a.test")
        assert "alert protocol version" in out or "no protocols available" in out, out
        assert "Cipher is (NONE)" in out, out
    # TLS 1.2 with a forward-secret AEAD cipher, no compression, and no renegotiation.
    out = s_client(px.port, "-tls1_2", "-servername", "a.test", stdin=b"R\n")
    assert "Compression: NONE" in out and "ECDHE-" in out and "GCM" in out, out
    assert "RENEGOTIATING" in out and "no renegotiation" in out, out


def test_weak_tls12_ciphers_are_refused(cutover, ca):
    """testssl-style: only forward-secret AEAD suites on TLS 1.2. Each weak family is offered
    alone (with the client's security level lowered so OpenSSL 3 will offer it at all)."""
    a = ca.issue("a.test")
    px = cutover(tls={"certificates": [a.entry()]})
    for weak in ("AES128-GCM-SHA256",        # RSA key exchange: no forward secrecy
                 "ECDHE-ECDSA-AES128-SHA",   # CBC with SHA-1
                 "ECDHE-ECDSA-AES256-SHA384",  # CBC
                 "DES-CBC3-SHA", "RC4-SHA", "NULL-SHA256", "aNULL", "EXPORT"):
        out = s_client(px.port, "-tls1_2", "-servername", "a.test",
                       "-cipher", f"{weak}:@SECLEVEL=0")
        assert "Cipher is (NONE)" in out or "no cipher match" in out, (weak, out)
    for strong in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                   "ECDHE-ECDSA-CHACHA20-POLY1305"):
        out = s_client(px.port, "-tls1_2", "-servername", "a.test", "-cipher", strong)
        assert f"Cipher is {strong}" in out, (strong, out)


def test_min_version_13_refuses_tls12(cutover, ca):
    a = ca.issue("a.test")
    px = cutover(tls={"certificates": [a.entry()], "min_version": "1.3"})
    out = s_client(px.port, "-tls1_2", "-servername", "a.test")
    assert "alert protocol version" in out, out
    assert TlsClientConn(px.port, ca, "a.test").get("/").status == 200


def test_requests_and_bodies_through_tls(cutover, ca):
    """Keep-alive, pipelining, a large upload and download: bytes intact, and the backend
    hears X-Forwarded-Proto: https."""
    a = ca.issue("a.test")
    px = cutover(tls={"certificates": [a.entry()]})
    big = bytes(range(256)) * (3 * 1024 * 1024 // 256 + 7)  # about 3 MiB
    px.blue.handler = lambda req: Response(
        200, body=big if req.target == "/big" else hashlib.sha256(req.body or b"").digest())
    conn = TlsClientConn(px.port, ca, "a.test")
    for i in range(5):
        assert conn.get(f"/k{i}").status == 200
    resp = conn.get("/big", timeout=30)
    assert resp.status == 200 and resp.body == big
    resp = conn.request("POST", "/up", body=big, timeout=30)
    assert resp.status == 200 and resp.body == hashlib.sha256(big).digest()
    # Three pipelined requests in one write: three answers, in order.
    conn.send(b"".join(b"GET /p%d HTTP/1.1\r\nHost: a.test\r\n\r\n" % i for i in range(3)))
    for _ in range(3):
        assert conn.read_response().status == 200
    assert [r.target for r in px.blue.requests[-3:]] == ["/p0", "/p1", "/p2"]
    assert all(r.header("X-Forwarded-Proto") == "https" for r in px.blue.requests)
    assert len({r.conn_id for r in px.blue.requests}) == 1  # one upstream connection throughout


def test_session_resumption(cutover, ca):
    a = ca.issue("a.test")
    px = cutover(tls={"certificates": [a.entry()]})
    ctx = client_context(ca)
    first = TlsClientConn(px.port, ca, "a.test", context=ctx)
    assert first.get("/").status == 200  # TLS 1.3 tickets arrive after the handshake
    session = first.sock.session
    first.close()
    second = TlsClientConn(px.port, ca, "a.test", context=ctx, session=session)
    assert second.get("/").status == 200
    assert second.sock.session_reused


def test_reload_swaps_the_certificate_for_new_connections_only(cutover, ca):
    old = ca.issue("a.test", organization="old", stem="site")
    px = cutover(admin=True, tls={"certificates": [old.entry()]})
    kept = TlsClientConn(px.port, ca, "a.test")
    assert kept.organization == "old" and kept.get("/").status == 200
    ca.issue("a.test", organization="new", stem="site")  # rewrites the same two files
    assert px.sighup_and_wait() == "applied"
    assert TlsClientConn(px.port, ca, "a.test").organization == "new"
    assert kept.get("/after").status == 200  # the open connection goes on, on its old session
    # The admin API says what is served, and reloads the files on request.
    tls = px.admin().get("/v1/tls").json
    assert tls["enabled"] and tls["certificates"][0]["names"] == ["a.test"]
    assert 28 <= tls["certificates"][0]["days_left"] <= 30
    ca.issue("a.test", organization="newer", stem="site")
    r = px.admin().request("POST", "/v1/tls/reload")
    assert r.status == 200, r
    assert TlsClientConn(px.port, ca, "a.test").organization == "newer"


def test_a_bad_key_changes_nothing(cutover, ca):
    site = ca.issue("a.test", organization="good", stem="site")
    other = ca.issue("b.test", stem="other")
    px = cutover(admin=True, tls={"certificates": [site.entry()]})
    state_before = px.admin().get("/v1/state").json
    site.key.write_bytes(other.key.read_bytes())  # the key no longer matches the certificate
    assert px.sighup_and_wait() == "rejected"
    assert str(site.pem) in px.stderr_text() or str(site.key) in px.stderr_text()
    r = px.admin().request("POST", "/v1/tls/reload")
    assert r.status == 400 and "not replaced" in r.json["error"], r
    assert str(site.key) in r.json["error"] or str(site.pem) in r.json["error"], r
    conn = TlsClientConn(px.port, ca, "a.test")
    assert conn.organization == "good" and conn.get("/").status == 200
    assert px.admin().get("/v1/state").json == state_before
    # Plain garbage in the certificate file: the same.
    site.pem.write_text("not a certificate\n")
    assert px.sighup_and_wait() == "rejected"
    assert TlsClientConn(px.port, ca, "a.test").organization == "good"


def test_bad_certificate_stops_the_start_and_check(cutover, ca, tmp_path):
    a = ca.issue("a.test")
    other = ca.issue("b.test")
    px = cutover(tls={"certificates": [{"cert": str(a.pem), "key": str(other.key)}]},
                 expect_failure=True)
    assert "listener.tls" in px.stderr_text() and str(a.pem) in px.stderr_text(), \
        px.stderr_text()
    from proxy_process import run_cli
    checked = run_cli("check", "--config", str(px.config_path))
    assert checked.returncode == 1 and str(a.pem) in checked.stderr, checked.stderr
    missing = tmp_path / "missing.pem"
    px = cutover(tls={"certificates": [{"cert": str(missing), "key": str(a.key)}]},
                 expect_failure=True)
    assert str(missing) in px.stderr_text(), px.stderr_text()


def test_expiry_metric_and_plain_http_on_the_tls_port(cutover, ca):
    a = ca.issue("a.test", days=10)
    px = cutover(admin=True, tls={"certificates": [a.entry()]})
    samples = parse_exposition(px.admin().get("/metrics").raw.decode())
    # The label is called `name`, like value()'s own parameter: look the series up directly.
    expiry = samples[("cutover_tls_cert_expiry_timestamp_seconds",
                      frozenset({("name", "a.test"), ("listener", "proxy")}))]
    tls = px.admin().get("/v1/tls").json
    assert expiry == tls["certificates"][0]["not_after_unix"]
    assert 9 <= tls["certificates"][0]["days_left"] <= 10
    # Plain HTTP to the TLS port is not a request: the connection ends, nothing is forwarded.
    with socket.create_connection(("127.0.0.1", px.port), timeout=5) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        raw.settimeout(5)
        data = b""
        try:
            while chunk := raw.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
        assert b"HTTP/1.1" not in data
    assert poll(lambda: px.blue.request_count == 0)
    assert px.blue.request_count == 0
