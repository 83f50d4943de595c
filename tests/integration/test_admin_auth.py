"""Access control of the admin API (docs/admin-api.md, "Access control"): the Unix socket's
mode and peer check, bearer tokens and roles over TCP, the tokens file reloaded on SIGHUP,
secrets never written anywhere, and what start-up does with the socket path."""

import os
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile

import pytest

from admin_helpers import (assert_json_error, assert_unchanged, audit_file_entries,
                           audit_log_path, backends_of, poll, sha256_hex, snapshot,
                           state_file_path, write_tokens_file)

NOBODY = 65534


def _secret(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(16)}"


@pytest.fixture
def tokens(tmp_path):
    """Three tokens, one per role, and the tokens file holding their hashes."""
    t = {"viewer": _secret("view"), "operator": _secret("oper"), "admin": _secret("admn")}
    path = write_tokens_file(tmp_path / "tokens.toml", [
        ("dash", "viewer", t["viewer"]), ("ci-bot", "operator", t["operator"]),
        ("root-ops", "admin", t["admin"])])
    t["file"] = path
    return t


@pytest.fixture
def tcp_proxy(cutover, tokens):
    return cutover(admin={"address": True, "tokens_file": str(tokens["file"])})


def _assert_401(resp):
    assert_json_error(resp, 401)
    assert resp.headers.get("www-authenticate", "").startswith("Bearer"), resp.headers


# --- Unix socket -------------------------------------------------------------------------


def test_unix_socket_is_mode_0600(cutover):
    px = cutover(admin=True)
    st = os.stat(px.admin_socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_uid == os.getuid()


def test_unix_caller_is_admin_and_audited_as_its_uid(cutover):
    px = cutover(admin=True)
    c = px.admin()
    assert c.put_weights({"blue": 0, "green": 100}).status == 200
    assert c.request("POST", "/v1/reload").status == 200
    entries = c.audit(limit=5)
    weights = [e for e in entries if e["result"] == "ok"]
    assert weights and all(e["actor"] == f"uid:{os.getuid()}" for e in entries)


def _unix_call_as(uid: int, sock_path: str, method: str = "GET", path: str = "/v1/state",
                  body: bytes = b"") -> str:
    """The status code of one call over the Unix socket from a process running as uid."""
    code = ("import socket, sys\n"
            "body = sys.argv[4].encode()\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(5)\n"
            "s.connect(sys.argv[1])\n"
            "s.sendall(f'{sys.argv[2]} {sys.argv[3]} HTTP/1.1\\r\\nHost: x\\r\\n"
            "Connection: close\\r\\nContent-Length: {len(body)}\\r\\n\\r\\n'.encode() + body)\n"
            "data = b''\n"
            "while True:\n"
            "    chunk = s.recv(65536)\n"
            "    if not chunk: break\n"
            "    data += chunk\n"
            "print(data.split(b'\\r\\n', 1)[0].decode())\n")
    out = subprocess.run(["/usr/bin/python3", "-I", "-c", code, sock_path, method, path,
                          body.decode()], user=uid, group=uid, cwd="/", capture_output=True,
                         text=True, timeout=15)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().split()[1]


@pytest.fixture
def shared_dir():
    """A temp dir other users may traverse (pytest's tmp dirs are 0700)."""
    d = tempfile.mkdtemp(prefix="cutover-admin-")
    os.chmod(d, 0o711)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run a client as another uid")
def test_unix_peer_not_allowed_gets_403(cutover, shared_dir):
    sock = os.path.join(shared_dir, "admin.sock")
    px = cutover(admin={"socket": sock})
    before = snapshot(px)
    os.chmod(sock, 0o666)  # past the file mode, the peer's uid is checked (SO_PEERCRED)
    assert _unix_call_as(NOBODY, sock) == "403"
    assert _unix_call_as(NOBODY, sock, "PUT", "/v1/weights",
                         b'{"blue": 0, "green": 100}') == "403"
    assert_unchanged(px, before)
    assert backends_of(px, 5) == ["blue"] * 5


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run a client as another uid")
def test_allow_uids_lets_a_peer_in(cutover, shared_dir):
    sock = os.path.join(shared_dir, "admin.sock")
    px = cutover(admin={"socket": sock, "allow_uids": [NOBODY]})
    os.chmod(sock, 0o666)
    assert _unix_call_as(NOBODY, sock) == "200"
    assert _unix_call_as(NOBODY, sock, "PUT", "/v1/weights", b'{"blue": 0, "green": 100}') \
        == "200"
    assert backends_of(px, 5) == ["green"] * 5
    entry = px.admin().audit(limit=1)[0]
    assert entry["actor"] == f"uid:{NOBODY}" and entry["result"] == "ok", entry


# --- TCP: tokens and roles ---------------------------------------------------------------


def test_tcp_without_a_token_is_401_with_www_authenticate(tcp_proxy):
    px = tcp_proxy
    before = snapshot(px)
    for path in ("/v1/state", "/v1/audit", "/v1/nope"):
        _assert_401(px.admin(tcp=True).get(path))
    _assert_401(px.admin(tcp=True).put_weights({"blue": 0, "green": 100}))
    # Another scheme is no bearer token.
    _assert_401(px.admin(tcp=True).get("/v1/state", headers={"Authorization": "Basic eDp5"}))
    _assert_401(px.admin(tcp=True).get("/v1/state", headers={"Authorization": "Bearer"}))
    assert_unchanged(px, before)


def test_tcp_unknown_token_is_401(tcp_proxy, tokens):
    px = tcp_proxy
    before = snapshot(px)
    _assert_401(px.admin(token=_secret("wrong"), tcp=True).get("/v1/state"))
    _assert_401(px.admin(token=_secret("wrong"), tcp=True).put_weights(
        {"blue": 0, "green": 100}))
    # The hash itself is not a token.
    _assert_401(px.admin(token=sha256_hex(tokens["admin"]), tcp=True).get("/v1/state"))
    assert_unchanged(px, before)


def test_viewer_may_read_but_not_change(tcp_proxy, tokens):
    px = tcp_proxy
    viewer = px.admin(token=tokens["viewer"], tcp=True)
    for path in ("/v1/state", "/v1/rules", "/v1/history", "/v1/audit", "/v1/health"):
        assert viewer.get(path).status == 200, path
    before = snapshot(px)
    audit_before = audit_file_entries(px)
    calls = [("PUT", "/v1/weights", {"blue": 0, "green": 100}),
             ("POST", "/v1/rules", {"name": "x", "pool": "green"}),
             ("POST", "/v1/rollback", None),
             ("POST", "/v1/reload", None)]
    for method, path, body in calls:
        assert_json_error(viewer.request(method, path, body=body), 403)
    assert_unchanged(px, before)
    new = audit_file_entries(px)[len(audit_before):]
    # Wrong-role calls are audited, as the token's name, with a result that is not "ok".
    assert len(new) == len(calls), new
    assert all(e["actor"] == "dash" and e["result"] != "ok" for e in new), new
    assert backends_of(px, 5) == ["blue"] * 5


def test_operator_may_change_routing_but_not_reload(tcp_proxy, tokens):
    px = tcp_proxy
    op = px.admin(token=tokens["operator"], tcp=True)
    r = op.put_weights({"blue": 0, "green": 100})
    assert r.status == 200, r
    assert backends_of(px, 5) == ["green"] * 5
    r = op.request("POST", "/v1/rules", body={"name": "x", "pool": "blue",
                                              "match": {"path_prefix": ["/x"]}})
    assert r.status == 201, r
    assert op.request("DELETE", "/v1/rules/x").status == 200
    assert op.request("POST", "/v1/rollback").status == 200
    v = op.state()["version"]
    assert op.request("POST", "/v1/revert", body={"version": v - 1}).status == 200
    before = snapshot(px)
    assert_json_error(op.request("POST", "/v1/reload"), 403)
    assert_unchanged(px, before)


def test_admin_token_may_reload(tcp_proxy, tokens):
    px = tcp_proxy
    px.reconfigure(weights={"blue": 0, "green": 100})
    r = px.admin(token=tokens["admin"], tcp=True).request("POST", "/v1/reload")
    assert r.status == 200, r
    assert px.admin().state()["weights"] == {"blue": 0, "green": 100}


def test_healthz_and_readyz_need_no_token(tcp_proxy):
    px = tcp_proxy
    c = px.admin(tcp=True)
    r = c.get("/healthz")
    assert r.status == 200 and r.json == {"status": "ok"}, r
    r = c.get("/readyz")
    assert r.status == 200 and r.json == {"status": "ready"}, r


def test_audit_names_the_token_and_the_client_address(tcp_proxy, tokens):
    px = tcp_proxy
    op = px.admin(token=tokens["operator"], tcp=True)
    assert op.put_weights({"blue": 50, "green": 50},
                          headers={"X-Cutover-Reason": "tcp change"}).status == 200
    entry = px.admin().audit(limit=1)[0]
    assert entry["actor"] == "ci-bot" and entry["reason"] == "tcp change"
    assert entry["result"] == "ok"
    assert "127.0.0.1" in entry["source"], entry
    hist = px.admin().get("/v1/history").json["history"][0]
    assert hist["actor"] == "ci-bot"


def test_tokens_never_appear_in_logs_or_files(tcp_proxy, tokens):
    px = tcp_proxy
    wrong = _secret("wrong")
    for who in ("viewer", "operator", "admin"):
        c = px.admin(token=tokens[who], tcp=True)
        c.get("/v1/state")
        c.put_weights({"blue": 90, "green": 10})
        c.put_weights({"blue": 90, "green": 20})  # rejected
        c.request("POST", "/v1/reload")
    px.admin(token=wrong, tcp=True).put_weights({"blue": 0, "green": 100})
    assert px.sighup_and_wait() == "applied"
    texts = {"stderr": px.stderr_text(), "stdout": px.stdout_text(),
             "audit log": audit_log_path(px).read_text(),
             "state file": state_file_path(px).read_text()}
    assert texts["audit log"].strip(), "nothing was audited"
    for name, text in texts.items():
        for secret in (tokens["viewer"], tokens["operator"], tokens["admin"], wrong):
            assert secret not in text, f"a token is in the {name}"


def test_tokens_file_is_reread_on_sighup_and_a_broken_one_keeps_the_old(tcp_proxy, tokens):
    px = tcp_proxy
    new = _secret("new")
    _assert_401(px.admin(token=new, tcp=True).get("/v1/state"))
    write_tokens_file(tokens["file"], [("dash", "viewer", tokens["viewer"]),
                                       ("ci-bot", "operator", tokens["operator"]),
                                       ("root-ops", "admin", tokens["admin"]),
                                       ("late", "operator", new)])
    assert px.sighup_and_wait() == "applied"
    assert poll(lambda: px.admin(token=new, tcp=True).get("/v1/state").status == 200), \
        "the token added to the tokens file does not work after SIGHUP"
    assert px.admin(token=new, tcp=True).put_weights({"blue": 0, "green": 100}).status == 200
    assert px.admin().audit(limit=1)[0]["actor"] == "late"

    # A broken file (one good new token, one entry with a bad role) changes nothing.
    newer = _secret("newer")
    text = tokens["file"].read_text()
    broken = text + (f'[[token]]\nname = "newer"\nrole = "operator"\n'
                     f'sha256 = "{sha256_hex(newer)}"\n\n'
                     '[[token]]\nname = "bad"\nrole = "superuser"\nsha256 = "00"\n')
    tokens["file"].write_text(broken)
    px.sighup_and_wait()  # the config itself is fine; the tokens file is not
    for secret in (tokens["viewer"], tokens["operator"], tokens["admin"], new):
        assert px.admin(token=secret, tcp=True).get("/v1/state").status == 200
    _assert_401(px.admin(token=newer, tcp=True).get("/v1/state"))
    # An unreadable (missing) file keeps the old tokens too.
    tokens["file"].unlink()
    px.sighup_and_wait()
    assert px.admin(token=new, tcp=True).get("/v1/state").status == 200
    assert px.alive()


# --- the socket path at start-up ---------------------------------------------------------


def test_a_stale_socket_file_is_replaced(cutover, tmp_path):
    path = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()  # left behind, as by a crashed process: nothing listens on it
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    px = cutover(admin={"socket": str(path)})
    r = px.admin().get("/v1/state")
    assert r.status == 200, r
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert px.admin().put_weights({"blue": 0, "green": 100}).status == 200
    assert backends_of(px, 5) == ["green"] * 5


def test_a_regular_file_at_the_socket_path_refuses_the_start(cutover, tmp_path):
    path = tmp_path / "not-a-socket"
    path.write_text("precious\n")
    px = cutover(admin={"socket": str(path)}, expect_failure=True)
    assert path.read_text() == "precious\n", "the file at the socket path was replaced"
    err = px.stderr_text()
    assert str(path) in err, err[-2000:]
    assert "socket" in err.lower(), err[-2000:]


def test_oversized_body_over_tcp_is_413_and_changes_nothing(tcp_proxy, tokens):
    """Over TCP too the client gets the 413 (the server must not reset the connection with
    the unread body before the answer is read)."""
    px = tcp_proxy
    before = snapshot(px)
    big = b'{"blue": 100, "green": 0, "pad": "' + b"x" * (256 * 1024) + b'"}'
    for _ in range(5):
        r = px.admin(token=tokens["operator"], tcp=True).request("PUT", "/v1/weights", raw=big)
        assert_json_error(r, 413)
    assert_unchanged(px, before)
