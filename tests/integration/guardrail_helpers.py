"""What the guardrail and rollout tests share (test_guardrails.py, test_ctl_rollout.py): a
bounded keep-alive load that keeps every answer, and a deployment whose pools stay in the
rotation however much they fail."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from admin_helpers import poll
from http_client import ClientConn

LOAD_SECONDS = 60.0  # hard bound of one load run
CLIENTS = 3


@dataclass
class Load:
    """CLIENTS keep-alive clients sending GETs until stopped (or LOAD_SECONDS pass); every
    answer is kept as (monotonic time, status, backend)."""
    port: int
    answers: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "Load":
        deadline = time.monotonic() + LOAD_SECONDS
        for cid in range(CLIENTS):
            t = threading.Thread(target=self._run, args=(cid, deadline), daemon=True)
            self.threads.append(t)
            t.start()
        return self

    def _run(self, cid: int, deadline: float) -> None:
        conn, seq = None, 0
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn = conn or ClientConn(self.port, 5.0)
                resp = conn.get(f"/g{cid}/{seq}")
                with self.lock:
                    self.answers.append((time.monotonic(), resp.status, resp.header("X-Backend")))
                if "close" in resp.connection_tokens():
                    conn.close()
                    conn = None
            except Exception as e:  # counted; the connection is replaced
                self.errors.append(repr(e))
                if conn is not None:
                    conn.close()
                conn = None
            seq += 1
        if conn is not None:
            conn.close()

    def count(self) -> int:
        with self.lock:
            return len(self.answers)

    def since(self, t: float) -> list:
        with self.lock:
            return [a for a in self.answers if a[0] >= t]

    def wait_more(self, n: int, timeout: float = 10.0) -> None:
        target = self.count() + n
        assert poll(lambda: self.count() >= target, timeout), f"load stalled at {self.count()}"

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)
        assert not any(t.is_alive() for t in self.threads), "a load thread did not stop"


def no_ejection(px_backend) -> dict:
    """A pool whose failing endpoint stays in: passive ejection would hide its errors behind
    failover, and these tests are about what the guardrail sees."""
    return {"endpoints": [px_backend.address], "outlier": {"consecutive_failures": 0}}


def start_with_guardrails(cutover, backends, weights, **guardrails):
    """Blue and green alike. The latency rule needs 100 ms of slowdown here: both backends
    are Python threads in the test process on a shared CI machine, whose p99 can differ by
    tens of ms for no fault of green's; these tests are about errors and the mechanics."""
    blue, green = backends("blue"), backends("green")
    px = cutover(pools={"blue": no_ejection(blue), "green": no_ejection(green)}, weights=weights,
                 admin=True, guardrails={"window": "10s", "min_requests": 20,
                                         "min_latency_increase_ms": 100, **guardrails})
    px.blue, px.green = blue, green
    return px


def weights_of(px) -> dict:
    return px.admin().state()["weights"]
