"""Faults under load (issue 7, item 5; docs/robustness.md, "Faults under load").

A bounded load (keep-alive clients and one connection-per-request client, idempotent GETs
only) runs on loopback while a green endpoint is stopped and restarted, weights are flipped
through the admin API, the config is reloaded with SIGHUP, and the proxy itself is replaced
by a second process on the same SO_REUSEPORT port. Every response is recorded; no
idempotent request may fail beyond what the documented retry rules allow, and no
acknowledged admin change is lost."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest

from admin_helpers import poll, state_file_path
from http_client import ClientConn, ConnectionClosed
from proxy_process import CutoverProcess

KEEPALIVE_CLIENTS = 3
FRESH_CLIENTS = 1
REQUEST_TIMEOUT = 5.0
LOAD_SECONDS = 15.0  # hard bound of one load run


@dataclass
class Load:
    port: int
    ok: int = 0
    failures: list = field(default_factory=list)  # (target, what)
    answered: list = field(default_factory=list)  # (target, backend) of each 200
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list = field(default_factory=list)
    retry_reused: bool = False  # retry once after a close of a reused idle connection
    retried: list = field(default_factory=list)  # (target, why) of those retries
    # Failures on a brand-new connection closed before any byte: what the kernel's reset of a
    # closing listener's accept queue looks like (see the rolling restart test).
    fresh_closed: list = field(default_factory=list)

    def start(self) -> "Load":
        deadline = time.monotonic() + LOAD_SECONDS
        for cid in range(KEEPALIVE_CLIENTS + FRESH_CLIENTS):
            t = threading.Thread(target=self._run, args=(cid, cid < KEEPALIVE_CLIENTS, deadline),
                                 daemon=True, name=f"load-{cid}")
            self.threads.append(t)
            t.start()
        return self

    def _run(self, cid: int, keep_alive: bool, deadline: float) -> None:
        conn = None
        seq = 0
        while not self.stop.is_set() and time.monotonic() < deadline:
            target = f"/c{cid}/{seq}"
            seq += 1
            try:
                reused = conn is not None
                if conn is None:
                    conn = ClientConn(self.port, REQUEST_TIMEOUT)
                try:
                    resp = conn.get(target)
                except (ConnectionClosed, ConnectionError) as e:
                    # RFC 9112 section 9.3.1: a reused connection closed before any response
                    # byte may have raced the server's close of an idle connection; an
                    # idempotent request is retried once on a new connection (browsers,
                    # curl, Go and Python clients do this). Counted, never hidden.
                    if not (reused and self.retry_reused) or getattr(e, "partial", b""):
                        raise
                    self.retried.append((target, repr(e)))
                    conn.close()
                    conn = ClientConn(self.port, REQUEST_TIMEOUT)
                    resp = conn.get(target)
            except Exception as e:  # any failure counts; the connection is replaced
                if not reused and isinstance(e, ConnectionClosed) and not e.partial:
                    self.fresh_closed.append((target, repr(e)))
                self.failures.append((target, repr(e)))
                if conn is not None:
                    conn.close()
                conn = None
                continue
            backend = resp.header("X-Backend")
            if resp.status != 200 or resp.body != f"{backend} GET {target}\n".encode():
                self.failures.append((target, f"{resp.status} {resp.body[:100]!r}"))
            else:
                self.ok += 1
                self.answered.append((target, backend))
            if not keep_alive or "close" in resp.connection_tokens():
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def wait_more(self, n: int, timeout: float = 5.0) -> None:
        """Until n more requests succeeded (the load is demonstrably running)."""
        target = self.ok + n
        assert poll(lambda: self.ok >= target, timeout), f"load stalled at {self.ok}"

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(REQUEST_TIMEOUT + 5)
        assert not any(t.is_alive() for t in self.threads), "a load thread did not stop"


def _state_weights(px) -> dict:
    return json.loads(state_file_path(px).read_text())["state"]["routing"]["weights"]


@pytest.mark.multiworker
def test_green_endpoint_stopped_and_restarted_under_load(cutover, backends):
    """Green has two endpoints; one is stopped and restarted three times while all traffic
    goes to green. Connects to the dead one are refused and retried on the other; a
    reused keep-alive connection it closes is retried on a new connection. Stopping the
    backend closes its connections at once, so a request it had already read and not yet
    answered on a *fresh* connection (or answered halfway) fails by design (routing.md: only a
    reset of a reused connection is replayed); no other failure is allowed."""
    blue, g1, g2 = backends("blue"), backends("green"), backends("green")
    # A dead endpoint is ejected after 5 failures; short ejections so the restarted one is
    # taken back within the test (the default is 10 s, doubling).
    green = {"endpoints": [g1.address, g2.address],
             "outlier": {"base_ejection": "200ms", "max_ejection": "400ms"}}
    px = cutover(admin=True, pools={"blue": [blue.address], "green": green},
                 weights={"blue": 0, "green": 100})
    load = Load(px.port).start()
    stopped = []  # every incarnation of the restarted endpoint
    try:
        load.wait_more(200)
        port = g2.port
        for _ in range(3):
            g2.stop()
            stopped.append(g2)
            load.wait_more(200)  # served by g1 alone
            g2 = backends("green", port=port)
            assert g2.wait_for(lambda: g2.request_count >= 20, 5), "restarted endpoint unused"
        load.wait_more(200)
    finally:
        load.finish()
    # A failure is allowed only for a request a stopped incarnation had received.
    in_stopped = {r.target for b in stopped for r in b.requests}
    # It fails as 502 (no response byte yet) or as a close mid-response (the head was
    # relayed; http-behaviour.md: a started response can only be cut by a close).
    unexplained = [f for f in load.failures if f[0] not in in_stopped]
    print(f"endpoint restarts: {load.ok} ok, {len(load.failures)} failed "
          f"(each a request the stopped endpoint had read): {load.failures[:5]}")
    assert not unexplained, unexplained[:10]
    assert load.ok >= 1000
    assert px.admin().state()["weights"] == {"blue": 0, "green": 100}


@pytest.mark.multiworker
def test_weight_flips_and_sighup_reloads_under_load(cutover):
    """Weights flipped 0/100/50 through the admin API, with a SIGHUP reload (a changed
    timeout) after every tenth flip: zero failed requests, each reload keeps the live
    weights (admin-api.md, Persistence), and the final state is the last acknowledged
    change, in the API and in the state file."""
    px = cutover(admin=True, workers=2)
    admin = px.admin(keep_alive=True)
    plans = [{"blue": 0, "green": 100}, {"blue": 100, "green": 0}, {"blue": 50, "green": 50}]
    load = Load(px.port).start()
    last = None
    reloads = 0
    try:
        load.wait_more(100)
        for i in range(150):
            w = plans[i % 3] if i != 149 else {"blue": 30, "green": 70}
            r = admin.put_weights(w)
            assert r.status == 200, (i, r)
            last = w
            if i % 10 == 9:
                px.reload(timeouts={"upstream_idle": f"{4000 + 100 * (i // 10)}ms"})
                reloads += 1
                assert admin.state()["weights"] == last, "a SIGHUP undid an admin change"
            if i % 25 == 0:
                load.wait_more(20)
        load.wait_more(100)
    finally:
        load.finish()
        admin.close()
    print(f"flips + reloads: {load.ok} ok, {len(load.failures)} failed, 150 flips, "
          f"{reloads} SIGHUP reloads")
    assert not load.failures, load.failures[:10]
    assert load.ok >= 500
    assert px.admin().state()["weights"] == last
    assert _state_weights(px) == last


@pytest.mark.multiworker
def test_rolling_restart_on_the_same_port_under_load(cutover, tmp_path, request):
    """A second process starts on the same port (SO_REUSEPORT), then the first gets
    SIGTERM and drains. The last acknowledged admin change carries over through the state
    file (copied while no change is in flight). Keep-alive clients get `Connection: close`
    on their in-flight response and reconnect to the new process; zero failed requests."""
    px = cutover(admin=True, workers=2, timeouts={"drain": "3s"})
    load = Load(px.port, retry_reused=True).start()
    try:
        load.wait_more(100)
        acked = {"blue": 40, "green": 60}
        assert px.admin().put_weights(acked).status == 200
        load.wait_more(100)
        second_dir = tmp_path / "second"
        second_dir.mkdir()
        admin = {"socket": str(second_dir / "admin.sock"),
                 "state_file": str(second_dir / "state.json"),
                 "audit_log": str(second_dir / "audit.log")}
        shutil.copyfile(state_file_path(px), admin["state_file"])
        nxt = CutoverProcess(second_dir, {**px.config_kw, "admin": admin}, px.blue, px.green,
                             port=px.port)
        request.node._cutover_procs.append(nxt)  # logs on failure, stopped at teardown
        nxt.start()
        assert poll(lambda: "listening on" in nxt.stderr_text(), 5)
        assert nxt.admin().state()["weights"] == acked, "the acknowledged change was lost"
        load.wait_more(100)
        t0 = time.monotonic()
        px.signal(signal.SIGTERM)
        code = px.wait_exit(10)
        print(f"rolling restart: old process exited {code} after "
              f"{(time.monotonic() - t0) * 1000:.0f} ms")
        assert code == 0
        load.wait_more(300)  # all of it on the new process now
    finally:
        load.finish()
    print(f"rolling restart: {load.ok} ok, {len(load.failures)} failed, "
          f"{len(load.retried)} retried after an idle keep-alive close: {load.retried[:5]}")
    # Linux resets the connections still queued on a listener when it closes, unless
    # net.ipv4.tcp_migrate_req = 1 hands them to the other SO_REUSEPORT listener (Linux 5.14+;
    # docs/robustness.md). Connections the old process accepted are all served (it gives idle
    # ones a grace to send their request). So: zero failures with migration on; without it,
    # only that kernel race, on fresh connections, and rarely.
    with open("/proc/sys/net/ipv4/tcp_migrate_req") as f:
        migrates = f.read().strip() == "1"
    if migrates:
        assert not load.failures, load.failures[:10]
    else:
        assert load.failures == load.fresh_closed and len(load.failures) <= 2, load.failures[:10]
    assert nxt.admin().state()["weights"] == acked
    assert _state_weights(nxt) == acked
