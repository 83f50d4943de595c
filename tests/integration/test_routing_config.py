"""Routing config (pools policies, [routing.affinity], [[routing.rules]]): `cutover check`
accepts the full set of keys, rejects bad values naming the key path and line, and a SIGHUP
with a bad routing config changes nothing (DESIGN section 4, issue 3)."""

import re

import pytest

from proxy_process import binary_path, free_port, render_config, run_cli

PIN_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _need_binary():
    if not binary_path().exists():
        pytest.fail(f"cutover binary not found at {binary_path()} (set CUTOVER_BIN)")


def _full(**over):
    """Every routing key of the contract, valid; `over` replaces top-level arguments."""
    kw = dict(
        pools={
            "blue": {"endpoints": ["127.0.0.1:9001", {"address": "127.0.0.1:9003", "weight": 2}],
                     "failover": "other-pool", "balance": "round-robin",
                     "outlier": {"consecutive_failures": 3, "base_ejection": "10s",
                                 "max_ejection": "5m"},
                     "health_check": {"path": "/healthz", "interval": "200ms",
                                      "timeout": "100ms", "healthy_threshold": 1,
                                      "unhealthy_threshold": 1}},
            "green": {"endpoints": ["127.0.0.1:9002"], "failover": "503",
                      "balance": "power-of-two"},
        },
        weights={"blue": 90, "green": 10},
        headers={"x_cutover_pool": True},
        affinity={"mode": "hash", "source": "cookie:session", "cookie": "cutover_id",
                  "salt": "s", "pin_key": PIN_KEY, "pin_cookie": "cutover_pin"},
        rules=[
            {"name": "beta", "pool": "green", "enabled": True,
             "match": {"header": {"X-Beta": "1"}}},
            {"name": "all-matchers", "pool": "green", "enabled": False,
             "match": {"header_prefix": {"X-Tenant": "beta-"}, "header_present": "X-A",
                       "header_absent": ["X-Legacy"], "header_regex": {"X-V": "^v2\\.[0-9]+$"},
                       "cookie": {"flag": "on"}, "query": {"beta": ["1", "yes"]},
                       "path_prefix": ["/beta/", "/new/"], "method": ["GET", "HEAD"],
                       "client_cidr": ["127.0.0.0/8", "::1/128", "fd00::/8"],
                       "affinity_keys": ["alice", "bob"]}},
        ],
    )
    kw.update(over)
    return render_config(free_port(), **kw)


def _errors(path, stderr):
    """(line or None, key, message) per stderr line; every line must be an error."""
    pattern = re.compile(re.escape(str(path)) +
                         r"(?::(\d+))?: ([A-Za-z0-9_.\[\]\"-]+): (.+)$")
    out = []
    for l in stderr.splitlines():
        if not l.strip():
            continue
        m = pattern.match(l)
        assert m, f"error line not formatted FILE:LINE: key.path: message: {l!r}"
        out.append((int(m.group(1)) if m.group(1) else None, m.group(2), m.group(3)))
    return out


def _line_of(text, needle):
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in config")


def _check(tmp_path, text):
    path = tmp_path / "routing.toml"
    path.write_text(text)
    return path, run_cli("check", "--config", str(path))


def test_check_accepts_every_routing_key(tmp_path):
    path, r = _check(tmp_path, _full())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"config OK: {path}"


def test_check_accepts_pin_mode(tmp_path):
    path, r = _check(tmp_path, _full(affinity={"mode": "pin", "salt": "s", "pin_key": PIN_KEY,
                                               "pin_cookie": "cutover_pin"}))
    assert r.returncode == 0, r.stderr


def _rule(**kw):
    return {"name": "beta", "pool": "green", "match": {"header": {"X-Beta": "1"}}, **kw}


def _affinity(**kw):
    return {"mode": "hash", "source": "cookie:session", "salt": "s", **kw}


def _pools(blue=None, green=None):
    return {"blue": {"endpoints": ["127.0.0.1:9001", "127.0.0.1:9003"], **(blue or {})},
            "green": {"endpoints": ["127.0.0.1:9002"], **(green or {})}}


# (id, render_config overrides, expected key path (regex), text on the offending line or None)
BAD = [
    ("rule-unknown-pool", dict(rules=[_rule(pool="purple")]),
     r"routing\.rules\[0\]\.pool", 'pool = "purple"'),
    ("second-rule-unknown-pool", dict(rules=[_rule(), _rule(name="b2", pool="nope")]),
     r"routing\.rules\[1\]\.pool", 'pool = "nope"'),
    ("rule-without-pool", dict(rules=[{"name": "x", "match": {"header": {"X-A": "1"}}}]),
     r"routing\.rules\[0\](\.pool)?", None),
    ("duplicate-rule-name", dict(rules=[_rule(), _rule(pool="blue")]),
     r"routing\.rules\[1\]\.name", None),
    ("unknown-match-key", dict(rules=[_rule(match={"hedaer": {"X-A": "1"}})]),
     r"routing\.rules\[0\]\.match\.hedaer", "hedaer"),
    ("bad-cidr", dict(rules=[_rule(match={"client_cidr": ["127.0.0.0/33"]})]),
     r"routing\.rules\[0\]\.match\.client_cidr(\[0\])?", "127.0.0.0/33"),
    ("bad-regex", dict(rules=[_rule(match={"header_regex": {"X-V": "(unclosed"}})]),
     r"routing\.rules\[0\]\.match\.header_regex(\.X-V)?", "(unclosed"),
    ("unknown-rule-key", dict(rules=[_rule(colour="red")]),
     r"routing\.rules\[0\]\.colour", "colour"),
    ("pin-without-key", dict(affinity={"mode": "pin", "salt": "s"}),
     r"routing\.affinity(\.pin_key|\.mode)?", None),
    ("pin-key-too-short", dict(affinity={"mode": "pin", "salt": "s", "pin_key": "short"}),
     r"routing\.affinity\.pin_key", 'pin_key = "short"'),
    ("unknown-mode", dict(affinity=_affinity(mode="sticky")),
     r"routing\.affinity\.mode", "sticky"),
    ("bad-source", dict(affinity=_affinity(source="body:x")),
     r"routing\.affinity\.source", "body:x"),
    ("unknown-affinity-key", dict(affinity=_affinity(bogus=1)),
     r"routing\.affinity\.bogus", "bogus"),
    ("bad-failover", dict(pools=_pools(green={"failover": "retry"})),
     r"pools\.green\.failover", '"retry"'),
    ("bad-balance", dict(pools=_pools(blue={"balance": "random"})),
     r"pools\.blue\.balance", '"random"'),
    ("negative-consecutive-failures",
     dict(pools=_pools(blue={"outlier": {"consecutive_failures": -1}})),
     r"pools\.blue\.outlier\.consecutive_failures", "consecutive_failures = -1"),
    ("health-timeout-over-interval",
     dict(pools=_pools(blue={"health_check": {"path": "/h", "interval": "100ms",
                                               "timeout": "1s"}})),
     r"pools\.blue\.health_check\.(timeout|interval)", None),
    ("endpoint-weight-0",
     dict(pools={"blue": {"endpoints": ["127.0.0.1:9001",
                                        {"address": "127.0.0.1:9003", "weight": 0}]},
                 "green": ["127.0.0.1:9002"]}),
     r"pools\.blue\.endpoints\[1\]\.weight", "weight = 0"),
]


@pytest.mark.parametrize("over,key,line_text", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_check_rejects_bad_routing_config_with_key_path(tmp_path, over, key, line_text):
    base = dict(rules=[], affinity=None)
    text = _full(**{**base, **over})
    path, r = _check(tmp_path, text)
    assert r.returncode == 1, f"accepted:\n{text}"
    assert "config OK" not in r.stdout
    errors = _errors(path, r.stderr)
    hits = [(line, k, msg) for line, k, msg in errors if re.fullmatch(key, k)]
    assert hits, f"no error for key {key}: {r.stderr}"
    if not re.search(r"\.(hedaer|colour|bogus)$", key):
        # A known key with a bad value, not a key the loader does not know at all.
        hits = [h for h in hits if not h[2].startswith("unknown key")]
        assert hits, f"{key} reported as an unknown key: {r.stderr}"
    if "pin" in text and "pin_key" not in text:
        assert any("pin_key" in k or "pin_key" in msg for _, k, msg in hits), r.stderr
    if line_text is not None:
        assert _line_of(text, line_text) in [line for line, _, _ in hits], r.stderr


def _beta_proxy(cutover):
    return cutover(weights={"blue": 100, "green": 0}, rules=[_rule()])


def _pools_seen(px, n=10):
    conn = px.connect()
    beta = {conn.get(f"/b{i}", [("X-Beta", "1")]).header("X-Backend") for i in range(n)}
    plain = {conn.get(f"/p{i}").header("X-Backend") for i in range(n)}
    conn.close()
    return beta, plain


@pytest.mark.parametrize("bad", [
    dict(rules=[_rule(pool="purple")], weights={"blue": 0, "green": 100}),
    dict(affinity={"mode": "pin", "salt": "s"}, rules=[], weights={"blue": 0, "green": 100}),
    dict(rules=[_rule(match={"client_cidr": ["300.0.0.0/8"]})],
         weights={"blue": 0, "green": 100}),
], ids=["unknown-pool", "pin-without-key", "bad-cidr"])
def test_sighup_with_bad_routing_config_changes_nothing(cutover, bad):
    px = _beta_proxy(cutover)
    assert _pools_seen(px) == ({"green"}, {"blue"})
    good_kw = dict(px.config_kw)
    px.reconfigure(**bad)
    assert px.sighup_and_wait() == "rejected"
    assert _pools_seen(px) == ({"green"}, {"blue"}), "a rejected reload changed the routing"
    assert px.alive()
    # The old routing still reloads fine, and a valid change applies.
    px.config_kw = good_kw
    px.reload(weights={"blue": 0, "green": 100}, rules=[])
    assert _pools_seen(px) == ({"green"}, {"green"})
