"""The cutover binary under test: config rendering, start-until-ready, signals, stop."""

from __future__ import annotations

import functools
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Optional

from admin_client import AdminClient
from http_client import ClientConn, HttpResponse

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = float(os.environ.get("CUTOVER_START_TIMEOUT", "15"))

DEFAULT_TIMEOUTS = {
    "header_read": "2s",
    "idle": "5s",
    "upstream_connect": "1s",
    "upstream_response": "5s",
    "upstream_idle": "5s",
    "tunnel_idle": "5s",
    "drain": "3s",
}


def binary_path() -> Path:
    path = Path(os.environ.get("CUTOVER_BIN", "build/cutover"))
    return path if path.is_absolute() else REPO_ROOT / path


@functools.lru_cache(maxsize=None)
def is_sanitized_binary() -> bool:
    """True for an ASan build: RSS figures mean nothing there (shadow memory, quarantine)."""
    try:
        return b"__asan_init" in binary_path().read_bytes()
    except OSError:
        return False


def free_port() -> int:
    """A port nothing listens on right now (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _toml_key(k: str) -> str:
    """A bare key when TOML allows one, else a quoted key ("X.Y", "a b")."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", k):
        return k
    return '"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot render {v!r} as TOML")


def _pool_lines(name: str, pool) -> list:
    """[pools.NAME]: a list of endpoints, or a dict with `endpoints` and pool policies
    (`failover`, `balance`, ...) where dict values (`outlier`, `health_check`) become
    [pools.NAME.KEY] sub-tables. An endpoint is "host:port" or a dict (inline table)."""
    if not isinstance(pool, dict):
        pool = {"endpoints": list(pool)}
    lines = [f"[pools.{name}]"]
    subtables = []
    for k, v in pool.items():
        if isinstance(v, dict):
            subtables.append((k, v))
        else:
            lines.append(f"{_toml_key(k)} = {_toml_value(list(v) if k == 'endpoints' else v)}")
    lines.append("")
    for k, v in subtables:
        lines.append(f"[pools.{name}.{_toml_key(k)}]")
        lines += [f"{_toml_key(sk)} = {_toml_value(sv)}" for sk, sv in v.items()]
        lines.append("")
    return lines


def render_config(port: int, pools: dict, weights: dict, baseline: str = "blue",
                  candidate: str = "green", workers: int = 1, timeouts: Optional[dict] = None,
                  limits: Optional[dict] = None, log: Optional[dict] = None,
                  headers: Optional[dict] = None, affinity: Optional[dict] = None,
                  rules: Optional[list] = None, admin: Optional[dict] = None,
                  metrics: Optional[dict] = None, tls: Optional[dict] = None,
                  guardrails: Optional[dict] = None, rollout: Optional[dict] = None) -> str:
    """The TOML config text. pools: name -> list of "host:port" (or a dict, see
    _pool_lines); affinity: the [routing.affinity] keys; rules: one dict per
    [[routing.rules]] (values rendered inline, e.g. match = {"header": {"X-Beta": "1"}})."""
    lines = ["[listener]", f'address = "127.0.0.1:{port}"', f"workers = {workers}", ""]
    if tls:
        lines.append("[listener.tls]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in tls.items()]
        lines.append("")
    for name, pool in pools.items():
        lines += _pool_lines(name, pool)
    lines += ["[routing]", f"baseline = {_toml_value(baseline)}",
              f"candidate = {_toml_value(candidate)}", f"weights = {_toml_value(weights)}", ""]
    if affinity:
        lines.append("[routing.affinity]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in affinity.items()]
        lines.append("")
    for rule in rules or ():
        lines.append("[[routing.rules]]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in rule.items()]
        lines.append("")
    for section, values in (("timeouts", {**DEFAULT_TIMEOUTS, **(timeouts or {})}),
                            ("limits", limits), ("log", log), ("headers", headers),
                            ("admin", admin), ("metrics", metrics), ("guardrails", guardrails),
                            ("rollout", rollout)):
        if values:
            lines.append(f"[{section}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
            lines.append("")
    return "\n".join(lines)


def run_cli(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary_path()), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def rss_kib(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class CutoverProcess:
    """One `cutover run` subprocess with its config file, logs and client connections."""

    def __init__(self, workdir: Path, config_kw: dict, blue=None, green=None,
                 run_args: tuple = (), port: Optional[int] = None, log_name: str = "cutover",
                 write_config: bool = True):
        self.workdir = workdir
        self.port = port if port is not None else free_port()
        self.run_args = tuple(run_args)
        admin = config_kw.get("admin")
        if admin is not None:
            # admin=True or a dict of [admin] keys: socket, state file and audit log default
            # into the work dir; "address": True picks a free TCP port.
            admin = {} if admin is True else dict(admin)
            admin.setdefault("socket", str(workdir / "admin.sock"))
            admin.setdefault("state_file", str(workdir / "state.json"))
            admin.setdefault("audit_log", str(workdir / "audit.log"))
            if admin.get("address") is True:
                admin["address"] = f"127.0.0.1:{free_port()}"
            config_kw = {**config_kw, "admin": admin}
        self.config_kw = config_kw
        self.config_path = workdir / "cutover.toml"
        self.stdout_path = workdir / f"{log_name}.stdout"
        self.stderr_path = workdir / f"{log_name}.stderr"
        self.blue = blue
        self.green = green
        self.proc: Optional[subprocess.Popen] = None
        self.clients: list[ClientConn] = []
        self.expected_exit = 0  # checked at teardown when the fixture stops the process
        self.generation = 0  # 0 for the first process in a work dir, 1 for its successor, ...
        if write_config:
            write_atomically(self.config_path, render_config(self.port, **config_kw))

    def successor(self, run_args: Optional[tuple] = None) -> "CutoverProcess":
        """An unstarted process for the same work dir: the same config file as it is on disk
        now (not re-rendered, so hand edits stay), the same port, backends, admin socket,
        state file and audit log, with its own stdout/stderr files (cutover.N.stderr). For
        restart tests: stop or kill9() this one first. run_args default to this one's."""
        nxt = CutoverProcess(self.workdir, self.config_kw, self.blue, self.green,
                             self.run_args if run_args is None else run_args, port=self.port,
                             log_name=f"cutover.{self.generation + 1}", write_config=False)
        nxt.generation = self.generation + 1
        return nxt

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self) -> "CutoverProcess":
        self._spawn()
        self.wait_ready()
        return self

    def _spawn(self) -> None:
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [str(binary_path()), "run", "--config", str(self.config_path), *self.run_args],
            stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err, cwd=self.workdir)

    def start_expecting_failure(self, timeout: float = START_TIMEOUT) -> "CutoverProcess":
        """Starts and waits for the process to exit on its own (a refused start). Raises
        AssertionError if it exits 0 or is still running after timeout (then it is killed).
        The exit code becomes expected_exit, so teardown does not count it as a failure."""
        self._spawn()
        code = self.wait_exit(timeout)
        if code is None:
            self.proc.kill()
            self.proc.wait(10)
            self.expected_exit = None
            raise AssertionError(f"cutover still running {timeout}s after a start that should "
                                 f"have been refused:\n{self.stderr_text()[-4000:]}")
        self.expected_exit = code
        assert code != 0, f"cutover exited 0 on a start that should have been refused"
        return self

    def kill9(self) -> None:
        """SIGKILL (a crash) and reap; teardown then does not check the exit code."""
        self.proc.kill()
        self.proc.wait(10)
        self.expected_exit = None

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"cutover exited {self.proc.returncode} before listening:\n"
                    f"{self.stderr_text()[-4000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.01)  # poll interval while the listener comes up
        raise AssertionError(f"cutover did not listen on {self.port} within {START_TIMEOUT}s")

    # --- clients -----------------------------------------------------------------------

    def connect(self, timeout: float = 5.0) -> ClientConn:
        conn = ClientConn(self.port, timeout)
        self.clients.append(conn)
        return conn

    def get(self, target: str = "/", headers=None, **kw) -> HttpResponse:
        """One request on a fresh connection."""
        conn = self.connect()
        try:
            return conn.get(target, headers, **kw)
        finally:
            conn.close()

    # --- admin API -----------------------------------------------------------------------

    @property
    def admin_socket(self) -> Optional[str]:
        admin = self.config_kw.get("admin") or {}
        return admin.get("socket") or None

    @property
    def admin_port(self) -> Optional[int]:
        address = (self.config_kw.get("admin") or {}).get("address")
        return int(address.rsplit(":", 1)[1]) if address else None

    def admin(self, token: Optional[str] = None, tcp: bool = False,
              keep_alive: bool = False, ssl_context=None) -> AdminClient:
        """A client of the admin API: the Unix socket, or TCP (with a bearer token; with
        ssl_context, over TLS); with keep_alive, one persistent connection for all its calls
        (close() it)."""
        if tcp or ssl_context is not None:
            return AdminClient(port=self.admin_port, token=token, keep_alive=keep_alive,
                               ssl_context=ssl_context)
        return AdminClient(socket_path=self.admin_socket, token=token, keep_alive=keep_alive)

    # --- control -----------------------------------------------------------------------

    def reconfigure(self, **changes) -> None:
        """Rewrites the config file (atomically) with changes; does not signal."""
        self.config_kw = {**self.config_kw, **changes}
        write_atomically(self.config_path, render_config(self.port, **self.config_kw))

    def write_config_text(self, text: str) -> None:
        write_atomically(self.config_path, text)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    RELOAD_APPLIED = "reload: applied"
    RELOAD_REJECTED = "keeping the running config"

    def sighup_and_wait(self, timeout: float = 5.0) -> str:
        """SIGHUP, then polls stderr until the reload is logged: "applied" or "rejected"."""
        text = self.stderr_text()
        applied, rejected = text.count(self.RELOAD_APPLIED), text.count(self.RELOAD_REJECTED)
        self.signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.stderr_text()
            if text.count(self.RELOAD_APPLIED) > applied:
                return "applied"
            if text.count(self.RELOAD_REJECTED) > rejected:
                return "rejected"
            assert self.alive(), f"cutover exited on SIGHUP:\n{text[-4000:]}"
            time.sleep(0.01)  # poll interval
        raise AssertionError(f"no reload logged within {timeout}s of SIGHUP:\n{text[-4000:]}")

    def reload(self, timeout: float = 5.0, **changes) -> None:
        """reconfigure(**changes), SIGHUP, and waits until the reload is applied."""
        self.reconfigure(**changes)
        outcome = self.sighup_and_wait(timeout)
        assert outcome == "applied", f"reload {outcome}:\n{self.stderr_text()[-4000:]}"

    def wait_exit(self, timeout: float) -> Optional[int]:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> tuple[Optional[int], bool]:
        """SIGTERM, then SIGKILL after timeout. Returns (exit code, needed SIGKILL)."""
        for c in self.clients:
            c.close()
        if self.proc is None:
            return 0, False
        killed = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait_exit(timeout) is None:
                self.proc.kill()
                self.proc.wait(10)
                killed = True
        self._out.close()
        self._err.close()
        return self.proc.returncode, killed

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def stdout_text(self) -> str:
        try:
            return self.stdout_path.read_text(errors="replace")
        except OSError:
            return ""
