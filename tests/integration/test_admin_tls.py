"""The admin API over TLS ([admin.tls], docs/tls.md "Admin over TLS"): HTTPS with bearer
tokens, client certificates mapped to roles (docs/admin-api.md "Access control"), a missing or
foreign client certificate refused in the handshake, certificates reloaded with SIGHUP, their
expiry in /v1/tls and the metric, and `cutover ctl` over https (docs/ctl.md)."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from admin_helpers import audit_file_entries, write_tokens_file
from proxy_process import binary_path
from test_metrics import parse_exposition
from tls_helpers import Cert, TestCA

OK, REFUSED, USAGE, CONFLICT, UNAUTHORISED, UNREACHABLE = 0, 1, 2, 3, 4, 5
ROLES = {"ops-oncall": "operator", "sre-lead": "admin", "grafana": "viewer"}


@dataclass
class Pki:
    server_ca: TestCA  # signs the admin listener's certificate
    client_ca: TestCA  # signs the client certificates the admin listener trusts
    other_ca: TestCA  # signs certificates the admin listener must refuse
    server: Cert  # admin.test and 127.0.0.1
    clients: dict  # CN -> Cert signed by client_ca: the three in ROLES, and "intruder"
    foreign: Cert  # CN ops-oncall, signed by other_ca
    tokens: dict  # role -> bearer token
    tokens_file: Path

    def context(self, client: Optional[str] = None, cert: Optional[Cert] = None,
                max_tls12: bool = False) -> ssl.SSLContext:
        """Verifies the admin listener against server_ca; presents clients[client] or cert."""
        ctx = ssl.create_default_context(cafile=str(self.server_ca.pem))
        cert = cert or (self.clients[client] if client else None)
        if cert is not None:
            ctx.load_cert_chain(str(cert.pem), str(cert.key))
        if max_tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        return ctx


@pytest.fixture
def pki(tmp_path) -> Pki:
    server_ca = TestCA(tmp_path / "server-ca", "admin server CA")
    client_ca = TestCA(tmp_path / "client-ca", "admin clients CA")
    other_ca = TestCA(tmp_path / "other-ca", "some other CA")
    tokens = {role: f"{role}-{secrets.token_hex(16)}" for role in ("viewer", "operator", "admin")}
    tokens_file = write_tokens_file(tmp_path / "tokens.toml", [
        ("dash", "viewer", tokens["viewer"]), ("ci-bot", "operator", tokens["operator"]),
        ("root-ops", "admin", tokens["admin"])])
    return Pki(server_ca=server_ca, client_ca=client_ca, other_ca=other_ca,
               server=server_ca.issue("admin.test", ips=("127.0.0.1",), stem="admin"),
               clients={cn: client_ca.issue(cn) for cn in [*ROLES, "intruder"]},
               foreign=other_ca.issue("ops-oncall"), tokens=tokens, tokens_file=tokens_file)


def admin_tls(pki: Pki, client_certificates: Optional[str] = None, tokens: bool = True,
              **tls) -> dict:
    """[admin] keys with a TCP listener over TLS; client_certificates "required" or
    "optional" asks for client certificates signed by pki.client_ca, mapped by ROLES."""
    tls = {"certificates": [pki.server.entry()], **tls}
    if client_certificates:
        tls["client_ca_file"] = str(pki.client_ca.pem)
        tls["require_client_certificate"] = client_certificates == "required"
        tls["client_roles"] = ROLES
    admin = {"address": True, "tls": tls}
    if tokens:
        admin["tokens_file"] = str(pki.tokens_file)
    return admin


def refused(px, ctx: ssl.SSLContext) -> str:
    """The error of one HTTPS call that must fail: in the handshake (TLS 1.2), or, since a TLS
    1.3 client finishes before the server has checked its certificate, on its first read."""
    conn = http.client.HTTPSConnection("127.0.0.1", px.admin_port, timeout=10, context=ctx)
    try:
        conn.request("GET", "/v1/state", headers={"Connection": "close"})
        resp = conn.getresponse()
        raise AssertionError(f"answered {resp.status} {resp.read()[:200]!r}")
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError,
            http.client.RemoteDisconnected) as e:
        return str(e)
    finally:
        conn.close()


def plain_http_answer(port: int) -> bytes:
    """What a plain-HTTP request to a TLS port gets back, until the server closes."""
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"GET /v1/state HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            while chunk := raw.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
    return data


def ctl(px, pki: Pki, *args: str, client: Optional[str] = "ops-oncall",
        env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """`cutover ctl --url https://127.0.0.1:PORT --cacert ... [--cert ... --key ...] ARGS`."""
    flags = ["--url", f"https://127.0.0.1:{px.admin_port}", "--cacert", str(pki.server_ca.pem)]
    if client:
        flags += ["--cert", str(pki.clients[client].pem), "--key", str(pki.clients[client].key)]
    return ctl_raw(*flags, *args, env=env)


def ctl_raw(*args: str, env: Optional[dict] = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CUTOVER_")}
    full_env.update(env or {})
    return subprocess.run([str(binary_path()), "ctl", *args], capture_output=True, text=True,
                          timeout=30, env=full_env, stdin=subprocess.DEVNULL)


# --- server certificate and bearer tokens ----------------------------------------------------


def test_https_with_bearer_tokens(cutover, pki):
    px = cutover(admin=admin_tls(pki))
    ctx = pki.context()
    viewer = px.admin(token=pki.tokens["viewer"], ssl_context=ctx)
    assert viewer.get("/v1/state").status == 200
    assert viewer.put_weights({"blue": 50, "green": 50}).status == 403
    assert px.admin(ssl_context=ctx).get("/v1/state").status == 401
    operator = px.admin(token=pki.tokens["operator"], ssl_context=ctx, keep_alive=True)
    with operator:
        assert operator.put_weights({"blue": 70, "green": 30}).status == 200
        assert operator.get("/v1/state").json["weights"] == {"blue": 70, "green": 30}
        assert operator.connections_opened == 1  # keep-alive over TLS
    assert px.admin().audit(limit=1)[0]["actor"] == "ci-bot"
    # The Unix socket is unchanged, and open probes need nothing.
    assert px.admin().state()["weights"] == {"blue": 70, "green": 30}
    assert px.admin(ssl_context=ctx).get("/healthz").status == 200


def test_plain_http_to_the_tls_admin_port_gets_no_answer(cutover, pki):
    px = cutover(admin=admin_tls(pki))
    assert b"HTTP/1.1" not in plain_http_answer(px.admin_port)
    assert "admin: TLS from 127.0.0.1:" in px.stderr_text()
    # An HTTPS client that does not trust the server's CA gives up in the handshake.
    error = refused(px, ssl.create_default_context(cafile=str(pki.other_ca.pem)))
    assert "CERTIFICATE_VERIFY_FAILED" in error, error
    # Still serving.
    assert px.admin(token=pki.tokens["viewer"], ssl_context=pki.context()).get(
        "/v1/state").status == 200


def test_large_answers_and_pipelining_over_tls(cutover, pki):
    px = cutover(admin=admin_tls(pki))
    token = pki.tokens["viewer"]
    big = px.admin(token=token, ssl_context=pki.context()).get("/metrics")
    assert big.status == 200 and b"cutover_build_info" in big.raw
    # Two requests in one write, answered in order, then the close the second asked for.
    with socket.create_connection(("127.0.0.1", px.admin_port), timeout=5) as raw:
        with pki.context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            head = f"Host: x\r\nAuthorization: Bearer {token}\r\n"
            tls.sendall(f"GET /healthz HTTP/1.1\r\n{head}\r\n"
                        f"GET /v1/state HTTP/1.1\r\n{head}Connection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):  # ends with the server's close_notify
                data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 2, data[:500]
    assert data.index(b'"status":"ok"') < data.index(b'"version"')


# --- client certificates -------------------------------------------------------------------


def test_mapped_operator_certificate_changes_weights_as_cert_cn(cutover, pki):
    px = cutover(admin=admin_tls(pki, "required", tokens=False))
    c = px.admin(ssl_context=pki.context("ops-oncall"))
    r = c.put_weights({"blue": 60, "green": 40}, headers={"X-Cutover-Reason": "mtls"})
    assert r.status == 200, r
    assert px.admin().state()["weights"] == {"blue": 60, "green": 40}
    entry = px.admin().audit(limit=1)[0]
    assert entry["actor"] == "cert:ops-oncall" and entry["result"] == "ok", entry
    assert entry["source"].startswith("127.0.0.1:") and entry["reason"] == "mtls", entry
    assert audit_file_entries(px)[-1]["actor"] == "cert:ops-oncall"
    history = px.admin().get("/v1/history?limit=1").json["history"][0]
    assert history["actor"] == "cert:ops-oncall"
    # The operator may not reload; the admin-mapped CN may.
    assert c.request("POST", "/v1/reload").status == 403
    assert px.admin(ssl_context=pki.context("sre-lead")).request(
        "POST", "/v1/reload").status == 200


def test_viewer_certificate_reads_but_may_not_change(cutover, pki):
    px = cutover(admin=admin_tls(pki, "required", tokens=False))
    c = px.admin(ssl_context=pki.context("grafana"))
    assert c.get("/v1/state").status == 200
    assert c.get("/metrics").status == 200
    before = px.admin().state()
    r = c.put_weights({"blue": 0, "green": 100})
    assert r.status == 403 and "viewer" in r.json["error"], r
    assert px.admin().state() == before
    entry = px.admin().audit(limit=1)[0]
    assert entry["actor"] == "cert:grafana" and entry["result"].startswith("403"), entry


def test_unmapped_certificate_is_refused_unless_a_token_decides(cutover, pki):
    px = cutover(admin=admin_tls(pki, "required"))
    intruder = pki.context("intruder")
    r = px.admin(ssl_context=intruder).get("/v1/state")
    assert r.status == 403, r
    assert "CN=intruder" in r.json["error"] and "not mapped" in r.json["error"], r
    assert px.admin(ssl_context=intruder).put_weights({"blue": 0, "green": 100}).status == 403
    # A valid token alongside decides; a wrong one is a 401, as without a certificate.
    assert px.admin(token=pki.tokens["viewer"], ssl_context=intruder).get(
        "/v1/state").status == 200
    r = px.admin(token=pki.tokens["operator"], ssl_context=intruder).put_weights(
        {"blue": 90, "green": 10})
    assert r.status == 200, r
    assert px.admin().audit(limit=1)[0]["actor"] == "ci-bot"
    assert px.admin(token="nope", ssl_context=intruder).get("/v1/state").status == 401
    # A mapped certificate wins over a token sent with it.
    c = px.admin(token=pki.tokens["viewer"], ssl_context=pki.context("ops-oncall"))
    assert c.put_weights({"blue": 80, "green": 20}).status == 200
    assert px.admin().audit(limit=1)[0]["actor"] == "cert:ops-oncall"


def test_required_client_certificate_refuses_the_handshake_without_one(cutover, pki):
    px = cutover(admin=admin_tls(pki, "required", tokens=False))
    # TLS 1.3 says certificate_required (RFC 8446 §4.4.2.4); TLS 1.2 a handshake failure.
    assert "CERTIFICATE_REQUIRED" in refused(px, pki.context())
    assert "HANDSHAKE_FAILURE" in refused(px, pki.context(max_tls12=True))
    assert px.stderr_text().count("peer did not return a certificate") == 2, px.stderr_text()
    # A certificate for a mapped CN, but signed by another CA: refused as well.
    for ctx in (pki.context(cert=pki.foreign), pki.context(cert=pki.foreign, max_tls12=True)):
        error = refused(px, ctx)
        assert "UNKNOWN_CA" in error, error
    assert "certificate verify failed" in px.stderr_text(), px.stderr_text()
    # Probes are behind the handshake too when certificates are required.
    with pytest.raises((ssl.SSLError, ConnectionResetError, http.client.RemoteDisconnected)):
        px.admin(ssl_context=pki.context()).get("/healthz")
    assert px.admin(ssl_context=pki.context("grafana")).get("/v1/state").status == 200


def test_resumed_session_keeps_the_client_identity(cutover, pki):
    px = cutover(admin=admin_tls(pki, "required", tokens=False))
    ctx = pki.context("ops-oncall")

    def call(session=None):
        raw = socket.create_connection(("127.0.0.1", px.admin_port), timeout=5)
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session) as tls:
            body = b'{"blue": 50, "green": 50}'
            tls.sendall(b"PUT /v1/weights HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
            return data, tls.session, tls.session_reused

    first, session, _ = call()  # TLS 1.3 tickets arrive with the answer
    assert first.startswith(b"HTTP/1.1 200 "), first[:300]
    second, _, reused = call(session)
    assert reused
    assert second.startswith(b"HTTP/1.1 200 "), second[:300]
    assert [e["actor"] for e in px.admin().audit(limit=2)] == ["cert:ops-oncall"] * 2


def test_optional_client_certificate(cutover, pki):
    px = cutover(admin=admin_tls(pki, "optional"))
    # No certificate: tokens, as without client certificates.
    assert px.admin(ssl_context=pki.context()).get("/v1/state").status == 401
    assert px.admin(token=pki.tokens["viewer"], ssl_context=pki.context()).get(
        "/v1/state").status == 200
    # A certificate is still verified when shown.
    assert "UNKNOWN_CA" in refused(px, pki.context(cert=pki.foreign))
    assert px.admin(ssl_context=pki.context("ops-oncall")).put_weights(
        {"blue": 40, "green": 60}).status == 200
    tls = px.admin().get("/v1/tls").json["admin"]
    assert tls["enabled"] and tls["client_certificates"] == "optional", tls


# --- certificates: status, expiry, reload ----------------------------------------------------


def test_tls_status_and_expiry_metric_show_the_admin_certificate(cutover, pki, tmp_path):
    site_ca = TestCA(tmp_path / "site-ca")
    site = site_ca.issue("site.test", days=20)
    px = cutover(admin=admin_tls(pki, "required"), tls={"certificates": [site.entry()]})
    tls = px.admin().get("/v1/tls").json
    assert tls["enabled"] and tls["certificates"][0]["names"] == ["site.test"]
    admin = tls["admin"]
    assert admin["enabled"] and admin["client_certificates"] == "required"
    assert admin["certificates"][0]["names"] == ["admin.test"]
    assert admin["certificates"][0]["file"] == str(pki.server.pem)
    assert 28 <= admin["certificates"][0]["days_left"] <= 30
    samples = parse_exposition(px.admin().get("/metrics").raw.decode())
    name = "cutover_tls_cert_expiry_timestamp_seconds"
    assert samples[(name, frozenset({("name", "admin.test"), ("listener", "admin")}))] == \
        admin["certificates"][0]["not_after_unix"]
    assert samples[(name, frozenset({("name", "site.test"), ("listener", "proxy")}))] == \
        tls["certificates"][0]["not_after_unix"]
    # Without [admin.tls]: off.
    plain = cutover(admin=True)
    assert plain.admin().get("/v1/tls").json["admin"] == {
        "enabled": False, "certificates": [], "client_certificates": "off"}


def test_sighup_with_a_bad_admin_key_changes_nothing(cutover, pki):
    px = cutover(admin=admin_tls(pki, "required", tokens=False),
                 weights={"blue": 90, "green": 10})
    before = px.admin().state()
    served = pki.server.pem.read_bytes()
    pki.server.key.write_bytes(pki.clients["grafana"].key.read_bytes())  # no longer matches
    # The routing change in the same file must not be applied either: all or nothing.
    px.reconfigure(weights={"blue": 50, "green": 50})
    assert px.sighup_and_wait() == "rejected"
    assert str(pki.server.key) in px.stderr_text() and "admin.tls" in px.stderr_text()
    assert px.admin().state() == before
    r = px.admin().request("POST", "/v1/tls/reload")
    assert r.status == 400 and "admin.tls" in r.json["error"], r
    c = px.admin(ssl_context=pki.context("grafana"))
    assert c.get("/v1/state").status == 200
    # A good certificate at the same paths: SIGHUP serves it to new connections.
    renewed = pki.server_ca.issue("admin.test", ips=("127.0.0.1",), organization="renewed",
                                  stem="admin")
    assert renewed.pem.read_bytes() != served
    assert px.sighup_and_wait() == "applied"
    with socket.create_connection(("127.0.0.1", px.admin_port), timeout=5) as raw:
        with pki.context("grafana").wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            subject = dict(item[0] for item in tls.getpeercert()["subject"])
    assert subject["organizationName"] == "renewed", subject
    assert px.admin().state()["weights"] == {"blue": 50, "green": 50}


def test_tls_reload_endpoint_rereads_the_admin_certificate(cutover, pki):
    px = cutover(admin=admin_tls(pki, "required"))
    pki.server_ca.issue("admin.test", ips=("127.0.0.1",), organization="rotated", stem="admin")
    r = px.admin(ssl_context=pki.context("sre-lead")).request("POST", "/v1/tls/reload")
    assert r.status == 200 and r.json["admin"]["certificates"][0]["subject"].find(
        "O=rotated") >= 0, r
    # An operator may not.
    r = px.admin(ssl_context=pki.context("ops-oncall")).request("POST", "/v1/tls/reload")
    assert r.status == 403, r


def test_bad_admin_certificate_stops_the_start_and_check(cutover, pki, tmp_path):
    admin = admin_tls(pki)
    admin["tls"]["certificates"] = [{"cert": str(pki.server.pem),
                                     "key": str(pki.clients["grafana"].key)}]
    px = cutover(admin=admin, expect_failure=True)
    assert "admin.tls" in px.stderr_text() and str(pki.server.pem) in px.stderr_text(), \
        px.stderr_text()
    checked = subprocess.run([str(binary_path()), "check", "--config", str(px.config_path)],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 1 and "admin.tls" in checked.stderr, checked.stderr
    admin = admin_tls(pki, "required")
    admin["tls"]["client_ca_file"] = str(tmp_path / "missing-ca.pem")
    px = cutover(admin=admin, expect_failure=True)
    assert "missing-ca.pem" in px.stderr_text(), px.stderr_text()


# --- cutover ctl over https ------------------------------------------------------------------


def test_ctl_status_over_mtls_shows_certificate_expiry(cutover, pki, tmp_path):
    site = TestCA(tmp_path / "site-ca").issue("site.test", "www.site.test", days=10)
    px = cutover(admin=admin_tls(pki, "required", tokens=False),
                 tls={"certificates": [site.entry()]})
    out = ctl(px, pki, "status", client="grafana")  # a viewer may read
    assert out.returncode == OK, out.stderr
    assert out.stdout.startswith("version "), out.stdout
    assert re.search(r"^tls: site\.test, www\.site\.test  expires \d{4}-\d\d-\d\d "
                     r"\((9|10) days\)  EXPIRES SOON$", out.stdout, re.M), out.stdout
    assert re.search(r"^admin tls: admin\.test  expires \d{4}-\d\d-\d\d \((29|30) days\)$",
                     out.stdout, re.M), out.stdout
    assert out.stderr == ""
    out = ctl(px, pki, "status", "--json")
    assert out.returncode == OK, out.stderr
    body = json.loads(out.stdout)
    tls = body.pop("tls")
    assert body.pop("rollout") == px.admin().get("/v1/rollout").json
    assert body.pop("guardrails")["enabled"] is False
    assert body == px.admin().state()
    assert tls == px.admin().get("/v1/tls").json
    assert tls["admin"]["certificates"][0]["names"] == ["admin.test"]


def test_ctl_weights_set_with_a_client_certificate(cutover, pki):
    px = cutover(admin=admin_tls(pki, "required", tokens=False))
    out = ctl(px, pki, "--reason", "mtls canary", "weights", "set", "green=20")
    assert out.returncode == OK, out.stderr
    assert re.match(r"version \d+: blue=80 green=20 ", out.stdout), out.stdout
    assert px.admin().state()["weights"] == {"blue": 80, "green": 20}
    entry = px.admin().audit(limit=1)[0]
    assert (entry["actor"], entry["reason"]) == ("cert:ops-oncall", "mtls canary"), entry
    # A viewer's certificate is authenticated but may not change anything: exit 4.
    out = ctl(px, pki, "weights", "set", "green=30", client="grafana")
    assert out.returncode == UNAUTHORISED, out
    assert out.stderr.startswith("cutover ctl: 403 role viewer may only read"), out.stderr
    out = ctl(px, pki, "rollback", client="intruder")
    assert out.returncode == UNAUTHORISED and "not mapped" in out.stderr, out
    assert px.admin().state()["weights"] == {"blue": 80, "green": 20}


def test_ctl_takes_tls_files_from_the_environment(cutover, pki):
    px = cutover(admin=admin_tls(pki, "required", tokens=False))
    me = pki.clients["sre-lead"]
    env = {"CUTOVER_URL": f"https://127.0.0.1:{px.admin_port}",
           "CUTOVER_CACERT": str(pki.server_ca.pem), "CUTOVER_CERT": str(me.pem),
           "CUTOVER_KEY": str(me.key)}
    out = ctl_raw("rollback", "--reason", "env", env=env)
    assert out.returncode == OK, out.stderr
    assert px.admin().audit(limit=1)[0]["actor"] == "cert:sre-lead"


def test_ctl_https_with_a_token(cutover, pki):
    px = cutover(admin=admin_tls(pki))
    out = ctl(px, pki, "--token", pki.tokens["operator"], "weights", "set", "green=5",
              client=None)
    assert out.returncode == OK, out.stderr
    assert px.admin().audit(limit=1)[0]["actor"] == "ci-bot"
    out = ctl(px, pki, "status", client=None)
    assert out.returncode == UNAUTHORISED, out


def test_ctl_tls_failures_are_clear(cutover, pki, tmp_path):
    px = cutover(admin=admin_tls(pki, "required", tokens=False))
    url = f"https://127.0.0.1:{px.admin_port}"
    # No client certificate: refused in the handshake, and ctl says what is missing.
    out = ctl(px, pki, "status", client=None)
    assert out.returncode == UNREACHABLE, out
    assert "certificate required" in out.stderr and "--cert and --key" in out.stderr, out.stderr
    # The listener's certificate is not from the CA given (nor from the system's store).
    for cacert in ([str(pki.other_ca.pem)], []):
        out = ctl_raw("--url", url, *(["--cacert"] + cacert if cacert else []),
                      "--cert", str(pki.clients["ops-oncall"].pem),
                      "--key", str(pki.clients["ops-oncall"].key), "status")
        assert out.returncode == UNREACHABLE, out
        assert "certificate verify failed" in out.stderr, out.stderr
    # The right CA, but a name the certificate does not carry (localhost is not 127.0.0.1).
    out = ctl_raw("--url", f"https://localhost:{px.admin_port}", "--cacert",
                  str(pki.server_ca.pem), "--cert", str(pki.clients["ops-oncall"].pem),
                  "--key", str(pki.clients["ops-oncall"].key), "status")
    assert out.returncode == UNREACHABLE and "mismatch" in out.stderr, out
    # Local problems: nothing is sent, exit 2.
    out = ctl_raw("--url", url, "--cacert", str(tmp_path / "missing.pem"), "status")
    assert out.returncode == USAGE and "missing.pem" in out.stderr, out
    out = ctl_raw("--url", url, "--cacert", str(pki.server_ca.pem),
                  "--cert", str(pki.clients["ops-oncall"].pem),
                  "--key", str(pki.clients["grafana"].key), "status")
    assert out.returncode == USAGE and "does not match" in out.stderr, out
    out = ctl_raw("--url", url, "--cert", str(pki.clients["ops-oncall"].pem), "status")
    assert out.returncode == USAGE and "--cert and --key together" in out.stderr, out
    # Plain HTTP to the TLS port, and TLS to a plain port.
    out = ctl_raw("--url", f"http://127.0.0.1:{px.admin_port}", "status")
    assert out.returncode == UNREACHABLE, out
    plain = cutover(admin={"address": True, "tokens_file": str(pki.tokens_file)})
    out = ctl_raw("--url", f"https://127.0.0.1:{plain.admin_port}", "--cacert",
                  str(pki.server_ca.pem), "status")
    assert out.returncode == UNREACHABLE and "plain HTTP? then use http://" in out.stderr, out
