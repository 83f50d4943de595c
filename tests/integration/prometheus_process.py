"""A real Prometheus server (Debian's `prometheus` package) scraping cutover, for
test_prometheus.py: its config is deploy/prometheus/prometheus.yml with only the target,
the token file and the intervals replaced; it listens on 127.0.0.1 on a free port (never
9090) and keeps its data in the test's work dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional

from proxy_process import REPO_ROOT, free_port

PROMETHEUS_BIN = Path(os.environ.get("PROMETHEUS_BIN", "/usr/bin/prometheus"))
PROMTOOL_BIN = Path(os.environ.get("PROMTOOL_BIN", "/usr/bin/promtool"))
DEPLOY_CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"
START_TIMEOUT = 20.0


def render_scrape_config(target: str, credentials_file: Path, interval: str,
                         timeout: str) -> str:
    """deploy/prometheus/prometheus.yml with the four values its header names replaced,
    each of which must appear there exactly once as shipped (else the file changed and this
    would silently test something else)."""
    text = DEPLOY_CONFIG.read_text()
    # json.dumps: a double-quoted YAML scalar, whatever the path holds.
    for old, new in (('targets: ["127.0.0.1:9901"]', f"targets: [{json.dumps(target)}]"),
                     ("credentials_file: /etc/prometheus/cutover.token",
                      f"credentials_file: {json.dumps(str(credentials_file))}"),
                     ("scrape_interval: 15s ", f"scrape_interval: {interval} "),
                     ("scrape_timeout: 10s ", f"scrape_timeout: {timeout} ")):
        found = text.count(old)
        assert found == 1, f"{DEPLOY_CONFIG}: expected {old!r} exactly once, found it {found} times"
        text = text.replace(old, new)
    return text


class PrometheusProcess:
    """One `prometheus` subprocess with its config file, data dir and log in workdir."""

    def __init__(self, workdir: Path, config_text: str):
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.port = free_port()
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(config_text)
        self.log_path = workdir / "prometheus.log"
        self.proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "PrometheusProcess":
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(PROMETHEUS_BIN), f"--config.file={self.config_path}",
             f"--web.listen-address=127.0.0.1:{self.port}",
             f"--storage.tsdb.path={self.workdir / 'data'}",
             "--storage.tsdb.retention.time=1h"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            cwd=self.workdir)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (
                f"prometheus exited {self.proc.returncode} at start:\n{self.log_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)  # poll interval while it starts
        raise AssertionError(f"prometheus not ready within {START_TIMEOUT}s:\n"
                             f"{self.log_text()[-4000:]}")

    def get(self, path: str, **params) -> bytes:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=5) as r:
            return r.read()

    def api(self, path: str, **params):
        """GET /api/v1/PATH; the `data` of a `success` answer."""
        body = json.loads(self.get(f"/api/v1/{path}", **params))
        assert body.get("status") == "success", body
        return body["data"]

    def query(self, expr: str, **params) -> list:
        """An instant query: the result list (vector or matrix) of /api/v1/query."""
        return self.api("query", query=expr, **params)["result"]

    def active_targets(self) -> list:
        return self.api("targets", state="active")["activeTargets"]

    def stop(self, timeout: float = 10.0) -> tuple[Optional[int], bool]:
        """SIGTERM, then SIGKILL after timeout. Returns (exit code, needed SIGKILL)."""
        if self.proc is None:
            return 0, False
        killed = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                killed = True
        self._log.close()
        return self.proc.returncode, killed

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""
