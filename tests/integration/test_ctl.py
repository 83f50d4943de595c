"""`cutover ctl` (docs/ctl.md) driving a real `cutover run` over its admin Unix socket or TCP:
the effect of each command on the routing state and on proxied traffic, what it prints, and
its exit codes (0 ok, 1 refused, 2 usage, 3 conflict, 4 not authorised, 5 unreachable)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import threading
import time

import pytest

from proxy_process import binary_path

OK, REFUSED, USAGE, CONFLICT, UNAUTHORISED, UNREACHABLE = 0, 1, 2, 3, 4, 5


def ctl(px, *args: str, env: dict | None = None, stdin: str | None = None,
        timeout: float = 30.0) -> subprocess.CompletedProcess:
    """`cutover ctl --socket SOCKET ARGS...`."""
    return ctl_raw("--socket", px.admin_socket, *args, env=env, stdin=stdin, timeout=timeout)


def ctl_raw(*args: str, env: dict | None = None, stdin: str | None = None,
            timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Like proxy_process.run_cli, with the CUTOVER_* variables under the test's control."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CUTOVER_")}
    full_env.update(env or {})
    return subprocess.run([str(binary_path()), "ctl", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, input=stdin or "")


def weights(px) -> dict:
    return px.admin().state()["weights"]


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)  # poll interval
    return False


def write_tokens(path, entries) -> None:
    """entries: (name, role, secret); the file holds only the hashes, as the server wants."""
    text = "".join(f'[[token]]\nname = "{n}"\nrole = "{r}"\n'
                   f'sha256 = "{hashlib.sha256(s.encode()).hexdigest()}"\n\n'
                   for n, r, s in entries)
    path.write_text(text)


# --- status and other reads ------------------------------------------------------------


def test_status_shows_version_pools_and_rules(cutover):
    px = cutover(admin=True, weights={"blue": 90, "green": 10},
                 rules=[{"name": "beta", "pool": "green", "match": {"header": {"X-Beta": "1"}}}])
    out = ctl(px, "status")
    assert out.returncode == OK, out.stderr
    version = px.admin().state()["version"]
    assert out.stdout.startswith(f"version {version} "), out.stdout
    assert "baseline blue  candidate green" in out.stdout
    assert re.search(r"^blue\s+90\s+1\s", out.stdout, re.M), out.stdout
    assert re.search(r"^green\s+10\s+1\s", out.stdout, re.M), out.stdout
    assert re.search(r"^beta\s+yes\s+green\s+temporary\s.*header X-Beta=1$", out.stdout,
                     re.M), out.stdout
    assert out.stderr == ""


def test_json_prints_the_servers_body(cutover):
    px = cutover(admin=True)
    out = ctl(px, "status", "--json")  # a global flag after the subcommand
    assert out.returncode == OK, out.stderr
    body = json.loads(out.stdout)
    # status also shows the certificates' expiry (GET /v1/tls), under "tls", and the release:
    # GET /v1/guardrails (its verdict is re-evaluated every second: compared by shape) and
    # GET /v1/rollout.
    assert body.pop("tls") == px.admin().get("/v1/tls").json
    assert body.pop("guardrails").keys() == px.admin().get("/v1/guardrails").json.keys()
    assert body.pop("rollout") == px.admin().get("/v1/rollout").json
    assert body == px.admin().state()
    assert out.stdout.startswith("{\n  ")  # pretty
    for args in (["rules", "list"], ["history"], ["audit"], ["health"]):
        out = ctl(px, "--json", *args)
        assert out.returncode == OK, (args, out.stderr)
        assert isinstance(json.loads(out.stdout), dict), args


def test_health_lists_every_endpoint(cutover):
    px = cutover(admin=True)
    out = ctl(px, "health")
    assert out.returncode == OK, out.stderr
    lines = out.stdout.splitlines()
    assert re.match(r"POOL\s+ENDPOINT\s+HEALTHY\s+EJECTED\s+EJECTIONS$", lines[2]), out.stdout
    assert any(re.match(rf"blue\s+{re.escape(px.blue.address)}\s+\S+\s+no\s+0$", l)
               for l in lines), out.stdout
    assert any(l.startswith("green ") for l in lines), out.stdout


# --- weights -----------------------------------------------------------------------------


def test_weights_set_moves_traffic_and_the_baseline_takes_the_rest(cutover):
    px = cutover(admin=True)
    before = px.admin().state()["version"]
    out = ctl(px, "weights", "set", "green=100")
    assert out.returncode == OK, out.stderr
    assert weights(px) == {"blue": 0, "green": 100}
    assert re.match(rf"version {before + 1}: blue=0 green=100 \(\d+ workers? switched in \d+ us\)$",
                    out.stdout.strip()), out.stdout
    px.get("/")
    assert len(px.green.requests) == 1 and len(px.blue.requests) == 0

    assert ctl(px, "weights", "set", "green=12.5").returncode == OK
    assert weights(px) == {"blue": 87.5, "green": 12.5}
    assert ctl(px, "weights", "set", "blue=99.99", "green=0.01").returncode == OK
    assert weights(px) == {"blue": 99.99, "green": 0.01}


def test_weights_set_json_has_switch_us(cutover):
    px = cutover(admin=True)
    out = ctl(px, "--json", "weights", "set", "green=20")
    assert out.returncode == OK, out.stderr
    body = json.loads(out.stdout)
    assert body["weights"] == {"blue": 80, "green": 20}
    assert isinstance(body["switch_us"], int) and body["workers"] >= 1


@pytest.mark.parametrize("args, message", [
    (["grene=20"], "unknown pool 'grene' (pools: blue, green)"),
    (["green=12.345"], "more than two decimals"),
    (["green=60", "blue=50"], "sum to 110, more than 100"),
    (["blue=70", "green=20"], "with the baseline 'blue' named too they must sum to 100"),
    (["green=20", "green=30"], "given twice"),
    (["green"], "expected POOL=PERCENT"),
    (["green=-5"], "not a percent"),
])
def test_weights_set_local_checks_exit_2_and_change_nothing(cutover, args, message):
    px = cutover(admin=True)
    before = px.admin().state()
    out = ctl(px, "weights", "set", *args)
    assert out.returncode == USAGE, out
    assert message in out.stderr, out.stderr
    assert out.stderr.startswith("cutover ctl: ")
    assert out.stdout == ""
    assert px.admin().state() == before


def test_reason_reaches_the_audit_log(cutover):
    px = cutover(admin=True)
    out = ctl(px, "--reason", "canary looks fine", "weights", "set", "green=10")
    assert out.returncode == OK, out.stderr
    entry = px.admin().audit(limit=1)[0]
    assert entry["reason"] == "canary looks fine" and entry["result"] == "ok", entry
    out = ctl(px, "audit", "--limit", "1")
    assert out.returncode == OK, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("TIME "), out.stdout
    assert lines[1].endswith("canary looks fine") and " ok " in lines[1], out.stdout


# --- ramp ----------------------------------------------------------------------------------


def test_ramp_applies_every_step_in_order(cutover):
    px = cutover(admin=True)
    start = px.admin().state()["version"]
    out = ctl(px, "ramp", "green", "25,50,100", "--every", "100ms")
    assert out.returncode == OK, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 3, out.stdout
    for i, (line, green) in enumerate(zip(lines, (25, 50, 100))):
        assert re.match(rf"\[{i + 1}/3\] \S+Z green={green}: version {start + i + 1}: "
                        rf"blue={100 - green} green={green} ", line), line
    assert weights(px) == {"blue": 0, "green": 100}
    history = px.admin().get("/v1/history?limit=3").json["history"]
    assert [h["weights"]["green"] for h in history] == [100, 50, 25]
    reasons = [e["reason"] for e in px.admin().audit(limit=3)]
    assert reasons == ["ramp green step 3/3", "ramp green step 2/3", "ramp green step 1/3"]


def test_ramp_stops_with_exit_3_when_someone_else_changes_the_state(cutover):
    """A rollback between two steps wins: the ramp must not put the weight back."""
    px = cutover(admin=True)
    start = px.admin().state()["version"]
    proc = subprocess.Popen(
        [str(binary_path()), "ctl", "--socket", px.admin_socket, "ramp", "green", "10,50",
         "--every", "2s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: px.admin().state()["version"] == start + 1), "no first step"
        assert weights(px) == {"blue": 90, "green": 10}
        assert px.admin().request("POST", "/v1/rollback", body={"reason": "p99"}).status == 200
        stdout, stderr = proc.communicate(timeout=15)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == CONFLICT, (stdout, stderr)
    assert "ramp stopped before step 2/2" in stderr, stderr
    assert weights(px) == {"blue": 100, "green": 0}
    assert px.admin().state()["version"] == start + 2
    assert stdout.startswith("[1/2] ")


@pytest.mark.parametrize("args, message", [
    (["green", "5,25", "--every", "0s"], "--every must be more than 0"),
    (["green", "5,25", "--every", "5min"], "is not a duration"),
    (["green", "5,,25", "--every", "1s"], "empty step"),
    (["grene", "5", "--every", "1s"], "step 1 (5): unknown pool 'grene'"),
    (["blue", "100,50", "--every", "1s"], "step 2 (50): "),
])
def test_ramp_checks_every_step_before_the_first(cutover, args, message):
    px = cutover(admin=True)
    before = px.admin().state()
    out = ctl(px, "ramp", *args)
    assert out.returncode == USAGE, out
    assert message in out.stderr, out.stderr
    assert px.admin().state() == before


# --- rollback, history, revert -------------------------------------------------------------


def test_rollback_returns_traffic_and_disables_candidate_rules(cutover):
    px = cutover(admin=True, weights={"blue": 50, "green": 50},
                 rules=[{"name": "beta", "pool": "green", "match": {"header": {"X-Beta": "1"}}},
                        {"name": "ops", "pool": "blue", "match": {"header": {"X-Ops": "1"}}}])
    out = ctl(px, "--reason", "p99 doubled", "rollback")
    assert out.returncode == OK, out.stderr
    assert out.stdout.startswith("rolled back to version "), out.stdout
    assert "rules to the candidate now disabled: beta" in out.stdout
    state = px.admin().state()
    assert state["weights"] == {"blue": 100, "green": 0}
    assert {r["name"]: r["enabled"] for r in state["rules"]} == {"beta": False, "ops": True}
    for _ in range(5):
        px.get("/", [("X-Beta", "1")])
    assert len(px.green.requests) == 0 and len(px.blue.requests) == 5
    assert px.admin().audit(limit=1)[0]["reason"] == "p99 doubled"


def test_history_and_revert(cutover):
    px = cutover(admin=True)
    assert ctl(px, "weights", "set", "green=30").returncode == OK
    v30 = px.admin().state()["version"]
    assert ctl(px, "--reason", "all in", "weights", "set", "green=100").returncode == OK

    out = ctl(px, "history", "--limit", "2")
    assert out.returncode == OK, out.stderr
    lines = out.stdout.splitlines()
    assert re.match(r"VERSION\s+TIME\s+ACTOR\s+ACTION\s+REASON\s+WEIGHTS$", lines[0]), out.stdout
    assert len(lines) == 3, out.stdout
    assert lines[1].startswith(str(v30 + 1)) and "all in" in lines[1], out.stdout
    assert lines[1].endswith("blue=0 green=100"), out.stdout
    assert lines[2].startswith(str(v30)) and lines[2].endswith("blue=70 green=30"), out.stdout

    out = ctl(px, "revert", str(v30))
    assert out.returncode == OK, out.stderr
    assert out.stdout.startswith(f"reverted to the state of version {v30} as version {v30 + 2}:")
    assert weights(px) == {"blue": 70, "green": 30}

    out = ctl(px, "revert", "999999")
    assert out.returncode == REFUSED, out
    assert out.stderr.startswith("cutover ctl: 404 "), out.stderr


# --- rules ---------------------------------------------------------------------------------


def test_rules_add_enable_disable_rm(cutover):
    px = cutover(admin=True)
    out = ctl(px, "rules", "add", "beta", "--pool", "green", "--header", "X-Beta=1",
              "--header", "x-beta=yes", "--kind", "targeted", "--owner", "web",
              "--expires", "2099-12-31")
    assert out.returncode == OK, out.stderr
    assert out.stdout.startswith("added rule beta; version "), out.stdout
    rule = px.admin().state()["rules"][0]
    assert rule["name"] == "beta" and rule["pool"] == "green" and rule["kind"] == "targeted"
    # "through 2099-12-31 UTC" is stored as the instant it ends.
    assert rule["owner"] == "web" and rule["expires"] == "2100-01-01T00:00:00Z", rule
    assert list(rule["match"]["header"].values()) == [["1", "yes"]], rule

    px.get("/", [("X-Beta", "yes")])
    px.get("/")
    assert len(px.green.requests) == 1 and len(px.blue.requests) == 1

    out = ctl(px, "rules", "list")
    assert out.returncode == OK, out.stderr
    assert re.search(r"^beta\s+yes\s+green\s+targeted\s+web\s+2100-01-01T00:00:00Z\s+header \S+=1,yes$",
                     out.stdout, re.M), out.stdout

    assert ctl(px, "rules", "disable", "beta").returncode == OK
    assert px.admin().state()["rules"][0]["enabled"] is False
    px.get("/", [("X-Beta", "1")])
    assert len(px.green.requests) == 1 and len(px.blue.requests) == 2

    out = ctl(px, "rules", "enable", "beta")
    assert out.returncode == OK and out.stdout.startswith("enabled rule beta; "), out
    assert px.admin().state()["rules"][0]["enabled"] is True

    out = ctl(px, "rules", "rm", "beta")
    assert out.returncode == OK and out.stdout.startswith("removed rule beta; "), out
    assert px.admin().state()["rules"] == []
    assert ctl(px, "rules", "list").stdout.endswith("no rules\n")


def test_rules_add_every_flag_and_position(cutover):
    px = cutover(admin=True,
                 rules=[{"name": "first", "pool": "blue", "match": {"path_prefix": "/x"}}])
    out = ctl(px, "rules", "add", "all-flags", "--pool", "green", "--header-present", "X-Debug",
              "--path-prefix", "/api", "--path-prefix", "/v2", "--cookie", "tier=gold",
              "--query", "beta=1", "--method", "GET", "--method", "POST",
              "--client-cidr", "127.0.0.0/8", "--disabled", "--position", "0")
    assert out.returncode == OK, out.stderr
    rules = px.admin().state()["rules"]
    assert [r["name"] for r in rules] == ["all-flags", "first"]
    match = rules[0]["match"]
    assert rules[0]["enabled"] is False
    assert match["header_present"] == ["X-Debug"] and match["path_prefix"] == ["/api", "/v2"]
    assert match["cookie"] == {"tier": ["gold"]} and match["query"] == {"beta": ["1"]}
    assert match["method"] == ["GET", "POST"] and match["client_cidr"] == ["127.0.0.0/8"]


def test_rules_add_from_json_on_stdin(cutover):
    px = cutover(admin=True)
    rule = {"name": "regex", "pool": "green", "match": {"header_regex": {"User-Agent": "^curl/"}}}
    out = ctl(px, "rules", "add", "--from-json", "-", stdin=json.dumps(rule))
    assert out.returncode == OK, out.stderr
    assert px.admin().state()["rules"][0]["match"] == rule["match"]

    out = ctl(px, "rules", "add", "x", "--from-json", "-", stdin="{}")
    assert out.returncode == USAGE and "--from-json takes the whole rule" in out.stderr, out
    out = ctl(px, "rules", "add", "--from-json", "-", stdin="[1]")
    assert out.returncode == USAGE and "not a JSON object" in out.stderr, out


def test_rules_errors_map_to_exit_codes(cutover):
    px = cutover(admin=True)
    assert ctl(px, "rules", "add", "beta", "--pool", "green").returncode == OK
    before = px.admin().state()

    out = ctl(px, "rules", "add", "beta", "--pool", "green")  # name in use
    assert out.returncode == CONFLICT, out
    assert out.stderr.startswith("cutover ctl: 409 "), out.stderr

    out = ctl(px, "rules", "rm", "nope")
    assert out.returncode == REFUSED and out.stderr.startswith("cutover ctl: 404 "), out

    out = ctl(px, "rules", "add", "bad", "--pool", "nope")  # refused by the server
    assert out.returncode == REFUSED, out
    assert re.match(r"cutover ctl: 400 .*\(field: pool\)$", out.stderr.strip()), out.stderr

    out = ctl(px, "rules", "add", "bad", "--pool", "green", "--header", "X-Beta")
    assert out.returncode == USAGE and "expected NAME=VALUE" in out.stderr, out
    assert px.admin().state() == before


# --- TCP and tokens ----------------------------------------------------------------------------


@pytest.fixture
def tcp_px(cutover, tmp_path):
    tokens = {"viewer": secrets.token_hex(16), "operator": secrets.token_hex(16)}
    path = tmp_path / "tokens.toml"
    write_tokens(path, [("dash", "viewer", tokens["viewer"]),
                        ("ci-bot", "operator", tokens["operator"])])
    px = cutover(admin={"address": True, "tokens_file": str(path)})
    px.tokens = tokens
    px.url = f"http://127.0.0.1:{px.admin_port}"
    return px


def test_tcp_needs_a_token_and_never_shows_it(tcp_px, tmp_path):
    px = tcp_px
    out = ctl_raw("--url", px.url, "status")
    assert out.returncode == UNAUTHORISED, out
    assert out.stderr.startswith("cutover ctl: 401 "), out.stderr

    wrong = "wrong-" + secrets.token_hex(8)
    out = ctl_raw("--url", px.url, "--token", wrong, "status")
    assert out.returncode == UNAUTHORISED and wrong not in out.stderr + out.stdout, out

    token_file = tmp_path / "operator.token"
    token_file.write_text(px.tokens["operator"] + "\n")
    out = ctl_raw("--url", px.url, "--token-file", str(token_file), "weights", "set", "green=40")
    assert out.returncode == OK, out.stderr
    assert weights(px) == {"blue": 60, "green": 40}
    assert px.admin().audit(limit=1)[0]["actor"] == "ci-bot"

    # The environment: CUTOVER_URL and CUTOVER_TOKEN.
    out = ctl_raw("status", env={"CUTOVER_URL": px.url, "CUTOVER_TOKEN": px.tokens["viewer"]})
    assert out.returncode == OK, out.stderr

    # A viewer may read but not change: 403.
    out = ctl_raw("weights", "set", "green=0",
                  env={"CUTOVER_URL": px.url, "CUTOVER_TOKEN": px.tokens["viewer"]})
    assert out.returncode == UNAUTHORISED, out
    assert out.stderr.startswith("cutover ctl: 403 "), out.stderr
    assert px.tokens["viewer"] not in out.stderr + out.stdout
    assert weights(px) == {"blue": 60, "green": 40}


def test_hash_token_makes_a_token_the_server_accepts(cutover, tmp_path):
    out = ctl_raw("hash-token", "--name", "deploy-bot", "--role", "operator")
    assert out.returncode == OK, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{64}", token), out.stdout
    stanza = "\n".join(l for l in out.stdout.splitlines() if not l.startswith("#"))
    stanza = stanza.replace(token, "")
    assert f'sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"' in stanza
    assert 'name = "deploy-bot"' in stanza and 'role = "operator"' in stanza

    path = tmp_path / "tokens.toml"
    path.write_text(stanza)
    px = cutover(admin={"address": True, "tokens_file": str(path)})
    out = ctl_raw("--url", f"http://127.0.0.1:{px.admin_port}", "--token", token,
                  "weights", "set", "green=5")
    assert out.returncode == OK, out.stderr
    assert px.admin().audit(limit=1)[0]["actor"] == "deploy-bot"


def test_hash_token_of_a_given_token():
    expected = hashlib.sha256(b"s3cret").hexdigest()
    out = ctl_raw("hash-token", "s3cret")
    assert (out.returncode, out.stdout) == (OK, expected + "\n"), out
    out = ctl_raw("hash-token", "-", stdin="s3cret\nignored\n")
    assert (out.returncode, out.stdout) == (OK, expected + "\n"), out
    out = ctl_raw("hash-token", "-", stdin="")
    assert out.returncode == USAGE, out
    out = ctl_raw("hash-token", "--role", "root")
    assert out.returncode == USAGE and "--role 'root'" in out.stderr, out


# --- transport failures and usage ----------------------------------------------------------


def test_no_server_exits_5(tmp_path):
    out = ctl_raw("--socket", str(tmp_path / "none.sock"), "status")
    assert out.returncode == UNREACHABLE, out
    assert out.stderr.startswith(f"cutover ctl: cannot connect to unix:{tmp_path}/none.sock: ")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = ctl_raw("--url", f"http://127.0.0.1:{port}", "status")
    assert out.returncode == UNREACHABLE, out


def test_silent_server_times_out_with_exit_5(tmp_path):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = str(tmp_path / "silent.sock")
    listener.bind(path)
    listener.listen(1)
    held = []
    t = threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True)
    t.start()
    try:
        started = time.monotonic()
        out = ctl_raw("--socket", path, "--timeout", "0.3", "status")
        elapsed = time.monotonic() - started
        assert out.returncode == UNREACHABLE, out
        assert "timed out waiting for the response" in out.stderr, out.stderr
        assert elapsed < 5, elapsed
    finally:
        t.join(5)
        for c in held:
            c.close()
        listener.close()


def test_not_an_admin_api_exits_5(tmp_path):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = str(tmp_path / "web.sock")
    listener.bind(path)
    listener.listen(1)

    def answer():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        conn.close()

    t = threading.Thread(target=answer, daemon=True)
    t.start()
    try:
        out = ctl_raw("--socket", path, "status")
        assert out.returncode == UNREACHABLE, out
        assert "is not JSON" in out.stderr, out.stderr
    finally:
        t.join(5)
        listener.close()


@pytest.mark.parametrize("args", [
    [],
    ["weights", "set"],
    ["ramp", "green", "5"],
    ["--socket", "/a.sock", "--url", "http://127.0.0.1:1", "status"],
    ["--url", "ftp://127.0.0.1:1", "status"],
    ["--url", "http://127.0.0.1:1", "--cacert", "/ca.pem", "status"],
    ["--url", "https://127.0.0.1:1", "--cert", "/me.pem", "status"],
    ["--timeout", "0", "status"],
    ["rules", "add", "x"],
    ["nosuchcommand"],
])
def test_usage_errors_exit_2(args):
    out = ctl_raw(*args)
    assert out.returncode == USAGE, out


def test_help_lists_exit_codes():
    out = ctl_raw("--help")
    assert out.returncode == OK
    for line in ("0  ok", "3  conflict (409)", "4  not authorised", "5  cannot reach the server"):
        assert line in out.stdout, out.stdout
