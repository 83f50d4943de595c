"""Weighted split and hash affinity through the real binary (DESIGN section 4, issue 3):
per-request split, sticky keys from a cookie / header / the client IP, minted affinity
cookies, determinism across processes, a monotone ramp and rollback through SIGHUP."""

import random
import re
import threading
import time
from collections import Counter

from http_client import build_request, parse_set_cookie

N_SESSIONS = 2000


def _pipelined(px, requests, depth=50, conn=None):
    """Sends the request bytes pipelined `depth` at a time on one connection (a new one
    unless given); returns the responses in order, each checked to be a 200."""
    own = conn is None
    conn = conn or px.connect()
    out = []
    try:
        for i in range(0, len(requests), depth):
            batch = requests[i:i + depth]
            conn.send(b"".join(batch))
            for _ in batch:
                resp = conn.read_response(timeout=10)
                assert resp.status == 200, resp
                out.append(resp)
    finally:
        if own:
            conn.close()
    return out


def _session_ids(n, seed):
    rng = random.Random(seed)
    return [f"s{i}-{rng.getrandbits(48):012x}" for i in range(n)]


def _pools_of_sessions(px, ids, cookie="session"):
    """{session id: backend that answered}, one pipelined request per id."""
    reqs = [build_request("GET", f"/k{i}", [("Cookie", f"{cookie}={sid}")])
            for i, sid in enumerate(ids)]
    return {sid: r.header("X-Backend") for sid, r in zip(ids, _pipelined(px, reqs))}


def _hash_affinity(salt="s", **extra):
    return {"mode": "hash", "source": "cookie:session", "salt": salt, **extra}


def _set_cookies(resp, name=None):
    cookies = [parse_set_cookie(v) for v in resp.header_all("Set-Cookie")]
    return [c for c in cookies if name is None or c[0] == name]


# --- per-request split -----------------------------------------------------------------


def test_weights_90_10_over_20000_requests_within_1_5_points(cutover):
    px = cutover(weights={"blue": 90, "green": 10}, workers=2)
    n_conns, per_conn = 4, 5000
    results = [None] * n_conns
    errors = []

    def run(slot):
        try:
            req = build_request("GET", f"/w{slot}")
            results[slot] = Counter(r.header("X-Backend")
                                    for r in _pipelined(px, [req] * per_conn, depth=25))
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    start = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "client threads still running after 60s"
    assert not errors, errors[0]
    seen = sum(results, Counter())
    n = n_conns * per_conn
    assert set(seen) == {"blue", "green"} and sum(seen.values()) == n, seen
    green = 100.0 * seen["green"] / n
    assert 8.5 <= green <= 11.5, f"green got {green:.2f}% of {n} (want 10 +/- 1.5): {seen}"
    # What the clients saw is what the backends received.
    assert px.green.wait_for(lambda: px.green.request_count == seen["green"], 5)
    assert px.blue.wait_for(lambda: px.blue.request_count == seen["blue"], 5)
    assert time.monotonic() - start < 30


def test_x_cutover_pool_names_the_pool_that_answered(cutover, backends):
    one, two = backends("backend-one"), backends("backend-two")
    px = cutover(pools={"blue": [one.address], "green": [two.address]},
                 weights={"blue": 50, "green": 50}, headers={"x_cutover_pool": True})
    seen = Counter()
    for r in _pipelined(px, [build_request("GET", "/p")] * 200):
        assert len(r.header_all("X-Cutover-Pool")) == 1, r
        seen[(r.header("X-Cutover-Pool"), r.header("X-Backend"))] += 1
    assert set(seen) == {("blue", "backend-one"), ("green", "backend-two")}, seen


def test_x_cutover_pool_is_off_by_default(cutover):
    px = cutover(weights={"blue": 50, "green": 50})
    for r in _pipelined(px, [build_request("GET", "/p")] * 50):
        assert not r.has("X-Cutover-Pool"), r


# --- hash affinity ---------------------------------------------------------------------


def test_session_cookie_keeps_a_client_on_one_pool_for_1000_requests(cutover):
    px = cutover(weights={"blue": 50, "green": 50}, affinity=_hash_affinity())
    pools_used = set()
    for sid in ("alice-1", "bob-2", "carol-3", "dave-4"):
        n = 1000 if sid == "alice-1" else 100
        reqs = [build_request("GET", f"/r{i}", [("Cookie", f"theme=dark; session={sid}")])
                for i in range(n)]
        resps = _pipelined(px, reqs)
        seen = Counter(r.header("X-Backend") for r in resps)
        assert len(seen) == 1, f"session {sid} moved between pools: {seen}"
        pools_used |= set(seen)
        # The client carries its key: nothing to mint.
        assert not any(r.has("Set-Cookie") for r in resps), resps[0]
    # A new connection (same session) lands on the same pool as before.
    again = px.get("/again", headers=[("Cookie", "session=alice-1")])
    assert again.header("X-Backend") in pools_used


def test_2000_sessions_split_50_50_within_5_points(cutover):
    px = cutover(weights={"blue": 50, "green": 50}, affinity=_hash_affinity())
    placed = _pools_of_sessions(px, _session_ids(N_SESSIONS, 1))
    seen = Counter(placed.values())
    green = 100.0 * seen["green"] / N_SESSIONS
    assert 45 <= green <= 55, f"green got {green:.1f}% of {N_SESSIONS} sessions: {seen}"
    # Sticky: the same ids once more, in another order on another connection.
    ids = list(placed)
    random.Random(2).shuffle(ids)
    assert _pools_of_sessions(px, ids) == placed


def test_same_salt_routes_the_same_key_the_same_way_in_another_process(cutover, backends):
    blue, green = backends("blue"), backends("green")
    pools = {"blue": [blue.address], "green": [green.address]}
    config = dict(pools=pools, weights={"blue": 50, "green": 50},
                  affinity=_hash_affinity(salt="fleet-salt"))
    ids = _session_ids(N_SESSIONS, 3)
    first = _pools_of_sessions(cutover(**config), ids)
    second = _pools_of_sessions(cutover(**config), ids)
    moved = [sid for sid in ids if first[sid] != second[sid]]
    assert not moved, f"{len(moved)} keys routed differently by a second process: {moved[:5]}"
    assert set(first.values()) == {"blue", "green"}
    # The salt is part of the hash: another salt gives another (still ~50/50) assignment.
    other = _pools_of_sessions(cutover(**{**config, "affinity": _hash_affinity("other")}), ids)
    differ = sum(first[sid] != other[sid] for sid in ids)
    assert differ > N_SESSIONS // 4, f"only {differ} of {N_SESSIONS} keys changed with the salt"


def test_header_source_is_sticky_per_header_value(cutover):
    px = cutover(weights={"blue": 50, "green": 50},
                 affinity={"mode": "hash", "source": "header:X-User-Id", "salt": "h"})
    users = _session_ids(200, 4)
    reqs = [build_request("GET", "/u", [("X-User-Id", u)]) for u in users]
    first = [r.header("X-Backend") for r in _pipelined(px, reqs)]
    second = [r.header("X-Backend") for r in _pipelined(px, list(reversed(reqs)))]
    assert first == list(reversed(second))
    assert 60 <= Counter(first)["green"] <= 140, Counter(first)


def test_ip_source_keeps_one_client_address_on_one_pool(cutover):
    px = cutover(weights={"blue": 50, "green": 50},
                 affinity={"mode": "hash", "source": "ip", "salt": "ip"})
    seen = Counter()
    for i in range(10):  # new connections (new source ports), same address
        seen.update(r.header("X-Backend")
                    for r in _pipelined(px, [build_request("GET", f"/ip{i}")] * 20))
    assert len(seen) == 1 and sum(seen.values()) == 200, seen


# --- minted affinity cookie ------------------------------------------------------------


def _check_minted(resp, name="cutover_id"):
    cookies = _set_cookies(resp)
    assert len(cookies) == 1, f"expected one Set-Cookie, got {resp.header_all('Set-Cookie')}"
    cname, value, attrs = cookies[0]
    assert cname == name, cookies
    assert re.fullmatch(r"[0-9a-f]{16}", value), f"minted key {value!r} is not 16 hex digits"
    assert attrs.get("path") == "/", attrs
    assert re.fullmatch(r"[1-9][0-9]*", str(attrs.get("max-age"))), attrs
    assert attrs.get("httponly") is True, attrs
    assert str(attrs.get("samesite")).lower() == "lax", attrs
    assert "secure" not in attrs, attrs
    return value


def test_hash_mode_mints_a_cookie_and_the_replayed_cookie_is_sticky(cutover):
    px = cutover(weights={"blue": 50, "green": 50},
                 affinity={"mode": "hash", "salt": "m", "cookie": "cutover_id"})
    minted = {}
    for i in range(100):
        first = px.get(f"/new{i}")
        assert first.status == 200, first
        key = _check_minted(first)
        assert key not in minted, f"key {key} minted twice"
        # The first response was already routed by the minted key.
        n = 200 if i == 0 else 5
        reqs = [build_request("GET", f"/again{j}", [("Cookie", f"cutover_id={key}")])
                for j in range(n)]
        resps = _pipelined(px, reqs)
        assert {r.header("X-Backend") for r in resps} == {first.header("X-Backend")}, \
            f"key {key}: first answer from {first.header('X-Backend')}, then " \
            f"{Counter(r.header('X-Backend') for r in resps)}"
        assert not any(r.has("Set-Cookie") for r in resps), "Set-Cookie although the " \
            "client sent its cutover_id"
        minted[key] = first.header("X-Backend")
    assert set(minted.values()) == {"blue", "green"}, Counter(minted.values())


def test_source_cookie_absent_falls_back_to_the_minted_cookie(cutover):
    px = cutover(weights={"blue": 50, "green": 50}, affinity=_hash_affinity(
        cookie="cutover_id"))
    first = px.get("/no-session")
    key = _check_minted(first)
    reqs = [build_request("GET", "/k", [("Cookie", f"cutover_id={key}")])] * 50
    resps = _pipelined(px, reqs)
    assert {r.header("X-Backend") for r in resps} == {first.header("X-Backend")}
    assert not any(r.has("Set-Cookie") for r in resps)
    # With the configured source present there is nothing to mint.
    assert not px.get("/s", headers=[("Cookie", "session=abc")]).has("Set-Cookie")


# --- ramp and rollback through SIGHUP --------------------------------------------------


def test_ramp_10_to_20_moves_only_blue_sessions_and_rollback_moves_all_to_blue(cutover):
    px = cutover(weights={"blue": 90, "green": 10}, affinity=_hash_affinity(salt="ramp"))
    ids = _session_ids(N_SESSIONS, 5)
    at10 = _pools_of_sessions(px, ids)
    green10 = sum(p == "green" for p in at10.values())
    assert 140 <= green10 <= 260, f"{green10} of {N_SESSIONS} sessions on green at 10%"

    px.reload(weights={"blue": 80, "green": 20})
    at20 = _pools_of_sessions(px, ids)
    back = [sid for sid in ids if at10[sid] == "green" and at20[sid] != "green"]
    assert not back, f"{len(back)} sessions moved green -> blue on a ramp up: {back[:5]}"
    green20 = sum(p == "green" for p in at20.values())
    assert 320 <= green20 <= 480, f"{green20} of {N_SESSIONS} sessions on green at 20%"

    px.reload(weights={"blue": 100, "green": 0})
    rolled = _pools_of_sessions(px, ids)
    assert set(rolled.values()) == {"blue"}, Counter(rolled.values())
