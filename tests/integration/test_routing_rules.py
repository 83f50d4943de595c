"""Routing rules (feature flags) through the real binary (DESIGN section 4, issue 3): a
matching rule beats the weights, a disabled rule does nothing, the first matching rule
wins, every matcher, and the access log names the reason and the rule."""

import json
import time

from http_client import build_request

NOT_A_RULE = (None, "", "-")


def _poll_log(path, n, timeout=5.0):
    """The first n access log entries (parsed), polling until they are written."""
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        if path.exists():
            lines = [l for l in path.read_text().splitlines() if l.strip()]
            if len(lines) >= n:
                return [json.loads(l) for l in lines]
        time.sleep(0.02)  # poll interval
    raise AssertionError(f"expected {n} access log lines in {path}, got {len(lines)}")


def _log(tmp_path, name="access.log"):
    return {"access": True, "access_path": str(tmp_path / name), "level": "info"}


def _send(px, method, target, headers=(), body=None):
    conn = px.connect()
    try:
        resp = conn.request(method, target, list(headers), body)
    finally:
        conn.close()
    assert resp.status == 200, resp
    return resp.header("X-Backend")


def _by_path(entries):
    return {e["path"].split("?")[0]: e for e in entries}


def _beta_rule(**extra):
    return {"name": "beta", "pool": "green", "enabled": True,
            "match": {"header": {"X-Beta": "1"}}, **extra}


def test_header_rule_beats_the_weights_and_is_logged(cutover, tmp_path):
    px = cutover(weights={"blue": 100, "green": 0}, rules=[_beta_rule()], log=_log(tmp_path))
    conn = px.connect()
    sent = []  # (path, expected pool, expected rule)
    for i in range(20):
        conn.send(build_request("GET", f"/beta{i}", [("X-Beta", "1")]))
        conn.send(build_request("GET", f"/plain{i}"))
        sent += [(f"/beta{i}", "green", "beta"), (f"/plain{i}", "blue", None)]
    for path, pool, _ in sent:
        resp = conn.read_response()
        assert resp.status == 200 and resp.header("X-Backend") == pool, (path, resp)
    # Header names are case-insensitive; the value is matched exactly.
    for path, headers, pool, rule in (("/lower", [("x-beta", "1")], "green", "beta"),
                                      ("/two", [("X-Beta", "2")], "blue", None),
                                      ("/ten", [("X-Beta", "10")], "blue", None)):
        assert _send(px, "GET", path, headers) == pool, path
        sent.append((path, pool, rule))
    assert px.green.request_count == 21 and px.blue.request_count == 22

    entries = _by_path(_poll_log(tmp_path / "access.log", len(sent)))
    for path, pool, rule in sent:
        e = entries[path]
        assert e["pool"] == pool, e
        if rule:
            assert e.get("reason") == "rule" and e.get("rule") == rule, e
        else:
            assert e.get("reason") == "weight" and e.get("rule") in NOT_A_RULE, e


def test_empty_header_value_does_not_match_an_exact_rule(cutover):
    """An empty field value is valid HTTP (RFC 9110 section 5.5); it is not "1"."""
    px = cutover(weights={"blue": 100, "green": 0}, rules=[_beta_rule()])
    for raw in (b"GET /e1 HTTP/1.1\r\nHost: x\r\nX-Beta: \r\n\r\n",
                b"GET /e2 HTTP/1.1\r\nHost: x\r\nX-Beta:\r\n\r\n"):
        conn = px.connect()
        conn.send(raw)
        resp = conn.read_response()
        conn.close()
        assert resp.status == 200 and resp.header("X-Backend") == "blue", (raw, resp)


def test_disabled_rule_does_nothing_until_enabled_by_reload(cutover):
    px = cutover(weights={"blue": 100, "green": 0}, rules=[_beta_rule(enabled=False)])
    for i in range(10):
        assert _send(px, "GET", f"/off{i}", [("X-Beta", "1")]) == "blue"
    assert px.green.request_count == 0
    px.reload(rules=[_beta_rule(enabled=True)])
    for i in range(10):
        assert _send(px, "GET", f"/on{i}", [("X-Beta", "1")]) == "green"
    assert _send(px, "GET", "/none") == "blue"


def test_first_matching_rule_wins(cutover):
    to_green = {"name": "to-green", "pool": "green", "match": {"header_present": "X-A"}}
    to_blue = {"name": "to-blue", "pool": "blue", "match": {"header_present": "X-A"}}
    # 50/50 weights: only a rule can make 40 requests in a row land on one pool.
    px = cutover(weights={"blue": 50, "green": 50}, rules=[to_green, to_blue])
    assert {_send(px, "GET", f"/g{i}", [("X-A", "x")]) for i in range(40)} == {"green"}
    px.reload(rules=[to_blue, to_green])
    assert {_send(px, "GET", f"/b{i}", [("X-A", "x")]) for i in range(40)} == {"blue"}
    # Without the header the weights decide.
    assert {_send(px, "GET", f"/w{i}") for i in range(60)} == {"blue", "green"}


def test_path_prefix_rule(cutover):
    px = cutover(weights={"blue": 100, "green": 0},
                 rules=[{"name": "new-ui", "pool": "green", "match": {"path_prefix": "/beta/"}}])
    for target, pool in (("/beta/", "green"), ("/beta/x", "green"), ("/beta/a/b?c=d", "green"),
                         ("/betax", "blue"), ("/beta", "blue"), ("/other/beta/", "blue"),
                         ("/", "blue")):
        assert _send(px, "GET", target) == pool, target


def test_client_cidr_rule_and_conditions_are_anded(cutover, tmp_path):
    rules = [
        {"name": "elsewhere", "pool": "green",
         "match": {"client_cidr": ["10.0.0.0/8", "::1/128"], "path_prefix": "/a"}},
        {"name": "local", "pool": "green",
         "match": {"client_cidr": ["127.0.0.0/8"], "path_prefix": "/b"}},
    ]
    px = cutover(weights={"blue": 100, "green": 0}, rules=rules, log=_log(tmp_path))
    assert _send(px, "GET", "/a1") == "blue"  # 127.0.0.1 is not in 10/8 or ::1
    assert _send(px, "GET", "/b1") == "green"
    assert _send(px, "GET", "/c1") == "blue"  # in 127/8, but not under /b
    entries = _by_path(_poll_log(tmp_path / "access.log", 3))
    assert entries["/b1"].get("rule") == "local" and entries["/b1"].get("reason") == "rule"
    assert entries["/a1"].get("reason") == "weight" and entries["/c1"].get("reason") == "weight"


def test_every_matcher_routes_what_it_matches_and_nothing_else(cutover, tmp_path):
    rules = [
        {"name": "tenant", "pool": "green", "match": {"header_prefix": {"X-Tenant": "beta-"}}},
        {"name": "version", "pool": "green",
         "match": {"header_regex": {"X-Version": "^v2\\.[0-9]+$"}}},
        {"name": "flag-cookie", "pool": "green", "match": {"cookie": {"flag": "on"}}},
        {"name": "flag-query", "pool": "green", "match": {"query": {"beta": "1"}}},
        {"name": "writes", "pool": "green", "match": {"method": ["PUT", "DELETE"]}},
        {"name": "no-legacy", "pool": "green",
         "match": {"header_absent": "X-Legacy", "path_prefix": "/absent"}},
        {"name": "testers", "pool": "green", "match": {"affinity_keys": ["alice", "bob"]}},
    ]
    px = cutover(weights={"blue": 100, "green": 0}, rules=rules, log=_log(tmp_path),
                 affinity={"mode": "hash", "source": "header:X-User", "salt": "t"})
    cases = [  # (method, target, headers, rule or None)
        ("GET", "/t1", [("X-Tenant", "beta-42")], "tenant"),
        ("GET", "/t2", [("X-Tenant", "alpha-beta-1")], None),
        ("GET", "/t3", [("X-Tenant", "BETA-1")], None),
        ("GET", "/v1", [("X-Version", "v2.13")], "version"),
        ("GET", "/v2", [("X-Version", "v2.x")], None),
        ("GET", "/v3", [("X-Version", "xv2.1")], None),
        ("GET", "/c1", [("Cookie", "a=1; flag=on; z=2")], "flag-cookie"),
        ("GET", "/c2", [("Cookie", "flag=off")], None),
        ("GET", "/c3", [("Cookie", "xflag=on")], None),
        ("GET", "/q1?x=2&beta=1", [], "flag-query"),
        ("GET", "/q2?beta=10", [], None),
        ("GET", "/q3?notbeta=1", [], None),
        ("DELETE", "/m1", [], "writes"),
        ("PUT", "/m2", [], "writes"),
        ("POST", "/m3", [], None),
        ("GET", "/absent1", [], "no-legacy"),
        ("GET", "/absent2", [("X-Legacy", "1")], None),
        ("GET", "/k1", [("X-User", "alice")], "testers"),
        ("GET", "/k2", [("X-User", "bob")], "testers"),
        ("GET", "/k3", [("X-User", "carol")], None),
    ]
    for method, target, headers, rule in cases:
        body = b"x" if method in ("PUT", "POST") else None
        got = _send(px, method, target, headers, body)
        assert got == ("green" if rule else "blue"), (method, target, headers, got)
    entries = _by_path(_poll_log(tmp_path / "access.log", len(cases)))
    for method, target, headers, rule in cases:
        e = entries[target.split("?")[0]]
        if rule:
            assert (e.get("reason"), e.get("rule")) == ("rule", rule), (target, e)
        else:
            assert e.get("reason") == "weight" and e.get("rule") in NOT_A_RULE, (target, e)
