#!/usr/bin/python3
"""Soak run (issue 7, item 6; docs/robustness.md, "Soak").

Starts the real binary (2 workers, admin socket) in front of a blue and a green echo backend
on 127.0.0.1, drives a steady, bounded request rate for SOAK_SECONDS (keep-alive clients and a
connection-per-request client; a quarter of the requests are POSTs with bodies up to 32 KiB),
changes the weights through the admin socket every few seconds, and samples the proxy's RSS
(/proc/PID/status VmRSS) and open file descriptors (/proc/PID/fd) every 10 s. It passes when

  - no request failed: every answer is a 200 carrying the body of the backend that served it,
    and a request sent after a 100/0 change was acknowledged (and answered before the next
    change began) was served by the pool that had 100;
  - every admin change was acknowledged, and the final state, the state file and the audit
    log all hold them;
  - RSS is flat after the warm-up: it grows by less than --rss-slack-mib over the second
    half of the run (not checked on a sanitizer build, whose shadow memory says nothing);
  - file descriptors are flat: bounded during the run, and back to the idle baseline once
    the clients have gone and the pooled upstream connections have timed out; the
    connection gauges read 0 again.

    /usr/bin/python3 tests/soak/soak.py                      # 60 s (SOAK_SECONDS), build/cutover
    SOAK_SECONDS=600 /usr/bin/python3 tests/soak/soak.py     # the 10-minute run in the docs

CUTOVER_BIN selects the binary, as for the integration tests. Standard library only; exit
status 0 on success, 1 on a failed check (the reason and the proxy's stderr tail printed).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import random
import shutil
import socket
import socketserver
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from admin_helpers import connection_gauges, poll  # noqa: E402
from http_client import ClientConn  # noqa: E402
from proxy_process import CutoverProcess, binary_path, is_sanitized_binary, rss_kib  # noqa: E402

SAMPLE_EVERY = 10.0  # seconds between RSS/fd samples
REQUEST_TIMEOUT = 10.0
# Weights cycled through by the admin changes; 100/0 and 0/100 also check who answers.
WEIGHT_PLANS = [
    {"blue": 100, "green": 0},
    {"blue": 50, "green": 50},
    {"blue": 0, "green": 100},
    {"blue": 90, "green": 10},
    {"blue": 10, "green": 90},
]
MAX_BODY = 32 * 1024


# --- backends --------------------------------------------------------------------------

class _EchoHandler(http.server.BaseHTTPRequestHandler):
    """200 with X-Backend and the body "<name> <METHOD> <target>\\n" + the request body."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the proxy's upstream pool expects

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        name = self.server.backend_name
        out = f"{name} {self.command} {self.path}\n".encode() + body
        self.send_response(200)
        self.send_header("X-Backend", name)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
        with self.server.count_lock:
            self.server.served += 1

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args) -> None:  # no line per request on stderr
        pass


class EchoBackend(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """A keep-alive HTTP/1.1 echo server on a free port of 127.0.0.1 that keeps no record
    of past requests (a recording backend would grow for the whole run)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name: str):
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.backend_name = name
        self.count_lock = threading.Lock()
        self.served = 0
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                       name=f"backend-{name}", daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(5)


# --- load ------------------------------------------------------------------------------

@dataclass
class Phase:
    """The routing the clients may rely on: the pool that has 100 %, or None (a split, or a
    change in flight)."""

    number: int
    only_pool: Optional[str]


@dataclass
class Load:
    port: int
    rate_per_client: float
    keepalive_clients: int
    fresh_clients: int
    phase: Phase = field(default_factory=lambda: Phase(0, None))
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ok: int = 0
    posts: int = 0
    wrong_pool: int = 0
    failures: list = field(default_factory=list)  # (target, what), the first 20 kept
    failure_count: int = 0
    threads: list = field(default_factory=list)

    def start(self) -> "Load":
        for cid in range(self.keepalive_clients + self.fresh_clients):
            keep_alive = cid < self.keepalive_clients
            t = threading.Thread(target=self._run, args=(cid, keep_alive), daemon=True,
                                 name=f"load-{cid}")
            self.threads.append(t)
            t.start()
        return self

    def done(self) -> int:
        with self.lock:
            return self.ok + self.failure_count

    def _fail(self, target: str, what: str) -> None:
        with self.lock:
            self.failure_count += 1
            if len(self.failures) < 20:
                self.failures.append((target, what))

    def _run(self, cid: int, keep_alive: bool) -> None:
        rng = random.Random(cid)
        interval = 1.0 / self.rate_per_client
        next_at = time.monotonic()
        conn: Optional[ClientConn] = None
        seq = 0
        while not self.stop.is_set():
            # Fixed-rate pacing (load generation, not a wait for a condition); a client that
            # fell more than a second behind starts afresh instead of bursting.
            now = time.monotonic()
            if next_at > now:
                if self.stop.wait(next_at - now):
                    break
            elif now - next_at > 1.0:
                next_at = now
            next_at += interval
            target = f"/soak/{cid}/{seq}"
            seq += 1
            body = None
            if seq % 4 == 0:
                body = rng.randbytes(rng.randrange(1, MAX_BODY))
            before = self.phase
            try:
                if conn is None:
                    conn = ClientConn(self.port, REQUEST_TIMEOUT)
                resp = conn.request("POST" if body is not None else "GET", target, body=body)
            except Exception as e:  # every failure counts; the connection is replaced
                self._fail(target, repr(e))
                if conn is not None:
                    conn.close()
                conn = None
                continue
            after = self.phase
            backend = resp.header("X-Backend")
            expected = f"{backend} {'POST' if body is not None else 'GET'} {target}\n".encode()
            expected += body or b""
            if resp.status != 200 or resp.body != expected:
                self._fail(target, f"{resp.status} {resp.body[:100]!r}")
            elif before is after and before.only_pool and backend != before.only_pool:
                with self.lock:
                    self.wrong_pool += 1
                self._fail(target, f"served by {backend} while {before.only_pool} had 100 %")
            else:
                with self.lock:
                    self.ok += 1
                    self.posts += body is not None
            if not keep_alive or "close" in resp.connection_tokens():
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(REQUEST_TIMEOUT + 5)
        alive = [t.name for t in self.threads if t.is_alive()]
        assert not alive, f"load threads did not stop: {alive}"


# --- samples ---------------------------------------------------------------------------

def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def thread_count(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


@dataclass
class Sample:
    t: float
    rss_kib: int
    fds: int
    threads: int
    requests: int
    rate: float
    changes: int


def print_table(samples: list, header: bool = True) -> None:
    if header:
        print(f"{'t (s)':>6} {'RSS (KiB)':>10} {'fds':>4} {'threads':>7} {'requests':>9} "
              f"{'req/s':>6} {'changes':>7}")
    for s in samples:
        print(f"{s.t:6.0f} {s.rss_kib:10d} {s.fds:4d} {s.threads:7d} {s.requests:9d} "
              f"{s.rate:6.0f} {s.changes:7d}")
    sys.stdout.flush()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the run ---------------------------------------------------------------------------

def run(args, workdir: Path) -> list:
    """Returns the list of failed checks (empty: passed)."""
    blue, green = EchoBackend("blue"), EchoBackend("green")
    px = CutoverProcess(workdir, {"pools": {"blue": [blue.address], "green": [green.address]},
                                  "weights": WEIGHT_PLANS[1], "workers": args.workers,
                                  "admin": True})
    problems: list = []
    load: Optional[Load] = None
    try:
        px.start()
        admin = px.admin(keep_alive=True)
        # The idle baseline: the proxy listening, nothing connected (the admin connection
        # is one fd; it stays open for the whole run and is counted in every sample).
        admin.state()
        assert poll(lambda: connection_gauges(admin) == (0, 0), 5)
        baseline_fds = fd_count(px.pid)
        samples = [Sample(0, rss_kib(px.pid), baseline_fds, thread_count(px.pid), 0, 0, 0)]
        print(f"soak: {binary_path()} pid {px.pid}, {args.workers} workers, "
              f"{args.seconds:.0f} s, {args.keepalive_clients} keep-alive + "
              f"{args.fresh_clients} connection-per-request clients at {args.rate:.0f} req/s "
              f"each, weights changed every {args.change_every:.0f} s")
        load = Load(px.port, args.rate, args.keepalive_clients, args.fresh_clients).start()
        start = time.monotonic()
        end = start + args.seconds
        next_sample = start + SAMPLE_EVERY
        next_change = start + args.change_every
        changes: list = []  # (weights, version) acknowledged
        last_done = 0
        print_table(samples)
        # One iteration per sample or change, so the loop ends after a known number of them.
        while next_sample <= end + 1e-6:
            wake = min(next_sample, next_change)
            time.sleep(max(0.0, wake - time.monotonic()))  # the schedule's pace, not a poll
            if next_change < next_sample:
                weights = WEIGHT_PLANS[len(changes) % len(WEIGHT_PLANS)]
                load.phase = Phase(load.phase.number + 1, None)  # in flight: any pool
                r = admin.put_weights(weights, headers={"X-Cutover-Reason": "soak"})
                if r.status != 200 or r.json.get("weights") != weights:
                    problems.append(f"admin change {len(changes) + 1} to {weights}: {r}")
                else:
                    changes.append((weights, r.json["version"]))
                    only = [p for p, w in weights.items() if w == 100]
                    load.phase = Phase(load.phase.number + 1, only[0] if only else None)
                next_change += args.change_every
                if next_change >= end:
                    next_change = float("inf")
                continue
            now = time.monotonic()
            done = load.done()
            samples.append(Sample(now - start, rss_kib(px.pid), fd_count(px.pid),
                                  thread_count(px.pid), done,
                                  (done - last_done) / SAMPLE_EVERY, len(changes)))
            last_done = done
            print_table(samples[-1:], header=False)
            next_sample += SAMPLE_EVERY
        load.finish()
        proxy_cpu = cpu_seconds(px.pid)

        problems += check_requests(load, args)
        problems += check_admin(px, admin, changes)
        problems += check_flat(samples, args)
        problems += check_released(px, admin, baseline_fds, args)
        admin.close()
        print()
        print_table(samples)
        print(f"soak: {load.ok} requests ok ({load.posts} POSTs), {load.failure_count} failed, "
              f"{len(changes)} weight changes; fds {baseline_fds} at idle; the proxy used "
              f"{proxy_cpu:.1f} CPU-s, the clients and backends {cpu_seconds(os.getpid()):.1f}")
        if args.json:
            Path(args.json).write_text(json.dumps(
                {"seconds": args.seconds, "ok": load.ok, "failed": load.failure_count,
                 "posts": load.posts, "changes": len(changes), "baseline_fds": baseline_fds,
                 "proxy_cpu_seconds": proxy_cpu,
                 "samples": [s.__dict__ for s in samples]}, indent=1))
    finally:
        if load is not None and not load.stop.is_set():
            load.stop.set()
        code, killed = px.stop()
        if killed:
            problems.append("cutover ignored SIGTERM and was killed")
        elif code != 0:
            problems.append(f"cutover exited {code} on SIGTERM")
        blue.stop()
        green.stop()
        if problems:
            print("--- cutover stderr (tail) ---\n" + px.stderr_text()[-6000:], file=sys.stderr)
    return problems


def check_requests(load: Load, args) -> list:
    problems = []
    if load.failure_count:
        problems.append(f"{load.failure_count} requests failed ({load.wrong_pool} served by "
                        f"the wrong pool); first: {load.failures[:5]}")
    clients = args.keepalive_clients + args.fresh_clients
    expected = args.seconds * args.rate * clients
    # The clients are Python threads on a CI machine that may be busy: the bound only catches
    # a load that stalled, which would make "flat" meaningless.
    if load.ok < 0.6 * expected:
        problems.append(f"only {load.ok} requests in {args.seconds:.0f} s, "
                        f"{expected:.0f} paced: the load did not run steadily")
    return problems


def check_admin(px, admin, changes: list) -> list:
    problems = []
    if not changes:
        return ["no weight change was made"]
    versions = [v for _, v in changes]
    if versions != list(range(versions[0], versions[0] + len(versions))):
        problems.append(f"versions not consecutive: {versions}")
    last = changes[-1][0]
    if admin.state()["weights"] != last:
        problems.append(f"live weights {admin.state()['weights']}, last change {last}")
    state = json.loads(Path(px.config_kw["admin"]["state_file"]).read_text())
    if state["state"]["routing"]["weights"] != last:
        problems.append(f"state file holds {state['state']['routing']['weights']}, not {last}")
    audit = Path(px.config_kw["admin"]["audit_log"]).read_text().splitlines()
    audited = [json.loads(line) for line in audit if line.strip()]
    ok = [e for e in audited if e.get("action") == "weights" and e.get("result") == "ok"]
    if len(ok) != len(changes):
        problems.append(f"{len(ok)} weight changes audited, {len(changes)} acknowledged")
    return problems


def check_flat(samples: list, args) -> list:
    """RSS: no growth beyond the slack over the second half. fds: bounded during the run."""
    problems = []
    steady = [s for s in samples if s.t >= args.warmup]
    if len(steady) < 2:
        return [f"too few samples after the {args.warmup:.0f} s warm-up"]
    half = [s for s in steady if s.t >= args.seconds / 2] or steady[-2:]
    growth_kib = max(s.rss_kib for s in half) - half[0].rss_kib
    print(f"soak: RSS over the second half: {half[0].rss_kib} KiB at {half[0].t:.0f} s, "
          f"max {max(s.rss_kib for s in half)} KiB (+{growth_kib} KiB); "
          f"fds {min(s.fds for s in steady)}..{max(s.fds for s in steady)} after warm-up")
    if is_sanitized_binary():
        print("soak: sanitizer build: RSS not checked")
    elif growth_kib > args.rss_slack_mib * 1024:
        problems.append(f"RSS grew by {growth_kib} KiB over the second half "
                        f"(limit {args.rss_slack_mib} MiB)")
    fd_bound = samples[0].fds + args.fd_slack
    if max(s.fds for s in steady) > fd_bound:
        problems.append(f"up to {max(s.fds for s in steady)} fds during the run "
                        f"(idle {samples[0].fds}, bound {fd_bound})")
    return problems


def check_released(px, admin, baseline_fds: int, args) -> list:
    """Once the clients are gone and pooled upstream connections have idled out (test
    timeouts: upstream_idle 5 s, idle 5 s), gauges and fds are back where they started."""
    problems = []
    if not poll(lambda: connection_gauges(admin) == (0, 0), 15):
        problems.append(f"connection gauges stay at {connection_gauges(admin)} after the load")
    if not poll(lambda: fd_count(px.pid) <= baseline_fds, 15):
        problems.append(f"{fd_count(px.pid)} fds open after the load, {baseline_fds} at idle")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float,
                        default=float(os.environ.get("SOAK_SECONDS", "60")))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=25.0, help="requests/s per client")
    parser.add_argument("--keepalive-clients", type=int, default=3)
    parser.add_argument("--fresh-clients", type=int, default=1)
    parser.add_argument("--change-every", type=float, default=5.0,
                        help="seconds between weight changes")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds before RSS/fds must be flat (default: a sixth, >= 10)")
    parser.add_argument("--rss-slack-mib", type=float, default=2.0)
    parser.add_argument("--fd-slack", type=int, default=32,
                        help="fds above the idle baseline allowed while the load runs")
    parser.add_argument("--json", help="also write the samples to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, state)")
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = max(SAMPLE_EVERY, args.seconds / 6)
    if args.seconds < 2 * SAMPLE_EVERY:
        parser.error(f"--seconds must be at least {2 * SAMPLE_EVERY:.0f}")
    if not binary_path().exists():
        print(f"soak: no binary at {binary_path()} (set CUTOVER_BIN)", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="cutover-soak-"))
    problems = ["did not finish"]
    try:
        problems = run(args, workdir)
    finally:
        for p in problems:
            print(f"soak: FAILED: {p}", file=sys.stderr)
        if args.keep or problems:
            print(f"soak: work dir kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if not problems:
        print("soak: passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
