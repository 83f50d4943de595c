#!/usr/bin/python3
"""Admin switch latency: how long a weight change through the admin API takes.

Starts `cutover run` (workers=2 by default) with an admin Unix socket and two idle
recording backends, then sends CHANGES `PUT /v1/weights` (alternating blue 100 / green 100)
on one keep-alive connection. For each it records the client's round trip and the
server-reported `switch_us` (publish to the last worker's switch), and prints p50 / p99 /
max of both. Not a pass/fail test.

The round trip includes the state file write (temp file, fsync, rename, directory fsync)
and the fsync'd audit line, so it depends on the filesystem holding them: run it once per
directory given with --state-dir (default: the system temp dir), e.g.

    CUTOVER_BIN=build/cutover /usr/bin/python3 tests/bench/admin_switch.py \\
        --state-dir /tmp --state-dir /dev/shm
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

from admin_client import AdminClient  # noqa: E402
from proxy_process import CutoverProcess, binary_path  # noqa: E402
from recording_backend import RecordingBackend  # noqa: E402

WARMUP = 20


def fs_type(path: str) -> str:
    """The filesystem type of the mount holding path (from /proc/mounts)."""
    best, fstype = "", "?"
    real = os.path.realpath(path)
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                mnt = parts[1]
                if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and \
                        len(mnt) >= len(best):
                    best, fstype = mnt, parts[2]
    except OSError:
        pass
    return fstype


def pct(values: list, p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def run_once(state_dir: str, changes: int, workers: int, keep: bool) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="cutover-admin-bench-", dir=state_dir))
    blue, green = RecordingBackend("blue"), RecordingBackend("green")
    px = None
    try:
        px = CutoverProcess(workdir, {
            "pools": {"blue": [blue.address], "green": [green.address]},
            "weights": {"blue": 100, "green": 0},
            "workers": workers,
            "admin": True,  # socket, state file and audit log in workdir
        })
        px.start()
        deadline = time.monotonic() + 10
        while True:  # the listener is up; wait until the admin socket answers too
            try:
                if AdminClient(socket_path=px.admin_socket).get("/healthz").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"admin socket did not answer:\n{px.stderr_text()[-2000:]}")
            time.sleep(0.01)  # poll interval
        splits = [{"blue": 0, "green": 100}, {"blue": 100, "green": 0}]
        rtt_us, switch_us = [], []
        with AdminClient(socket_path=px.admin_socket, keep_alive=True) as c:
            for i in range(WARMUP + changes):
                t0 = time.perf_counter()
                r = c.put_weights(splits[i % 2])
                t1 = time.perf_counter()
                if r.status != 200:
                    raise SystemExit(f"change {i}: {r}")
                body = r.json
                if body.get("workers") != workers:
                    raise SystemExit(f"change {i}: workers {body.get('workers')}, "
                                     f"expected {workers}")
                if i >= WARMUP:
                    rtt_us.append((t1 - t0) * 1e6)
                    switch_us.append(float(body["switch_us"]))
            connections = c.connections_opened
        return {"dir": state_dir, "fs": fs_type(str(workdir)), "rtt": rtt_us,
                "switch": switch_us, "connections": connections}
    finally:
        if px is not None:
            code, killed = px.stop()
            if killed or code != 0:
                print(f"warning: cutover exited {code} (killed: {killed})", file=sys.stderr)
        blue.stop()
        green.stop()
        if keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--state-dir", action="append",
                    help="directory for the state file and audit log (repeatable); "
                         f"default {tempfile.gettempdir()}")
    ap.add_argument("--keep", action="store_true", help="keep the work dirs")
    args = ap.parse_args()
    if not binary_path().exists():
        print(f"cutover binary not found at {binary_path()} (set CUTOVER_BIN)", file=sys.stderr)
        return 2
    dirs = args.state_dir or [tempfile.gettempdir()]
    print(f"# Admin switch latency: {args.changes} PUT /v1/weights on one keep-alive "
          f"connection, workers={args.workers}, {binary_path()}")
    print()
    print("| state dir (fs) | metric | p50 µs | p99 µs | max µs | mean µs |")
    print("|---|---|---:|---:|---:|---:|")
    for d in dirs:
        res = run_once(d, args.changes, args.workers, args.keep)
        label = f"{res['dir']} ({res['fs']})"
        for name, key in (("client round trip", "rtt"), ("server switch_us", "switch")):
            v = res[key]
            print(f"| {label} | {name} | {pct(v, 50):.0f} | {pct(v, 99):.0f} | "
                  f"{max(v):.0f} | {statistics.fmean(v):.0f} |")
        if res["connections"] != 1:
            print(f"(note: {res['connections']} admin connections were opened; "
                  f"keep-alive did not hold)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
