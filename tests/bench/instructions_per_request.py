#!/usr/bin/env python3
"""Instructions per proxied request of one or more cutover binaries, under callgrind.

For each binary and each request count N, one run:
  - a fresh `cutover run` (one worker, the config tests/bench/run.sh writes: pools blue and
    green on the same backend, weights 90/10, no access log) under
    `valgrind --tool=callgrind`, in front of a fast backend on 127.0.0.1 (nginx as
    run.sh starts it, or a small Python keep-alive responder; only cutover runs under
    valgrind);
  - exactly N `GET /` requests over CONNECTIONS keep-alive connections (one request in
    flight per connection), every answer checked for status 200 and its body read;
  - the client closes its connections, cutover gets SIGTERM and exits gracefully, and
    callgrind writes its totals; the total instruction count (Ir) is read from the
    `summary:` / `totals:` line of the out file.
With two request counts N1 < N2, (I2 - I1) / (N2 - N1) is the cost of one request: start-up,
connection set-up and shutdown are the same in both runs and cancel out. Instruction counts
do not depend on CPU speed or on other work on the machine, so this figure is repeatable
where requests/s is not. Runs are interleaved (for each repetition, for each N, each binary).

Prints a markdown section on stdout (progress on stderr); --json FILE also writes the raw
figures.

  /usr/bin/python3 tests/bench/instructions_per_request.py \\
      --bin "metrics on=build/cutover" --bin "metrics off=build-nometrics/cutover"

Everything listens and connects on 127.0.0.1; every process started here is stopped by its
PID; every wait is bounded (--timeout per valgrind run).
"""
import argparse
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BACKEND_BODY = b"ok\n"


def log(msg: str) -> None:
    print(f"[instr] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_tool(name: str):
    path = shutil.which(name)
    if path:
        return path
    for d in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def stop_process(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL. Only this process, by its PID."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def wait_connectable(port: int, proc: subprocess.Popen, timeout: float) -> bool:
    """True once 127.0.0.1:port accepts a TCP connection (a refused connect costs the
    listener nothing). The probe connection is closed again at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# --- backends -------------------------------------------------------------------------------


class NginxBackend:
    """nginx with the settings tests/bench/run.sh gives its backend."""

    def __init__(self, nginx: str, workdir: str):
        self.dir = os.path.join(workdir, "backend")
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self.port = free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type text/plain;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  client_body_temp_path {self.dir}/tmp/body;
  proxy_temp_path {self.dir}/tmp/proxy;
  server {{
    listen 127.0.0.1:{self.port};
    location / {{ return 200 "ok\\n"; }}
  }}
}}
""")
        self.out = open(os.path.join(self.dir, "logs", "stdout.log"), "w")
        self.proc = subprocess.Popen(
            [nginx, "-p", self.dir, "-e", f"{self.dir}/logs/error.log", "-c", conf],
            stdout=self.out, stderr=subprocess.STDOUT)
        if not wait_connectable(self.port, self.proc, 10):
            self.stop()
            raise RuntimeError("backend nginx did not start; see " + self.dir)
        log(f"backend nginx on 127.0.0.1:{self.port} (pid {self.proc.pid})")

    def stop(self) -> None:
        stop_process(self.proc, 5)
        self.out.close()


class PythonBackend:
    """A keep-alive responder in this process: answers every request head with 200 "ok\\n"
    and the same header set nginx sends (fixed Date), in one write."""

    RESPONSE = (b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
                b"Date: Thu, 01 Jan 2026 00:00:00 GMT\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 3\r\nConnection: keep-alive\r\n\r\n" + BACKEND_BODY)

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ, None)
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        log(f"backend python responder on 127.0.0.1:{self.port}")

    def _run(self) -> None:
        bufs = {}
        while not self.stopping:
            for key, _ in self.sel.select(timeout=0.2):
                if key.fileobj is self.sock:
                    try:
                        conn, _ = self.sock.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    bufs[conn] = b""
                    self.sel.register(conn, selectors.EVENT_READ, None)
                    continue
                conn = key.fileobj
                try:
                    data = conn.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.sel.unregister(conn)
                    conn.close()
                    bufs.pop(conn, None)
                    continue
                buf = bufs[conn] + data
                count = buf.count(b"\r\n\r\n")  # GET requests only: no bodies
                bufs[conn] = buf[buf.rfind(b"\r\n\r\n") + 4:] if count else buf
                if count:
                    conn.setblocking(True)
                    conn.sendall(self.RESPONSE * count)
                    conn.setblocking(False)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()

    def stop(self) -> None:
        self.stopping = True
        self.thread.join(timeout=5)


# --- client ---------------------------------------------------------------------------------


class Conn:
    def __init__(self, sock: socket.socket, todo: int):
        self.sock = sock
        self.todo = todo  # requests still to send on this connection
        self.buf = b""


def parse_one(buf: bytes):
    """(status, bytes consumed) of one complete response at the start of buf, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].split(b"\r\n")
    status = int(head[0].split(b" ")[1])
    length = 0
    for line in head[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        elif name.strip().lower() == b"transfer-encoding":
            raise RuntimeError("chunked response: not expected from this backend")
    total = end + 4 + length
    if len(buf) < total:
        return None
    return status, total


def send_requests(port: int, total: int, connections: int, deadline: float,
                  proc: subprocess.Popen) -> int:
    """Sends exactly `total` GET / over `connections` keep-alive connections, one in flight
    on each, and returns how many were answered 200. Raises on any other outcome."""
    request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    share, extra = divmod(total, connections)
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(connections):
        todo = share + (1 if i < extra else 0)
        if todo == 0:
            continue
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        c = Conn(sock, todo)
        conns.append(c)
    ok = 0
    for c in conns:
        c.sock.send(request)
        c.todo -= 1
        sel.register(c.sock, selectors.EVENT_READ, c)
    open_count = len(conns)
    while open_count > 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out with {ok} of {total} answered")
        if proc.poll() is not None:
            raise RuntimeError(f"cutover exited (status {proc.returncode}) after {ok} answers")
        for key, _ in sel.select(timeout=1.0):
            c = key.data
            data = c.sock.recv(65536)
            if not data:
                raise RuntimeError(f"cutover closed a connection after {ok} answers")
            c.buf += data
            while True:
                parsed = parse_one(c.buf)
                if parsed is None:
                    break
                status, used = parsed
                c.buf = c.buf[used:]
                if status != 200:
                    raise RuntimeError(f"answer {ok + 1} had status {status}")
                ok += 1
                if c.todo > 0:
                    c.sock.send(request)
                    c.todo -= 1
                else:
                    sel.unregister(c.sock)
                    open_count -= 1
                    break
    for c in conns:
        c.sock.close()
    sel.close()
    return ok


# --- one callgrind run ----------------------------------------------------------------------


def write_config(path: str, port: int, backend_port: int) -> None:
    with open(path, "w") as f:
        f.write(f"""[listener]
address = "127.0.0.1:{port}"
workers = 1

[pools.blue]
endpoints = ["127.0.0.1:{backend_port}"]

[pools.green]
endpoints = ["127.0.0.1:{backend_port}"]

[routing]
weights = {{ blue = 90, green = 10 }}

[timeouts]
idle = "300s"
upstream_idle = "300s"

[limits]
upstream_idle_per_endpoint = 64

[log]
access = false
""")


TOTALS_RE = re.compile(r"^(summary|totals):\s+(\d+)", re.M)


def read_total(out_file: str) -> int:
    with open(out_file) as f:
        text = f.read()
    found = dict((k, int(v)) for k, v in TOTALS_RE.findall(text))
    if "summary" in found:
        return found["summary"]
    if "totals" in found:
        return found["totals"]
    raise RuntimeError(f"no summary/totals line in {out_file}")


def callgrind_run(args, label: str, binary: str, requests: int, backend_port: int,
                  workdir: str, run_id: str) -> dict:
    rundir = os.path.join(workdir, run_id)
    os.makedirs(rundir)
    port = free_port()
    cfg = os.path.join(rundir, "cutover.toml")
    write_config(cfg, port, backend_port)
    check = subprocess.run([binary, "check", "--config", cfg], capture_output=True, text=True,
                           timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"{binary} check rejected the config: {check.stdout}{check.stderr}")
    out_file = os.path.join(rundir, "callgrind.out")
    cmd = [args.valgrind, "--tool=callgrind", f"--callgrind-out-file={out_file}",
           binary, "run", "--config", cfg]
    logf = open(os.path.join(rundir, "cutover.log"), "w")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)
    try:
        deadline = started + args.timeout
        if not wait_connectable(port, proc, min(args.startup_timeout, args.timeout)):
            raise RuntimeError(f"cutover under valgrind did not listen on {port}; see {rundir}")
        t0 = time.monotonic()
        ok = send_requests(port, requests, args.connections, deadline, proc)
        t1 = time.monotonic()
        # Graceful exit: cutover drains (nothing is in flight) and returns from main, and
        # callgrind writes its totals.
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=max(5.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"cutover did not exit after SIGTERM; see {rundir}")
        if code != 0:
            raise RuntimeError(f"cutover exited with status {code} after SIGTERM; see {rundir}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        logf.close()
    total = read_total(out_file)
    wall = time.monotonic() - started
    log(f"{label}: {requests} requests, {total:,} instructions "
        f"(requests took {t1 - t0:.1f} s, whole run {wall:.1f} s)")
    return {"label": label, "binary": binary, "requests": ok, "instructions": total,
            "request_seconds": round(t1 - t0, 2), "run_seconds": round(wall, 2),
            "out_file": out_file}


# --- where the instructions go --------------------------------------------------------------

ANNOTATE_LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.+)$")


def function_costs(annotate: str, out_file: str, binary: str) -> dict:
    """Self instructions per function of one callgrind out file (callgrind_annotate)."""
    text = subprocess.run([annotate, "--threshold=100", "--inclusive=no", out_file],
                          capture_output=True, text=True, timeout=120, check=True).stdout
    costs = {}
    for line in text.splitlines():
        m = ANNOTATE_LINE.match(line)
        if not m or "PROGRAM TOTALS" in m.group(2):
            continue
        name = m.group(2)
        name = re.sub(r"^\?\?\?:", "", name)
        name = name.replace(f" [{binary}]", "")  # the binary's own functions: no suffix
        name = re.sub(r"^\.?/[^ :]*:", "", name)  # source paths (glibc's)
        name = re.sub(r" \[(\S*/)?([^/\]]+)\]$", r" [\2]", name)  # library basenames
        name = name.replace("std::basic_string_view<char, std::char_traits<char> >",
                            "std::string_view")
        name = name.replace("std::__cxx11::basic_string<char, std::char_traits<char>, "
                            "std::allocator<char> >", "std::string")
        costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs


def per_request_functions(annotate, runs, label, n1, n2) -> dict:
    r1 = next(r for r in runs if r["label"] == label and r["rep"] == 0 and r["requests"] == n1)
    r2 = next(r for r in runs if r["label"] == label and r["rep"] == 0 and r["requests"] == n2)
    c1 = function_costs(annotate, r1["out_file"], r1["binary"])
    c2 = function_costs(annotate, r2["out_file"], r2["binary"])
    return {k: (c2.get(k, 0) - c1.get(k, 0)) / (n2 - n1) for k in set(c1) | set(c2)}


def functions_report(args, bins, runs) -> str:
    """The functions whose per-request cost differs most between the first and the last
    binary (first repetition): where the difference goes."""
    n1, n2 = args.requests
    first, last = bins[0][0], bins[-1][0]
    a = per_request_functions(args.annotate, runs, first, n1, n2)
    b = per_request_functions(args.annotate, runs, last, n1, n2)
    diff = {k: a.get(k, 0) - b.get(k, 0) for k in set(a) | set(b)}
    rows = [(k, v) for k, v in diff.items() if abs(v) >= args.min_function_diff]
    rows.sort(key=lambda kv: -abs(kv[1]))
    lines = [f"Where the difference goes (self instructions per request by function, "
             f"`callgrind_annotate`, first repetition; functions differing by at least "
             f"{args.min_function_diff:g}):", "",
             f"| function | {first} | {last} | difference |", "|---|--:|--:|--:|"]
    shown = 0.0
    for name, v in rows[:args.functions]:
        shown += v
        name = name.replace("|", "\\|")
        lines.append(f"| `{name}` | {a.get(name, 0):,.1f} | {b.get(name, 0):,.1f} | {v:+,.1f} |")
    lines.append(f"| (all functions) | {sum(a.values()):,.1f} | {sum(b.values()):,.1f} | "
                 f"{sum(a.values()) - sum(b.values()):+,.1f} |")
    return "\n".join(lines) + "\n"


# --- report ---------------------------------------------------------------------------------


def per_request(runs, label, rep, n1, n2) -> float:
    def find(n):
        for r in runs:
            if r["label"] == label and r["rep"] == rep and r["requests"] == n:
                return r["instructions"]
        raise KeyError((label, rep, n))
    return (find(n2) - find(n1)) / (n2 - n1)


def report(args, bins, runs) -> str:
    n1, n2 = args.requests
    lines = []
    lines.append(f"Instructions per request (callgrind, `(I({n2}) - I({n1})) / {n2 - n1}`; "
                 f"{args.connections} keep-alive connections, one worker, "
                 f"{args.backend} backend):")
    lines.append("")
    lines.append(f"| build | I({n1}) | I({n2}) | instructions per request |"
                 + (" repetitions |" if args.repeat > 1 else ""))
    lines.append("|---|--:|--:|--:|" + ("---|" if args.repeat > 1 else ""))
    means = {}
    for label, _ in bins:
        values = [per_request(runs, label, rep, n1, n2) for rep in range(args.repeat)]
        mean = sum(values) / len(values)
        means[label] = mean
        first = [r for r in runs if r["label"] == label and r["rep"] == 0]
        i1 = next(r["instructions"] for r in first if r["requests"] == n1)
        i2 = next(r["instructions"] for r in first if r["requests"] == n2)
        row = f"| {label} | {i1:,} | {i2:,} | {mean:,.0f} |"
        if args.repeat > 1:
            row += " " + " · ".join(f"{v:,.0f}" for v in values) + " |"
        lines.append(row)
    if len(bins) >= 2:
        base_label = bins[-1][0]
        lines.append("")
        for label, _ in bins[:-1]:
            diff = means[label] - means[base_label]
            lines.append(f"{label} / {base_label}: {means[label] / means[base_label]:.4f} "
                         f"({diff:+,.0f} instructions per request, "
                         f"{100 * diff / means[base_label]:+.2f} %)")
    if args.repeat > 1:
        lines.append("")
        lines.append(f"(I({n1}) and I({n2}) columns: first repetition; per-request figure: mean "
                     f"over {args.repeat} repetitions.)")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", action="append", required=True, metavar="LABEL=PATH",
                    help="a binary to measure (repeatable); the last one is the base of the "
                         "ratios")
    ap.add_argument("--requests", type=int, nargs=2, default=[2000, 12000], metavar=("N1", "N2"))
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=1, help="repetitions of every run")
    ap.add_argument("--backend", choices=["nginx", "python"], default=None,
                    help="default: nginx if found, else python")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds one valgrind run may take, start to exit")
    ap.add_argument("--startup-timeout", type=float, default=60,
                    help="seconds cutover under valgrind has to listen")
    ap.add_argument("--valgrind", default=find_tool("valgrind") or "valgrind")
    ap.add_argument("--annotate", default=find_tool("callgrind_annotate"),
                    help="callgrind_annotate, for the per-function table (skipped if absent)")
    ap.add_argument("--functions", type=int, default=10,
                    help="rows of the per-function difference table (0 = no table)")
    ap.add_argument("--min-function-diff", type=float, default=1.0,
                    help="instructions per request a function must differ by to be listed")
    ap.add_argument("--keep", metavar="DIR", help="keep configs, logs and callgrind out files "
                                                  "here (default: a temp dir, removed)")
    ap.add_argument("--json", metavar="FILE", help="also write the raw figures here")
    args = ap.parse_args()

    n1, n2 = args.requests
    if not 0 <= n1 < n2:
        ap.error("--requests needs 0 <= N1 < N2")
    if args.connections < 1 or args.repeat < 1:
        ap.error("--connections and --repeat must be positive")
    bins = []
    for spec in args.bin:
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            ap.error(f"--bin wants LABEL=PATH, got {spec!r}")
        if not os.access(path, os.X_OK):
            ap.error(f"{path} is not an executable")
        bins.append((label, os.path.abspath(path)))
    if not shutil.which(args.valgrind) and not os.access(args.valgrind, os.X_OK):
        ap.error("valgrind not found (apt-get install valgrind)")
    if args.backend is None:
        args.backend = "nginx" if find_tool("nginx") else "python"

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        workdir = tempfile.mkdtemp(prefix="instr.", dir=args.keep)
    else:
        workdir = tempfile.mkdtemp(prefix="cutover-instr.")
    backend = None
    runs = []
    # SIGTERM/SIGINT/SIGHUP to this script: unwind, so the finally blocks stop what we started.
    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        if args.backend == "nginx":
            nginx = find_tool("nginx")
            if not nginx:
                raise RuntimeError("nginx not found; run: bash deploy/setup.sh bench-deps")
            backend = NginxBackend(nginx, workdir)
        else:
            backend = PythonBackend()
        for rep in range(args.repeat):
            for n in (n1, n2):
                for label, path in bins:
                    run_id = f"{re.sub(r'[^A-Za-z0-9]+', '-', label)}-n{n}-r{rep + 1}"
                    r = callgrind_run(args, label, path, n, backend.port, workdir, run_id)
                    r["rep"] = rep
                    runs.append(r)
        text = report(args, bins, runs)
        if len(bins) >= 2 and args.functions > 0:
            if args.annotate:
                text += "\n" + functions_report(args, bins, runs)
            else:
                log("callgrind_annotate not found: no per-function table")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"requests": args.requests, "connections": args.connections,
                           "backend": args.backend, "runs": runs}, f, indent=1)
        sys.stdout.write(text)
        return 0
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        log(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if backend is not None:
            backend.stop()
        if args.keep:
            log(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
