"""Endpoint choice, retries, health and failover through the real binary (DESIGN section 4,
issue 3): failover to the other pool or 503, one retry on another endpoint after a refused
connect (and, for idempotent requests only, after a reset before any response byte),
weighted round robin and power-of-two choices, active health checks and passive ejection."""

import json
import threading
import time
from collections import Counter

import pytest

from proxy_process import free_port
from recording_backend import CLOSE, Response, identify_handler

NO_OUTLIER = {"consecutive_failures": 0}
# One probe decides (threshold 1), so the timeout leaves room for a Python backend on a busy
# CI machine: at 100 ms a healthy endpoint occasionally timed out and its pool failed over.
HEALTH = {"path": "/healthz", "interval": "300ms", "timeout": "250ms",
          "healthy_threshold": 1, "unhealthy_threshold": 1}


def _raw_ok(name):
    """The whole response in one write: a kill can cut a connection before or after it,
    never inside it."""
    body = f"{name}\n".encode()
    raw = (f"HTTP/1.1 200 OK\r\nX-Backend: {name}\r\nContent-Length: {len(body)}\r\n\r\n"
           .encode() + body)
    return lambda req: raw


def _served(backend):
    """Requests the backend got, health checks left out."""
    return sum(1 for r in list(backend.requests) if r.target != "/healthz")


# --- failover --------------------------------------------------------------------------


@pytest.mark.parametrize("n_green", [1, 2])
@pytest.mark.multiworker
def test_killing_every_green_endpoint_under_load_fails_no_get(cutover, backends, n_green):
    blue = backends("blue")
    greens = [backends("green", _raw_ok("green")) for _ in range(n_green)]
    outlier = {"consecutive_failures": 3, "base_ejection": "10s", "max_ejection": "5m"}
    pools = {"blue": {"endpoints": [blue.address], "failover": "other-pool", "outlier": outlier},
             "green": {"endpoints": [g.address for g in greens], "failover": "other-pool",
                       "outlier": outlier}}
    px = cutover(pools=pools, weights={"blue": 50, "green": 50}, workers=2,
                 headers={"x_cutover_pool": True})
    results = []  # (sent at, status or exception text, backend, pool)
    lock = threading.Lock()
    stop = threading.Event()

    def client(slot):
        conn = px.connect()
        i = 0
        while not stop.is_set():
            sent = time.monotonic()
            try:
                r = conn.get(f"/load{slot}-{i}", timeout=5)
                row = (sent, r.status, r.header("X-Backend"), r.header("X-Cutover-Pool"))
                if r.connection_tokens() & {"close"}:
                    conn.close()
                    conn = px.connect()
            except Exception as e:  # a failed request: recorded, asserted below
                row = (sent, f"{type(e).__name__}: {e}", None, None)
                conn.close()
                conn = px.connect()
            with lock:
                results.append(row)
            i += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    start = time.monotonic()
    for t in threads:
        t.start()
    try:
        assert all(g.wait_for(lambda g=g: g.request_count >= 20, 5) for g in greens), \
            "green endpoints got no traffic before the kill"
        for g in greens:
            g.stop()
        killed = time.monotonic()
        while time.monotonic() < max(start + 3.0, killed + 2.0) and all(
                t.is_alive() for t in threads):
            time.sleep(0.05)  # the load runs on in the client threads
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    failed = [r for r in results if r[1] != 200]
    assert not failed, f"{len(failed)} of {len(results)} GETs failed, e.g. {failed[:3]}"
    after = [r for r in results if r[0] > killed]
    assert len(after) >= 100, f"only {len(after)} requests after the kill"
    assert {(r[2], r[3]) for r in after} == {("blue", "blue")}, Counter((r[2], r[3]) for r in after)
    before = Counter(r[2] for r in results if r[0] <= killed)
    assert before["green"] > 0 and before["blue"] > 0, before


def test_failover_503_answers_503_for_the_dead_pool_while_blue_serves_its_share(cutover,
                                                                                 backends):
    blue = backends("blue")
    pools = {"blue": [blue.address],
             "green": {"endpoints": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"],
                       "failover": "503"}}
    px = cutover(pools=pools, weights={"blue": 50, "green": 50})
    statuses = Counter()
    for i in range(300):
        r = px.get(f"/f{i}", timeout=5)
        statuses[(r.status, r.header("X-Backend"))] += 1
    assert set(statuses) <= {(200, "blue"), (503, None)}, statuses
    n503 = statuses[(503, None)]
    assert 100 <= n503 <= 200, f"{n503} of 300 answered 503 at 50/50 weights: {statuses}"
    assert blue.request_count == statuses[(200, "blue")]


# --- retries ---------------------------------------------------------------------------


def test_refused_connect_is_retried_on_another_endpoint(cutover, backends):
    live, green = backends("blue"), backends("green")
    dead = f"127.0.0.1:{free_port()}"
    pools = {"blue": {"endpoints": [dead, live.address], "balance": "round-robin",
                      "outlier": NO_OUTLIER},
             "green": [green.address]}
    px = cutover(pools=pools, weights={"blue": 100, "green": 0})
    conn = px.connect()
    for i in range(100):
        r = conn.get(f"/g{i}")
        assert r.status == 200 and r.header("X-Backend") == "blue", (i, r)
    # Each request reached the live endpoint exactly once, and nothing failed over.
    assert [q.target for q in live.requests] == [f"/g{i}" for i in range(100)]
    assert green.request_count == 0


def test_post_to_a_dead_endpoint_is_not_retried_elsewhere(cutover, backends):
    green = backends("green")
    pools = {"blue": {"endpoints": [f"127.0.0.1:{free_port()}"], "failover": "503",
                      "outlier": NO_OUTLIER},
             "green": [green.address]}
    px = cutover(pools=pools, weights={"blue": 100, "green": 0})
    conn = px.connect()
    r = conn.request("POST", "/upload", [("Content-Type", "text/plain")], b"payload " * 100)
    # The pool's only endpoint refused and its policy is "503": nothing else to try.
    assert r.status == 503, r
    assert green.request_count == 0


def test_reset_before_response_is_retried_for_get_but_not_for_post(cutover, backends):
    dropper = backends("dropper", lambda req: CLOSE)  # reads the request, closes, no reply
    good = backends("good")
    pools = {"blue": {"endpoints": [dropper.address, good.address], "balance": "round-robin",
                      "outlier": NO_OUTLIER},
             "green": [backends("green").address]}
    px = cutover(pools=pools, weights={"blue": 100, "green": 0})
    answers = [px.get(f"/get{i}") for i in range(20)]
    # Retries are bounded: at most one attempt on the dropping endpoint per request.
    attempts = Counter(q.target for q in dropper.requests)
    assert set(attempts.values()) <= {1}, f"GETs sent to the dropping endpoint repeatedly: " \
        f"{attempts}"
    for i, r in enumerate(answers):
        assert r.status == 200 and r.header("X-Backend") == "good", (i, r)
    assert dropper.request_count >= 5, "round robin never chose the dropping endpoint"
    assert sorted(q.target for q in good.requests) == sorted(f"/get{i}" for i in range(20))

    statuses = {}
    for i in range(10):
        conn = px.connect()
        statuses[f"/post{i}"] = conn.request("POST", f"/post{i}", body=b"once").status
        conn.close()
    dropped = {q.target for q in dropper.requests if q.method == "POST"}
    served = [q.target for q in good.requests if q.method == "POST"]
    assert dropped, "round robin never sent a POST to the dropping endpoint"
    attempts = Counter(q.target for q in dropper.requests if q.method == "POST")
    assert set(attempts.values()) == {1}, f"POSTs retried on the same endpoint: {attempts}"
    assert not dropped & set(served), f"POSTs retried on another endpoint: {dropped & set(served)}"
    assert all(statuses[t] == 502 for t in dropped), statuses
    assert all(statuses[t] == 200 for t in served), statuses
    assert len(dropped) + len(served) == 10


# --- endpoint choice -------------------------------------------------------------------


def test_weighted_round_robin_follows_endpoint_weights(cutover, backends):
    one, two = backends("one"), backends("two")
    pools = {"blue": {"endpoints": [one.address, {"address": two.address, "weight": 2}],
                      "balance": "round-robin"},
             "green": [backends("green").address]}
    px = cutover(pools=pools, weights={"blue": 100, "green": 0})
    conn = px.connect()
    seen = Counter(conn.get(f"/rr{i}").header("X-Backend") for i in range(300))
    assert 85 <= seen["one"] <= 115 and 185 <= seen["two"] <= 215, seen


def test_power_of_two_prefers_the_endpoint_with_fewer_requests_in_flight(cutover, backends):
    slow = backends("slow", lambda req: Response(200, headers=[("X-Backend", "slow")],
                                                 body=b"slow", delay=0.2))
    fast = backends("fast")
    pools = {"blue": {"endpoints": [slow.address, fast.address], "balance": "power-of-two"},
             "green": [backends("green").address]}
    px = cutover(pools=pools, weights={"blue": 100, "green": 0})
    seen = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + 1.5

    def client(slot):
        conn = px.connect()
        i = 0
        while time.monotonic() < deadline:
            r = conn.get(f"/p2c{slot}-{i}", timeout=5)
            with lock:
                seen[(r.status, r.header("X-Backend"))] += 1
            i += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    total = sum(seen.values())
    assert set(seen) <= {(200, "slow"), (200, "fast")}, seen
    assert total >= 100 and seen[(200, "slow")] <= 0.1 * total, \
        f"power-of-two sent {seen[(200, 'slow')]} of {total} requests to the slow endpoint"


# --- active health checks --------------------------------------------------------------


def _health_switch(name, how):
    """Identifies itself; /healthz answers 200, or while state["sick"] 503 / too slowly."""
    state = {"sick": False}
    ident = identify_handler(name)

    def handle(req):
        if req.target != "/healthz":
            return ident(req)
        if not state["sick"]:
            return Response(200, body=b"ok")
        return Response(503, body=b"sick") if how == "503" else Response(200, delay=0.6)

    return state, handle


def _poll_backend(conn, want, run=20, timeout=3.0):
    """Sends requests until `run` in a row come from `want`; seconds it took, or fails."""
    start = time.monotonic()
    streak = 0
    i = 0
    while time.monotonic() - start < timeout:
        r = conn.get(f"/poll{i}")
        i += 1
        assert r.status == 200, r
        streak = streak + 1 if r.header("X-Backend") == want else 0
        if streak >= run:
            return time.monotonic() - start
        time.sleep(0.01)  # poll interval
    raise AssertionError(f"no {run} answers in a row from {want} within {timeout}s")


@pytest.mark.parametrize("how", ["503", "slow"])
@pytest.mark.multiworker
def test_health_check_takes_an_endpoint_out_and_brings_it_back(cutover, backends, how):
    state, handler = _health_switch("one", how)
    one, two = backends("one", handler), backends("two")
    pools = {"blue": {"endpoints": [one.address, two.address], "balance": "round-robin",
                      "outlier": NO_OUTLIER, "health_check": HEALTH},
             "green": [backends("green").address]}
    px = cutover(pools=pools, weights={"blue": 100, "green": 0})
    assert one.wait_for(lambda: any(r.target == "/healthz" and r.method == "GET"
                                    for r in one.requests), 3), "no GET /healthz within 3s"
    conn = px.connect()
    assert Counter(conn.get(f"/both{i}").header("X-Backend") for i in range(20)) == \
        Counter(one=10, two=10)

    state["sick"] = True
    took = _poll_backend(conn, "two")
    assert took < 2.0, f"the failing endpoint kept traffic for {took:.2f}s"
    before = _served(one)
    assert {conn.get(f"/out{i}").header("X-Backend") for i in range(30)} == {"two"}
    assert _served(one) == before

    state["sick"] = False
    start = time.monotonic()
    while _served(one) == before:
        assert time.monotonic() - start < 3.0, "the restored endpoint got no traffic in 3s"
        assert conn.get("/back").status == 200
        time.sleep(0.01)  # poll interval
    again = Counter(conn.get(f"/again{i}").header("X-Backend") for i in range(20))
    assert again["one"] >= 5 and again["two"] >= 5, again


@pytest.mark.multiworker
def test_unhealthy_pool_fails_over_to_the_other_pool_and_comes_back(cutover, backends,
                                                                     tmp_path):
    state, handler = _health_switch("green", "503")
    green, blue = backends("green", handler), backends("blue")
    log_path = tmp_path / "access.log"
    pools = {"blue": [blue.address],
             "green": {"endpoints": [green.address], "failover": "other-pool",
                       "outlier": NO_OUTLIER, "health_check": HEALTH}}
    px = cutover(pools=pools, weights={"blue": 0, "green": 100},
                 headers={"x_cutover_pool": True},
                 log={"access": True, "access_path": str(log_path), "level": "info"})
    conn = px.connect()
    assert conn.get("/up").header("X-Backend") == "green"
    state["sick"] = True
    _poll_backend(conn, "blue")
    r = conn.get("/failed-over")
    assert (r.header("X-Backend"), r.header("X-Cutover-Pool")) == ("blue", "blue"), r
    state["sick"] = False
    _poll_backend(conn, "green")

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "/failed-over" not in log_path.read_text():
        time.sleep(0.02)  # poll interval
    entries = {e["path"]: e for e in map(json.loads, log_path.read_text().splitlines())}
    assert entries["/failed-over"]["pool"] == "blue"
    assert entries["/failed-over"].get("reason") == "failover", entries["/failed-over"]
    assert entries["/up"].get("reason") == "weight", entries["/up"]


# --- passive ejection ------------------------------------------------------------------


@pytest.mark.multiworker
def test_consecutive_5xx_eject_an_endpoint_for_the_ejection_period(cutover, backends):
    bad = backends("bad", lambda req: Response(500, headers=[("X-Backend", "bad")], body=b"x"))
    good = backends("good")
    outlier = {"consecutive_failures": 3, "base_ejection": "1s", "max_ejection": "5m"}
    pools = {"blue": {"endpoints": [bad.address, good.address], "balance": "round-robin",
                      "outlier": outlier},
             "green": [backends("green").address]}
    px = cutover(pools=pools, weights={"blue": 100, "green": 0})
    conn = px.connect()
    seen = Counter()
    for i in range(20):
        r = conn.get(f"/e{i}")
        seen[(r.status, r.header("X-Backend"))] += 1
        if bad.request_count >= 3:
            break
    ejected_at = time.monotonic()
    # 5xx answers are passed on, not retried.
    assert seen[(500, "bad")] == 3 and bad.request_count == 3, seen

    i = 0
    while time.monotonic() < ejected_at + 0.6:
        r = conn.get(f"/ejected{i}")
        assert (r.status, r.header("X-Backend")) == (200, "good"), (i, r)
        i += 1
    assert i >= 20 and bad.request_count == 3

    while bad.request_count == 3:
        assert time.monotonic() < ejected_at + 5, "the endpoint never came back after 5s"
        conn.get("/probe")
        time.sleep(0.01)  # poll interval
    back_after = time.monotonic() - ejected_at
    assert back_after >= 0.8, f"ejected for only {back_after:.2f}s with base_ejection = 1s"
