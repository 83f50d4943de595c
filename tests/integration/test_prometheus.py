"""cutover's /metrics as Prometheus itself sees it (docs/metrics.md, issue 5): the exposition
passes `promtool check metrics`, and a real Prometheus server, configured with
deploy/prometheus/prometheus.yml, scrapes the admin TCP listener under traffic and answers
`sum by (pool) (rate(cutover_requests_total[1m]))` with both pools at the rate the client
sent them. Both tools come from Debian's `prometheus` package."""

from __future__ import annotations

import secrets
import subprocess
import threading
import time
from collections import Counter
from typing import Optional

import pytest

from admin_helpers import backends_of, poll, write_tokens_file
from prometheus_process import (DEPLOY_CONFIG, PROMETHEUS_BIN, PROMTOOL_BIN,
                                PrometheusProcess, render_scrape_config)
from proxy_process import run_cli
from test_metrics import parse_exposition, scrape_when_counted

RATE_QUERY = "sum by (pool) (rate(cutover_requests_total[1m]))"
SCRAPE_INTERVAL = 1.0  # seconds; the deploy file's 15s replaced for the test

_PACKAGE = "Debian package `prometheus`; deploy/setup.sh test installs it"
needs_promtool = pytest.mark.skipif(not PROMTOOL_BIN.exists(),
                                    reason=f"{PROMTOOL_BIN} not found ({_PACKAGE})")
needs_prometheus = pytest.mark.skipif(not PROMETHEUS_BIN.exists(),
                                      reason=f"{PROMETHEUS_BIN} not found ({_PACKAGE})")


@pytest.fixture
def viewer(tmp_path):
    """A viewer token: (secret, cutover's tokens file with its hash)."""
    secret = f"prom-{secrets.token_hex(16)}"
    return secret, write_tokens_file(tmp_path / "tokens.toml", [("prometheus", "viewer", secret)])


@pytest.fixture
def prometheus(request, tmp_path):
    """Factory: prometheus(config_text) -> a ready PrometheusProcess. Stopped at teardown
    (SIGTERM, then SIGKILL after 10 s); a failing test shows its log."""
    started: list[PrometheusProcess] = []
    request.node._extra_logs = []

    def start(config_text: str) -> PrometheusProcess:
        p = PrometheusProcess(tmp_path / f"prometheus{len(started)}", config_text)
        started.append(p)
        request.node._extra_logs.append((f"prometheus (port {p.port}) log", p.log_text))
        return p.start()

    yield start
    problems = []
    for p in started:
        code, killed = p.stop()
        if killed:
            problems.append(f"prometheus (port {p.port}) ignored SIGTERM; killed")
        elif code != 0:
            problems.append(f"prometheus (port {p.port}) exited {code} on SIGTERM")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


class SteadyTraffic(threading.Thread):
    """GETs through the proxy on one keep-alive connection, paced at `rate` per second,
    until stop(), max_seconds or max_seconds * rate requests, whichever comes first. Records
    when (wall clock, as Prometheus stamps its samples) each answer came and from which pool
    (X-Backend); join() re-raises what went wrong in the thread."""

    def __init__(self, px, rate: float, max_seconds: float):
        super().__init__(name="steady-traffic", daemon=True)
        self.conn = px.connect()
        self.rate = rate
        self.max_seconds = max_seconds
        self.answers: list[tuple[float, str]] = []
        self.statuses: Counter = Counter()
        self.error: Optional[BaseException] = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        try:
            for i in range(int(self.max_seconds * self.rate)):
                if self._stop_event.is_set() or time.monotonic() - start > self.max_seconds:
                    return
                # Pacing, not waiting for a condition: request i is due at start + i / rate.
                self._stop_event.wait(max(0.0, start + i / self.rate - time.monotonic()))
                resp = self.conn.get(f"/load?i={i}")
                self.statuses[resp.status] += 1
                self.answers.append((time.time(), resp.header("X-Backend")))
        except BaseException as e:  # re-raised by join()
            self.error = e

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)
        assert not self.is_alive(), "the traffic thread did not stop"
        if self.error is not None:
            raise self.error

    def served(self) -> Counter:
        return Counter(pool for _, pool in self.answers)


def _by_pool(result: list) -> dict:
    """An instant vector's values keyed by their `pool` label."""
    return {r["metric"]["pool"]: float(r["value"][1]) for r in result}


def _unlabelled(text: str) -> dict:
    """The unlabelled samples of an exposition (Prometheus' own /metrics): {name: value}."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, _, v = line.partition(" ")
            out[name] = float(v.split()[0])
    return out


# --- promtool ----------------------------------------------------------------------------


@needs_promtool
def test_promtool_accepts_metrics_that_count_what_the_backends_saw(cutover, viewer):
    """After N requests split 50/50 over two workers, GET /metrics (over TCP with a viewer
    token, as Prometheus scrapes it) passes `promtool check metrics` without a single lint
    message, and cutover_requests_total per pool equals what each backend counted."""
    secret, tokens_file = viewer
    px = cutover(workers=2, weights={"blue": 50, "green": 50},
                 admin={"address": True, "tokens_file": str(tokens_file)})
    # An expired flag (over the Unix socket, which is admin), so cutover_flag_expired and the
    # rule's route decisions have series too.
    rule = {"name": "old-flag", "pool": "green", "expires": "2020-01-31",
            "match": {"header": {"X-Old-Flag": ["1"]}}}
    assert px.admin().request("POST", "/v1/rules", body=rule).status == 201
    served = Counter(backends_of(px, 300))
    assert px.get("/flagged", [("X-Old-Flag", "1")]).status == 200  # a rule decision: green
    served["green"] += 1
    r = scrape_when_counted(px.admin(token=secret, tcp=True), sum(served.values()))
    assert r.status == 200, r
    check = subprocess.run([str(PROMTOOL_BIN), "check", "metrics"], input=r.raw,
                           capture_output=True, timeout=30)
    assert (check.returncode, check.stdout, check.stderr) == (0, b"", b""), (
        f"promtool check metrics exited {check.returncode}:\n"
        f"{(check.stdout + check.stderr).decode(errors='replace')}")
    samples = parse_exposition(r.raw.decode())
    for pool, backend in (("blue", px.blue), ("green", px.green)):
        total = sum(v for (name, labels), v in samples.items()
                    if name == "cutover_requests_total" and ("pool", pool) in labels)
        assert total == backend.request_count == served[pool] > 0, pool
    assert samples[("cutover_flag_expired", frozenset({("rule", "old-flag")}))] == 1


# --- a real Prometheus -------------------------------------------------------------------


@needs_promtool
def test_deploy_config_is_valid_as_shipped():
    out = subprocess.run([str(PROMTOOL_BIN), "check", "config", "--syntax-only",
                          str(DEPLOY_CONFIG)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr


@needs_prometheus
def test_prometheus_scrapes_both_pools_under_traffic(cutover, viewer, prometheus, tmp_path):
    """Debian's Prometheus, on deploy/prometheus/prometheus.yml (1 s interval), scrapes the
    admin TCP listener with a viewer token while a client sends 200 requests/s split 75/25:
    the target is up without errors, the rate query shows both pools at the client's rates,
    the stored counters equal the backends' counts, and the gauges are recorded."""
    secret, tokens_file = viewer
    px = cutover(workers=2, admin={"address": True, "tokens_file": str(tokens_file)})
    # 75/25 through the admin API (the Unix socket is admin): routing version 2.
    assert px.admin().put_weights({"blue": 75, "green": 25}).status == 200
    target = f"127.0.0.1:{px.admin_port}"
    # The token as an operator would write it: `echo "$TOKEN" > file`, mode 0600.
    token_file = tmp_path / "prometheus.token"
    token_file.write_text(secret + "\n")
    token_file.chmod(0o600)
    config = render_scrape_config(target, token_file, f"{SCRAPE_INTERVAL:g}s",
                                  f"{SCRAPE_INTERVAL:g}s")
    # promtool's full check also opens the token file.
    config_path = tmp_path / "rendered-prometheus.yml"
    config_path.write_text(config)
    check = subprocess.run([str(PROMTOOL_BIN), "check", "config", str(config_path)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr

    began = time.monotonic()
    traffic = SteadyTraffic(px, rate=200, max_seconds=25)
    traffic.start()
    try:
        prom = prometheus(config)
        # Prometheus hands static targets to its scrapers on a 5 s tick: poll, bounded.
        targets: list = []

        def target_up() -> bool:
            nonlocal targets
            targets = [t for t in prom.active_targets() if t["labels"].get("job") == "cutover"]
            # cutover listened before Prometheus started: a failed scrape is a real error.
            assert not any(t["health"] == "down" for t in targets), \
                f"scrape failed: {[t['lastError'] for t in targets]}"
            return len(targets) == 1 and targets[0]["health"] == "up"

        assert poll(target_up, timeout=20, interval=0.2), \
            f"target not up within 20 s: {[(t['health'], t['lastError']) for t in targets]}"
        assert targets[0]["labels"]["instance"] == target
        assert targets[0]["scrapeUrl"] == f"http://{target}/metrics"
        assert targets[0]["lastError"] == ""

        # Then until the rate query has both pools and Prometheus holds >= 5 samples of
        # each (4 scrape intervals), evaluated at one instant T for both queries.
        seen: dict = {}

        def both_pools_rated() -> bool:
            t = time.time()
            rates = _by_pool(prom.query(RATE_QUERY, time=f"{t:.3f}"))
            raw = prom.query('cutover_requests_total{code="2xx"}[1m]', time=f"{t:.3f}")
            series = {s["metric"]["pool"]: [(float(ts), float(v)) for ts, v in s["values"]]
                      for s in raw}
            seen.update(t=t, rates=rates, series=series)
            return set(rates) == {"blue", "green"} and \
                all(len(series.get(p, ())) >= 5 for p in ("blue", "green"))

        assert poll(both_pools_rated, timeout=20, interval=0.2), seen
    finally:
        traffic.stop()
    scraped_for = time.monotonic() - began

    rates, series = seen["rates"], seen["series"]
    for pool in ("blue", "green"):
        assert rates[pool] > 0, rates
        (t_first, v_first), (t_last, v_last) = series[pool][0], series[pool][-1]
        span = t_last - t_first
        # What the client got from this pool between Prometheus' first and last sample.
        sent = sum(1 for t, p in traffic.answers if p == pool and t_first < t <= t_last)
        assert sent > 0, (pool, t_first, t_last)
        client_rate = sent / span
        # rate(x[1m]) divides the (extrapolated) increase by the full minute although
        # Prometheus has only `span` seconds of samples; undo that to compare with the client.
        # Extrapolation adds at most ~1.1 scrape intervals at either end, hence the upper bound.
        effective = rates[pool] * 60 / span
        assert 0.8 * client_rate <= effective <= 2 * client_rate, (
            pool, rates[pool], effective, client_rate, span)
        # The samples themselves: the increase is what the client got in between, give or
        # take the requests in flight at either scrape.
        assert abs((v_last - v_first) - sent) <= max(10, 0.05 * sent), (pool, v_last - v_first,
                                                                         sent)
    # 75/25: both rates share the same window, so their ratio is the split's 3 (with a few
    # hundred requests in the window, 2..4.5 is many standard deviations wide).
    assert 2 <= rates["blue"] / rates["green"] <= 4.5, rates

    # Traffic stopped: the next scrapes must show exactly what the backends counted.
    assert traffic.statuses == Counter({200: len(traffic.answers)}), traffic.statuses
    assert (px.blue.request_count, px.green.request_count) == \
        (traffic.served()["blue"], traffic.served()["green"])
    want = {"blue": px.blue.request_count, "green": px.green.request_count}
    last: dict = {}

    def totals_match() -> bool:
        last.update(_by_pool(prom.query("sum by (pool) (cutover_requests_total)")))
        return last == want

    assert poll(totals_match, timeout=10, interval=0.2), (last, want)

    # The gauges Prometheus recorded.
    version = px.admin(token=secret, tcp=True).state()["version"]
    assert version == 2
    routing = prom.query('cutover_routing_version{job="cutover"}')
    assert [float(r["value"][1]) for r in routing] == [version], routing
    build = prom.query('cutover_build_info{job="cutover"}')
    expected_version = run_cli("version").stdout.split()[1]
    assert [(r["metric"]["version"], r["metric"]["instance"], float(r["value"][1]))
            for r in build] == [(expected_version, target, 1.0)], build

    # Every scrape succeeded and Prometheus dropped no sample.
    assert [float(r["value"][1]) for r in
            prom.query('min_over_time(up{job="cutover"}[1m])')] == [1.0]
    final = [t for t in prom.active_targets() if t["labels"].get("job") == "cutover"]
    assert [(t["health"], t["lastError"]) for t in final] == [("up", "")], final
    own = _unlabelled(prom.get("/metrics").decode())
    dropped = {k: v for k, v in own.items()
               if k.startswith("prometheus_target_scrapes_") and v != 0}
    assert "prometheus_target_scrapes_sample_duplicate_timestamp_total" in own, sorted(own)
    assert dropped == {}, dropped
    print(f"scraped for {scraped_for:.1f}s; rates {rates}; totals {want}")

