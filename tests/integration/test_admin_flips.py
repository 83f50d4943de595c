"""Zero-error flips (docs/admin-api.md, "How a change is applied"): 1000 weight changes
through the admin API while clients keep sending, on keep-alive and on fresh connections.
No request may fail, and every request sent after a change was acknowledged and answered
before the next change was sent went to a pool that change gave a weight above 0."""

import bisect
import math
import random
import threading
import time
from dataclasses import dataclass, field

import pytest

from http_client import ClientConn
from recording_backend import Response

CHANGES = 1000
MIN_SECONDS = 10.0  # changes are paced so the run lasts at least this long
DWELL = 0.004  # each change stays at least this long (s), so requests fall between changes
MAX_SECONDS = 90.0  # the whole run, load included, must end within this bound
KEEPALIVE_CLIENTS = 3
FRESH_CLIENTS = 1  # one new connection per request
REQUEST_TIMEOUT = 5.0


@dataclass
class Sent:
    t0: float  # before the request was written
    t1: float  # after the whole response was read
    target: str
    backend: str


@dataclass
class Client:
    sent: list = field(default_factory=list)
    failures: list = field(default_factory=list)


def _plan(rng: random.Random) -> list:
    """Blue 100, green 100, then a random split, over and over."""
    plan = []
    for i in range(CHANGES):
        if i % 3 == 0:
            plan.append({"blue": 100, "green": 0})
        elif i % 3 == 1:
            plan.append({"blue": 0, "green": 100})
        else:
            b = rng.randint(1, 99)
            plan.append({"blue": b, "green": 100 - b})
    return plan


def _load(port: int, cid: int, keep_alive: bool, stop: threading.Event, deadline: float,
          out: Client) -> None:
    conn = None
    seq = 0
    while not stop.is_set() and time.monotonic() < deadline:
        target = f"/c{cid}/{seq}"
        seq += 1
        t0 = time.monotonic()
        try:
            if conn is None:
                conn = ClientConn(port, REQUEST_TIMEOUT)
            resp = conn.get(target)
            t1 = time.monotonic()
        except Exception as e:  # any failure counts; the connection is replaced
            out.failures.append(f"{target}: {e!r}")
            if conn is not None:
                conn.close()
            conn = None
            continue
        backend = resp.header("X-Backend")
        if resp.status != 200 or backend not in ("blue", "green") or \
                resp.body != f"{backend} GET {target}\n".encode():
            out.failures.append(f"{target}: {resp!r}")
        else:
            out.sent.append(Sent(t0, t1, target, backend))
        if not keep_alive or "close" in resp.connection_tokens():
            conn.close()
            conn = None
    if conn is not None:
        conn.close()


@pytest.mark.multiworker
def test_1000_flips_under_load_fail_no_request(cutover):
    px = cutover(admin=True, workers=2, timeouts={"idle": "60s"})
    rng = random.Random(20261125)
    plan = _plan(rng)
    admin = px.admin(keep_alive=True)
    v0 = admin.state()["version"]

    stop = threading.Event()
    hard_deadline = time.monotonic() + MAX_SECONDS
    clients = [Client() for _ in range(KEEPALIVE_CLIENTS + FRESH_CLIENTS)]
    threads = [threading.Thread(target=_load, daemon=True, name=f"load-{i}",
                                args=(px.port, i, i < KEEPALIVE_CLIENTS, stop, hard_deadline,
                                      clients[i]))
               for i in range(len(clients))]
    sends, acks, answers = [], [], []
    try:
        for t in threads:
            t.start()
        start = time.monotonic()
        interval = MIN_SECONDS / (CHANGES - 1)  # the last change goes out at MIN_SECONDS
        for i, weights in enumerate(plan):
            assert time.monotonic() < hard_deadline, f"only {i} changes in {MAX_SECONDS}s"
            not_before = start + i * interval
            if acks:
                not_before = max(not_before, acks[-1] + DWELL)
            pause = not_before - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # pacing: spread the changes, let each one dwell
            t_send = time.monotonic()
            r = admin.put_weights(weights)
            t_ack = time.monotonic()
            sends.append(t_send)
            acks.append(t_ack)
            answers.append(r)
            assert r.status == 200, (i, r)
        elapsed = time.monotonic() - start
        # Let the clients run a little on the last change too.
        tail_end = time.monotonic() + 0.5
        while time.monotonic() < tail_end and all(t.is_alive() for t in threads):
            time.sleep(0.05)  # pacing the tail, nothing to wait for
    finally:
        stop.set()
        for t in threads:
            t.join(REQUEST_TIMEOUT + 5)
        admin.close()
    assert not any(t.is_alive() for t in threads), "a load thread did not stop"

    # Every change was applied by both workers, one version each, over one connection.
    for i, (r, weights) in enumerate(zip(answers, plan)):
        body = r.json
        assert body["weights"] == weights and body["workers"] == 2, (i, body)
        assert body["version"] == v0 + i + 1, (i, body["version"])
    assert admin.connections_opened == 1, "the admin connection was not kept alive"
    assert elapsed >= MIN_SECONDS

    # Zero failed requests.
    failures = [f for c in clients for f in c.failures]
    sent = [s for c in clients for s in c.sent]
    assert not failures, f"{len(failures)} failed requests of {len(sent) + len(failures)}: " \
                         f"{failures[:10]}"
    assert len(sent) >= 2000, f"only {len(sent)} requests in {elapsed:.1f}s"
    for c in clients[KEEPALIVE_CLIENTS:]:
        assert len(c.sent) >= 100, "the fresh-connection client barely ran"

    # Each request reached the backend that answered it, exactly once.
    received = {}
    for backend in (px.blue, px.green):
        for req in backend.requests:
            received.setdefault(req.target, []).append(backend.name)
    wrong = [(s.target, s.backend, received.get(s.target)) for s in sent
             if received.get(s.target) != [s.backend]]
    assert not wrong, wrong[:10]

    # Traffic follows the weights: a request that started after change i was acknowledged
    # and ended before change i+1 was sent was routed under change i alone.
    checked = {"pure": 0, "split": 0}
    pure_windows = set()
    exp_green = var_green = 0.0
    obs_green = 0
    violations = []
    for s in sent:
        i = bisect.bisect_right(acks, s.t0) - 1
        if i < 0 or (i + 1 < len(sends) and s.t1 > sends[i + 1]):
            continue  # overlaps a change: either snapshot is right
        weights = plan[i]
        if weights[s.backend] <= 0:
            violations.append((i, weights, s.target, s.backend))
        if 0 in weights.values():
            checked["pure"] += 1
            pure_windows.add(i)
        else:
            checked["split"] += 1
            p = weights["green"] / 100
            exp_green += p
            var_green += p * (1 - p)
            obs_green += s.backend == "green"
    print(f"flips: {len(sent)} requests in {elapsed:.1f}s; checked {checked}, "
          f"{len(pure_windows)} pure windows; green {obs_green} vs {exp_green:.0f} expected")
    assert not violations, f"{len(violations)} requests went to a pool at weight 0 " \
                           f"after the change was acknowledged: {violations[:10]}"
    # Enough of the run was checkable for the check to mean something.
    assert checked["pure"] >= 500 and len(pure_windows) >= 300, (checked, len(pure_windows))
    assert checked["split"] >= 200, checked
    # Within split windows, green's share follows the weights (a 6-sigma bound).
    assert abs(obs_green - exp_green) <= 6 * math.sqrt(var_green) + 5, \
        (obs_green, exp_green, var_green)

    # The state the proxy ends with is the last change.
    assert px.admin().state()["weights"] == plan[-1]


@pytest.mark.multiworker
def test_a_request_in_flight_finishes_on_its_snapshot_and_does_not_hold_the_change(cutover):
    px = cutover(admin=True, workers=2)
    release = threading.Event()
    px.blue.handler = lambda req: Response(200, headers=[("X-Backend", "blue")],
                                           body=b"held", hold=release)
    conn = px.connect()
    try:
        conn.send(b"GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
        px.blue.wait_requests(1)
        # The change is acknowledged while the request is still held by blue.
        t0 = time.monotonic()
        r = px.admin().put_weights({"blue": 0, "green": 100})
        assert r.status == 200 and r.json["workers"] == 2, r
        assert time.monotonic() - t0 < 2.0
        assert not release.is_set()
        # New requests go to green at once, on other connections.
        other = px.connect()
        assert [other.get(f"/new{i}").header("X-Backend") for i in range(10)] == ["green"] * 10
    finally:
        release.set()
    resp = conn.read_response(timeout=5)
    assert resp.status == 200 and resp.body == b"held" and resp.header("X-Backend") == "blue"
    # The next request on the same connection uses the new snapshot.
    resp = conn.get("/after")
    assert resp.status == 200 and resp.header("X-Backend") == "green", resp
