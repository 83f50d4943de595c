"""The dashboard page at / on the admin listeners (docs/metrics.md, "Dashboard"): served
without a token under a strict Content-Security-Policy, self-contained, and, in headless
Chromium, showing both pools' figures live, the lines of /v1/series, the audit trail and a
token prompt; and the demo's banner that points at it."""

from __future__ import annotations

import html.parser
import json
import re
import secrets
import shutil
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from admin_client import AdminClient
from admin_helpers import poll, write_tokens_file
from headless_chromium import Chromium, find_chromium
from proxy_process import binary_path, free_port
from recording_backend import Response

CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "connect-src 'self'; img-src data:; base-uri 'none'; frame-ancestors 'none'")


@pytest.fixture
def viewer(tmp_path):
    """A viewer token and the tokens file holding its hash."""
    token = secrets.token_hex(32)
    path = write_tokens_file(tmp_path / "tokens.toml", [("dashboard", "viewer", token)])
    return {"token": token, "file": path}


@pytest.fixture
def dash_proxy(cutover, viewer):
    """Admin API on the Unix socket and on TCP (viewer token), traffic split 50/50."""
    return cutover(admin={"address": True, "tokens_file": str(viewer["file"])},
                   weights={"blue": 50, "green": 50})


def drive(px, n: int) -> list:
    """n proxied requests on one keep-alive connection; their statuses."""
    conn = px.connect()
    try:
        return [conn.get(f"/traffic?i={i}").status for i in range(n)]
    finally:
        conn.close()


def assert_page_headers(r) -> None:
    assert r.status == 200, r
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["x-content-type-options"] == "nosniff"


# --- plain HTTP ----------------------------------------------------------------------------


def test_page_is_served_over_tcp_without_a_token_but_the_data_is_not(dash_proxy, viewer):
    px = dash_proxy
    r = px.admin(tcp=True).get("/")
    assert_page_headers(r)
    assert r.raw.startswith(b"<!doctype html>")
    assert b"/v1/compare?window=60s" in r.raw
    # The page is public; what it shows is not.
    assert px.admin(tcp=True).get("/v1/compare").status == 401
    assert px.admin(tcp=True).get("/v1/audit").status == 401
    assert px.admin(token=viewer["token"], tcp=True).get("/v1/compare").status == 200
    # A query string changes nothing (the token travels in the fragment, never here).
    assert px.admin(tcp=True).get("/?utm=x").raw == r.raw


def test_page_is_served_on_the_unix_socket_too(dash_proxy):
    px = dash_proxy
    r = px.admin().get("/")
    assert_page_headers(r)
    assert r.raw == px.admin(tcp=True).get("/").raw


def test_head_gives_the_headers_without_the_body(dash_proxy):
    px = dash_proxy
    full = px.admin(tcp=True).get("/")
    r = px.admin(tcp=True).request("HEAD", "/")
    assert_page_headers(r)
    assert r.raw == b""
    assert int(r.headers["content-length"]) == len(full.raw)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_page_is_read_only(dash_proxy, method):
    r = dash_proxy.admin(tcp=True).request(method, "/", raw=b"")
    assert r.status == 405, r
    assert r.headers["allow"] == "GET"


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.values = []

    def handle_starttag(self, tag, attrs):
        self.values += [(tag, name, value) for name, value in attrs
                        if name in ("src", "href", "action", "srcset", "poster", "data")]


def test_page_loads_nothing_from_elsewhere(dash_proxy):
    text = dash_proxy.admin().get("/").raw.decode()
    for needle in ("http://", "https://", "//cdn", "@import", "url(", "<iframe", "<object"):
        assert needle not in text, needle
    links = _Links()
    links.feed(text)
    for tag, name, value in links.values:
        assert value.startswith("data:") or value.startswith("#"), (tag, name, value)
    # Scripts and styles are inline, fonts are the system's.
    assert not re.search(r"<script[^>]*\bsrc=", text)
    assert not re.search(r"<link[^>]*\brel=\"?stylesheet", text)
    assert "@font-face" not in text


# --- headless Chromium ---------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="chromium is not installed (deploy/setup.sh test installs Debian's chromium)")

# Content-Security-Policy violations, recorded by the page itself from its first moment.
COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
"""


@pytest.fixture
def browser(tmp_path):
    with Chromium(tmp_path / "chromium-profile") as b:
        yield b


def open_tab(browser, url: str):
    tab = browser.new_tab()
    tab.call("Page.addScriptToEvaluateOnNewDocument", {"source": COLLECT_VIOLATIONS})
    tab.navigate(url)
    return tab


def figure(pool_role: str, name: str) -> str:
    """A JS expression: the data-value of one figure of one pool card, as a number."""
    return (f'Number(document.querySelector(\'[data-testid="pool-{pool_role}"] '
            f'[data-testid="{name}"]\').dataset.value || 0)')


def text_of(testid: str, root: str = "document") -> str:
    return f'{root}.querySelector(\'[data-testid="{testid}"]\').textContent'


def assert_clean(tab, allowed_origin: str) -> None:
    assert tab.problems() == []
    assert tab.evaluate("window.__violations") == []
    for url in tab.requested_urls():
        assert url.startswith(allowed_origin) or url.startswith("data:"), url


@needs_chromium
def test_dashboard_shows_both_pools_live_in_a_browser(dash_proxy, viewer, browser, tmp_path):
    px = dash_proxy
    # Green fails one request in four, so its error rate and the delta have something to show.
    count = {"n": 0}

    def flaky(req):
        count["n"] += 1
        if count["n"] % 4 == 0:
            return Response(500, headers=[("X-Backend", "green")], body=b"boom\n")
        return Response(200, headers=[("X-Backend", "green")], body=b"green\n")

    px.green.handler = flaky
    statuses = drive(px, 200)
    assert statuses.count(500) > 0 and statuses.count(200) > 0

    origin = f"http://127.0.0.1:{px.admin_port}/"
    tab = open_tab(browser, f"{origin}#token={viewer['token']}")
    tab.wait_for(f"{figure('baseline', 'rps')} > 0 && {figure('candidate', 'rps')} > 0")

    # The token left the address bar at once and stays in this tab's sessionStorage only.
    assert tab.evaluate("location.href") == origin
    assert tab.evaluate("sessionStorage.getItem('cutover.dashboard.token')") == viewer["token"]
    # Pool names, weights and roles come from the data.
    card = "document.querySelector('[data-testid=\"pool-{}\"]')"
    assert tab.evaluate(text_of("name", card.format("baseline"))) == "blue"
    assert tab.evaluate(text_of("name", card.format("candidate"))) == "green"
    assert tab.evaluate(figure("baseline", "weight")) == 50
    assert tab.evaluate(figure("candidate", "weight")) == 50
    assert tab.evaluate(figure("baseline", "error-rate")) == 0
    assert tab.evaluate(figure("candidate", "error-rate")) > 0.1
    assert tab.evaluate(figure("candidate", "p99")) > 0
    assert tab.evaluate("document.querySelector('[data-testid=\"delta-error-rate\"]')"
                        ".dataset.verdict") == "worse"
    version = px.admin().state()["version"]
    assert tab.evaluate(text_of("version")) == f"routing version {version}"
    assert tab.evaluate("document.querySelector('[data-testid=\"status\"]').dataset.state") == "ok"

    # More traffic and a weight change: the figures, the poll count and the audit table follow.
    before = {role: tab.evaluate(figure(role, "requests")) for role in ("baseline", "candidate")}
    polls = tab.evaluate("Number(document.querySelector('[data-testid=\"polls\"]').dataset.value)")
    drive(px, 200)
    r = px.admin().put_weights({"blue": 70, "green": 30},
                               headers={"X-Cutover-Reason": "dashboard test"})
    assert r.status == 200, r
    tab.wait_for(f"{figure('baseline', 'requests')} > {before['baseline']} && "
                 f"{figure('candidate', 'requests')} > {before['candidate']}")
    tab.wait_for(f"{figure('baseline', 'weight')} === 70 && {figure('candidate', 'weight')} === 30")
    tab.wait_for("Number(document.querySelector('[data-testid=\"polls\"]').dataset.value) > "
                 f"{polls}")
    tab.wait_for(f"{text_of('audit')}.includes('dashboard test')")
    assert tab.evaluate(text_of("version")) == f"routing version {version + 1}"
    audit_row = tab.evaluate("[...document.querySelectorAll('[data-testid=\"audit\"] tbody tr')]"
                             "[0].innerText")
    assert "weights" in audit_row and "ok" in audit_row and "uid:" in audit_row, audit_row

    # Every chart has a line per pool (from /v1/series, or the page's own samples without it).
    for chart in ("rps", "error-rate", "p50", "p99", "weight"):
        points = tab.evaluate(
            f"[...document.querySelectorAll('[data-testid=\"chart-{chart}\"] path.line')]"
            ".map(p => [p.dataset.pool, Number(p.dataset.points)])")
        assert [pool for pool, _ in points] == ["blue", "green"], (chart, points)
        assert all(n >= 1 for _, n in points), (chart, points)

    assert_clean(tab, origin)
    shot = tab.screenshot(tmp_path / "dashboard.png")
    print(f"dashboard screenshot: {shot}")
    assert shot.stat().st_size > 10_000


@needs_chromium
def test_dashboard_asks_for_a_token_when_refused(dash_proxy, viewer, browser, tmp_path):
    px = dash_proxy
    drive(px, 20)
    origin = f"http://127.0.0.1:{px.admin_port}/"
    tab = open_tab(browser, origin)
    form = "document.querySelector('[data-testid=\"token-form\"]')"
    tab.wait_for(f"!{form}.hidden")
    assert tab.evaluate("document.querySelector('[data-testid=\"status\"]').dataset.state") == \
        "error"
    assert "401" in tab.evaluate(text_of("status"))

    def submit(token: str) -> None:
        tab.evaluate(f"{form}.elements.token.value = {json.dumps(token)}; "
                     f"{form}.requestSubmit(); true")

    submit("not-a-token")
    tab.wait_for(f"{text_of('token-message')}.includes('refused the token')")
    submit(viewer["token"])
    tab.wait_for(f"{form}.hidden && {figure('baseline', 'requests')} + "
                 f"{figure('candidate', 'requests')} >= 20")
    assert tab.evaluate("document.querySelector('[data-testid=\"status\"]').dataset.state") == "ok"
    tab.screenshot(tmp_path / "dashboard-token.png")
    # The failed polls were 401s (network errors, not page errors); nothing else went wrong.
    assert_clean(tab, origin)


# /v1/series as its contract says (docs/metrics.md), served next to the real page by a stand-in
# admin API, so the lines are checked against the contract whether or not the proxy has it.
def series_body() -> dict:
    points = []
    for i in range(61):
        t = -600.0 + 10 * i
        seconds = 10.0 if i < 60 else 4.0
        green_requests = 0 if 20 <= i < 25 else 5 * (i + 1)  # idle for 50 s: no latency there
        pools = {
            "blue": {"requests": 100, "requests_per_second": 100 / seconds, "errors": 0,
                     "error_rate": 0.0, "p50_ms": 1.5, "p99_ms": 6.0},
            "green": {"requests": green_requests,
                      "requests_per_second": green_requests / seconds,
                      "errors": green_requests // 10, "error_rate": 0.1 if green_requests else 0,
                      "p50_ms": 2.5 if green_requests else None,
                      "p99_ms": 40.0 if green_requests else None},
        }
        points.append({"t": t, "seconds": seconds, "pools": pools})
    return {"version": 3, "step_seconds": 10, "baseline": "blue", "candidate": "green",
            "points": points}


def compare_body() -> dict:
    return {"version": 3, "window_seconds": 60, "covered_seconds": 60, "baseline": "blue",
            "candidate": "green",
            "pools": {"blue": {"weight": 75, "requests": 600, "requests_per_second": 10,
                               "errors": 0, "error_rate": 0, "p50_ms": 1.5, "p90_ms": 4,
                               "p99_ms": 6},
                      "green": {"weight": 25, "requests": 200, "requests_per_second": 3.33,
                                "errors": 20, "error_rate": 0.1, "p50_ms": 2.5, "p90_ms": 20,
                                "p99_ms": 40}},
            "delta": {"error_rate": 0.1, "p50_ms": 1, "p99_ms": 34, "p99_ratio": 6.67}}


class StandInAdminApi:
    """The real page at /, and canned /v1/compare, /v1/series and /v1/audit for `token`, plus
    any `extra` bodies by path (everything else is a 404, as on an older proxy)."""

    def __init__(self, page: bytes, token: str, extra: dict | None = None):
        outer = self
        self.paths = []
        self.extra = dict(extra or {})

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.paths.append(self.path)
                if self.path == "/":
                    return self.reply(200, page, "text/html; charset=utf-8")
                if self.headers.get("Authorization") != f"Bearer {token}":
                    return self.reply(401, b'{"error": "a bearer token is required"}')
                bodies = {"/v1/compare?window=60s": compare_body(),
                          "/v1/series?window=10m": series_body(),
                          "/v1/audit?limit=10": {"enabled": True, "entries": []},
                          **outer.extra}
                if self.path not in bodies:
                    return self.reply(404, b'{"error": "no such endpoint"}')
                return self.reply(200, json.dumps(bodies[self.path]).encode())

            def reply(self, status, body, content_type="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if content_type.startswith("text/html"):
                    self.send_header("Content-Security-Policy", CSP)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@needs_chromium
def test_dashboard_draws_the_lines_of_v1_series(dash_proxy, browser, tmp_path):
    page = dash_proxy.admin().get("/").raw
    token = secrets.token_hex(16)
    api = StandInAdminApi(page, token)
    try:
        origin = f"http://127.0.0.1:{api.port}/"
        tab = open_tab(browser, f"{origin}#token={token}")
        source = "document.querySelector('[data-testid=\"chart-source\"]').dataset.source"
        tab.wait_for(f"{source} === 'series'")

        def points(chart):
            return dict(tab.evaluate(
                f"[...document.querySelectorAll('[data-testid=\"chart-{chart}\"] path.line')]"
                ".map(p => [p.dataset.pool, Number(p.dataset.points)])"))

        # Every slot of the window is a point; green's idle slots have no latency (a gap).
        assert points("rps") == {"blue": 61, "green": 61}
        assert points("error-rate") == {"blue": 61, "green": 56}
        assert points("p99") == {"blue": 61, "green": 56}
        gaps = tab.evaluate("document.querySelector('[data-testid=\"chart-p99\"] "
                            "path[data-pool=\"green\"]').getAttribute('d').split('M').length - 1")
        assert gaps == 2
        assert tab.evaluate(figure("candidate", "p99")) == 40
        assert tab.evaluate("document.querySelector('[data-testid=\"delta-p99-ratio\"]')"
                            ".dataset.verdict") == "worse"
        assert "/v1/series?window=10m" in api.paths
        # No /v1/guardrails or /v1/rollout here (404): their sections stay out of sight.
        assert "/v1/guardrails" in api.paths and "/v1/rollout" in api.paths
        assert tab.evaluate(f"{element('guardrails')}.hidden") is True
        assert tab.evaluate(f"{element('rollout')}.hidden") is True
        assert_clean(tab, origin)
        shot = tab.screenshot(tmp_path / "dashboard-series.png")
        print(f"dashboard screenshot (stand-in /v1/series): {shot}")
    finally:
        api.stop()


# GET /v1/guardrails and GET /v1/rollout as the API contract gives them (docs/admin-api.md).
def guardrails_body(acknowledged: bool = False) -> dict:
    return {"enabled": True, "action": "pause", "window_ms": 30000,
            "spec": {"min_requests": 50, "max_error_rate_increase": 0.01,
                     "max_error_rate_ratio": 0, "max_error_rate": 0, "latency_quantile": 0.99,
                     "max_latency_ratio": 1.5, "max_latency_ms": 0, "false_alarm": 0.0001,
                     "budget_false_alarm": 0.05},
            "verdict": {"kind": "breach", "rule": "error_rate",
                        "explain": "green 5/100 errors vs blue 1/900 (p < 0.0001)",
                        "evaluated_unix_ms": 1764102020000,
                        "baseline": {"pool": "blue", "requests": 900, "errors": 1,
                                     "error_rate": 0.0011, "p99_ms": 12.5},
                        "candidate": {"pool": "green", "requests": 100, "errors": 5,
                                      "error_rate": 0.05, "p99_ms": 14.0}},
            "breach": {"rule": "error_rate", "explain": "green 5/100 errors vs blue 1/900",
                       "unix_ms": 1764102020000, "action": "pause",
                       "acknowledged": acknowledged},
            "breaches_total": {"error_rate": 1, "latency": 0, "error_rate_ceiling": 0,
                               "latency_ceiling": 0}}


def rollout_body() -> dict:
    return {"state": "paused", "baseline": "blue", "candidate": "green",
            "steps": [1, 5, 25, 50, 100], "step": 2, "weight": 25, "dwell_ms": 120000,
            "min_requests": 0, "step_started_unix_ms": 1764102000000, "dwell_left_ms": 45000,
            "step_requests": 1234, "waiting_for": "",
            "paused_reason": "guardrail breach: error_rate", "started_by": "token:alice",
            "started_unix_ms": 1764101700000, "finished_unix_ms": 0,
            "cutover": {"complete": False, "candidate_full_since_unix_ms": 0, "hold_ms": 600000,
                        "next_step": ""}}


def element(name: str) -> str:
    """A JS expression: the element with data-testid `name`."""
    return f"document.querySelector('[data-testid=\"{name}\"]')"


@needs_chromium
def test_dashboard_shows_the_guardrail_badge_and_rollout_strip_of_the_contract(dash_proxy,
                                                                             browser, tmp_path):
    page = dash_proxy.admin().get("/").raw
    token = secrets.token_hex(16)
    api = StandInAdminApi(page, token, {"/v1/guardrails": guardrails_body(),
                                        "/v1/rollout": rollout_body()})
    try:
        origin = f"http://127.0.0.1:{api.port}/"
        tab = open_tab(browser, f"{origin}#token={token}")
        tab.wait_for(f"!{element('guardrails')}.hidden && !{element('rollout')}.hidden")

        badge = element("guardrail-badge")
        assert tab.evaluate(f"{badge}.dataset.kind") == "breach"
        assert tab.evaluate(f"{badge}.textContent") == "breach · error_rate"
        assert "green 5/100 errors vs blue 1/900 (p < 0.0001)" in \
            tab.evaluate(text_of("guardrail-explain"))
        assert tab.evaluate(text_of("guardrail-mode")) == \
            "a breach pauses the rollout · window 30s"
        breach = element("guardrail-breach")
        assert tab.evaluate(f"{breach}.hidden") is False
        assert tab.evaluate(f"{breach}.dataset.acknowledged") == "false"
        assert "not acknowledged" in tab.evaluate(f"{breach}.textContent")

        # One box per step, the third (25 %) highlighted, the two before it done.
        steps = tab.evaluate(f"[...{element('rollout-steps')}.children]"
                             ".map(li => [li.textContent, li.dataset.step])")
        assert steps == [["1%", "done"], ["5%", "done"], ["25%", "current"], ["50%", "todo"],
                         ["100%", "todo"]]
        assert tab.evaluate(f"{element('rollout')}.dataset.state") == "paused"
        assert tab.evaluate(text_of("rollout-state")) == "rollout paused"
        assert tab.evaluate(text_of("rollout-detail")) == \
            "step 3/5 · green 25% · paused: guardrail breach: error_rate"
        assert tab.evaluate(f"{element('rollout-hint')}.hidden") is True
        shot = tab.screenshot(tmp_path / "dashboard-release.png")
        print(f"dashboard screenshot (stand-in guardrails and rollout): {shot}")

        # The breach acknowledged and the rollout resumed: the page follows on its next polls.
        running = rollout_body()
        running.update(state="running", paused_reason="", waiting_for="dwell")
        api.extra["/v1/guardrails"] = guardrails_body(acknowledged=True)
        api.extra["/v1/rollout"] = running
        tab.wait_for(f"{breach}.dataset.acknowledged === 'true'")
        tab.wait_for(f"{element('rollout')}.dataset.state === 'running'")
        assert tab.evaluate(text_of("rollout-detail")) == \
            "step 3/5 · green 25% · 45s of 2m dwell left · waiting for: dwell"

        # Guardrails off: the badge says so, the verdict is still shown beside it. The rollout
        # done and held: the strip keeps the server's hint.
        off = guardrails_body()
        off.update(enabled=False, breach=None)
        off["verdict"].update(kind="healthy", rule="", explain="green 0/100 errors")
        done = rollout_body()
        done.update(state="completed", step=4, weight=100, paused_reason="")
        done["cutover"].update(complete=True, next_step="green has held 100 % for 10m: retire "
                               "blue, or `cutover ctl promote-baseline`")
        api.extra["/v1/guardrails"] = off
        api.extra["/v1/rollout"] = done
        tab.wait_for(f"{badge}.dataset.kind === 'off'")
        assert tab.evaluate(f"{badge}.dataset.verdict") == "healthy"
        assert tab.evaluate(text_of("guardrail-explain")) == "healthy: green 0/100 errors"
        assert tab.evaluate(text_of("guardrail-mode")) == \
            "no [guardrails] in the config: a breach only stops a rollout"
        assert tab.evaluate(f"{breach}.hidden") is True
        tab.wait_for(f"{element('rollout')}.dataset.state === 'completed'")
        assert tab.evaluate(f"[...{element('rollout-steps')}.children]"
                            ".map(li => li.dataset.step)") == ["done"] * 5
        assert tab.evaluate(text_of("rollout-hint")).startswith("next: green has held 100 %")

        # No rollout and nothing to suggest: the strip goes.
        api.extra["/v1/rollout"] = {"state": "none", "steps": [],
                                    "cutover": {"complete": False, "next_step": ""}}
        tab.wait_for(f"{element('rollout')}.hidden")
        assert_clean(tab, origin)
    finally:
        api.stop()


@needs_chromium
def test_dashboard_shows_the_real_guardrails_and_rollout(cutover, viewer, browser, tmp_path):
    px = cutover(admin={"address": True, "tokens_file": str(viewer["file"])},
                 weights={"blue": 100, "green": 0},
                 guardrails={"window": "10s", "min_requests": 5, "action": "pause"})
    admin = px.admin()
    r = admin.request("POST", "/v1/rollout", {"steps": [10, 50, 100], "dwell": "1h",
                                              "reason": "dashboard test"})
    assert r.status == 200, r
    assert drive(px, 100).count(200) == 100

    origin = f"http://127.0.0.1:{px.admin_port}/"
    tab = open_tab(browser, f"{origin}#token={viewer['token']}")
    badge = element("guardrail-badge")
    tab.wait_for(f"!{element('guardrails')}.hidden && !{element('rollout')}.hidden")
    # Both pools get traffic over min_requests, from the same (healthy) kind of backend; kept
    # flowing, since the verdict's window is only 10 s.
    assert poll(lambda: drive(px, 20) and
                tab.evaluate(f"{badge}.dataset.kind") == "healthy", 15), \
        tab.evaluate(text_of("guardrail-explain"))
    assert tab.evaluate(f"{badge}.textContent") == "healthy"
    assert tab.evaluate(text_of("guardrail-explain")).startswith("healthy: candidate ")
    assert tab.evaluate(text_of("guardrail-mode")) == "a breach pauses the rollout · window 10s"
    assert tab.evaluate(f"{element('guardrail-breach')}.hidden") is True

    steps = f"[...{element('rollout-steps')}.children].map(li => [li.textContent, li.dataset.step])"
    assert tab.evaluate(steps) == [["10%", "current"], ["50%", "todo"], ["100%", "todo"]]
    assert tab.evaluate(f"{element('rollout')}.dataset.state") == "running"
    detail = tab.evaluate(text_of("rollout-detail"))
    assert detail.startswith("step 1/3 · green 10% · ") and "of 1h dwell left" in detail, detail
    assert detail.endswith("waiting for: dwell"), detail
    assert tab.evaluate(f"{element('rollout-detail')}.dataset.waitingFor") == "dwell"
    # The dwell counts down from the server's figure.
    left = tab.evaluate(f"Number({element('rollout-detail')}.dataset.dwellLeftMs)")
    assert 0 < left <= 3_600_000
    tab.wait_for(f"Number({element('rollout-detail')}.dataset.dwellLeftMs) < {left}")

    # Paused by hand, then promoted: the strip follows the server.
    assert admin.request("POST", "/v1/rollout/pause", {"reason": "look"}).status == 200
    tab.wait_for(f"{element('rollout')}.dataset.state === 'paused'")
    assert tab.evaluate(text_of("rollout-detail")) == \
        "step 1/3 · green 10% · paused: paused by uid:0: look"
    assert admin.request("POST", "/v1/rollout/promote", {}).status == 200
    tab.wait_for(f"{element('rollout')}.dataset.state === 'completed'")
    assert tab.evaluate(steps) == [["10%", "done"], ["50%", "done"], ["100%", "done"]]
    tab.wait_for(f"!{element('rollout-hint')}.hidden")
    assert tab.evaluate(text_of("rollout-hint")).startswith("next: green is at 100 %")
    shot = tab.screenshot(tmp_path / "dashboard-real-release.png")
    print(f"dashboard screenshot (real guardrails and rollout): {shot}")
    assert_clean(tab, origin)


# --- the demo --------------------------------------------------------------------------------


def test_demo_prints_a_dashboard_url_with_a_working_viewer_token(tmp_path):
    out_path = tmp_path / "demo.stdout"
    listen = f"127.0.0.1:{free_port()}"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(
            [str(binary_path()), "demo", "--listen", listen,
             "--admin-socket", str(tmp_path / "demo.sock"), "--admin-address", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    state_dir = None
    try:
        assert poll(lambda: "Ctrl-C stops" in out_path.read_text() or proc.poll() is not None,
                    timeout=15), out_path.read_text()
        banner = out_path.read_text()
        assert proc.poll() is None, banner
        state_dir = re.search(r"audit log and state in (\S+)\)", banner).group(1)
        m = re.search(r"dashboard +http://127\.0\.0\.1:(\d+)/#token=([0-9a-f]{64})\n", banner)
        assert m, banner
        port, token = int(m.group(1)), m.group(2)
        # The existing lines are still there.
        assert f"proxy         http://{listen}/" in banner
        assert "ctl --socket" in banner
        # The token is a viewer's: it reads, it does not change.
        assert AdminClient(port=port).get("/").status == 200
        assert AdminClient(port=port).get("/v1/compare").status == 401
        viewer = AdminClient(port=port, token=token)
        assert viewer.get("/v1/compare").status == 200
        assert viewer.put_weights({"blue": 50, "green": 50}).status == 403
        # Only the hash is on disk.
        tokens = (Path(state_dir) / "tokens.toml").read_text()
        assert token not in tokens and 'role = "viewer"' in tokens
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if state_dir and state_dir.startswith("/tmp/cutover-demo-"):
            shutil.rmtree(state_dir, ignore_errors=True)
    assert proc.returncode == 0, out_path.read_text()
