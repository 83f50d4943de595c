"""`cutover ctl rollout ...`, `guardrails [ack]`, `promote-baseline` and the release lines of
`status` (docs/ctl.md): the local checks that send nothing, and what ctl shows of a server
that has (or lacks) /v1/guardrails and /v1/rollout, against a stand-in admin API serving the
API contract's bodies."""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from test_ctl import CONFLICT, OK, USAGE, ctl_raw

# --- local checks: nothing is sent ----------------------------------------------------------


@pytest.mark.parametrize("steps, every, message", [
    ("5,1", "2m", "step 2: 1 is not more than step 1's 5"),
    ("1,5,5", "2m", "step 3: 5 is not more than step 2's 5"),
    ("0", "2m", "step 1: 0 sends the candidate nothing"),
    ("0,50,100", "2m", "step 1: 0 sends the candidate nothing"),
    ("1,101", "2m", "step 2: '101' is more than 100"),
    ("1.234", "2m", "step 1: '1.234' has more than two decimals"),
    ("1,,5", "2m", "empty step"),
    ("1,5,x", "2m", "step 3: 'x' is not a percent"),
    ("1,5", "500ms", "--every 500ms is out of range: from 1s to 24h"),
    ("1,5", "25h", "--every 25h is out of range: from 1s to 24h"),
    ("1,5", "2", "--every '2' is not a duration"),
])
def test_rollout_start_checks_locally_and_sends_nothing(tmp_path, steps, every, message):
    # No server at this socket: a check that passed would exit 5 (unreachable), not 2.
    out = ctl_raw("--socket", str(tmp_path / "none.sock"), "rollout", "start", steps, "--every",
                  every)
    assert out.returncode == USAGE, out
    assert out.stderr.startswith("cutover ctl: ") and out.stderr.count("\n") == 1, out.stderr
    assert message in out.stderr, out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("args", [
    ["rollout"],
    ["rollout", "start", "1,5"],                      # --every is required
    ["rollout", "start", "--every", "2m"],            # so are the steps
    ["rollout", "start", "1,5", "--every", "2m", "--min-requests", "-1"],
    ["rollout", "nosuch"],
    ["guardrails", "ack", "--resume=maybe"],
    ["promote-baseline", "extra"],
])
def test_rollout_usage_errors_exit_2(tmp_path, args):
    out = ctl_raw("--socket", str(tmp_path / "none.sock"), *args)
    assert out.returncode == USAGE, out


def test_help_lists_the_release_commands():
    out = ctl_raw("--help")
    assert out.returncode == OK
    for command in ("rollout", "guardrails", "promote-baseline"):
        assert command in out.stdout, out.stdout
    out = ctl_raw("rollout", "--help")
    assert out.returncode == OK
    for command in ("start", "status", "pause", "resume", "abort", "promote"):
        assert command in out.stdout, out.stdout


# --- a stand-in admin API with the contract's bodies ---------------------------------------

STATE = {"version": 7, "epoch": 1, "baseline": "blue", "candidate": "green",
         "weights": {"blue": 75, "green": 25},
         "pools": [{"name": "blue", "endpoints": [{"address": "127.0.0.1:1", "weight": 1}],
                    "balance": "round-robin", "failover": "other-pool"},
                   {"name": "green", "endpoints": [{"address": "127.0.0.1:2", "weight": 1}],
                    "balance": "round-robin", "failover": "other-pool"}],
         "rules": []}

GUARDRAILS = {
    "enabled": True, "action": "rollback", "window_ms": 30000,
    "spec": {"min_requests": 50, "max_error_rate_increase": 0.01, "max_error_rate_ratio": 0,
             "max_error_rate": 0, "latency_quantile": 0.99, "max_latency_ratio": 1.5,
             "max_latency_ms": 0, "false_alarm": 0.0001, "budget_false_alarm": 0.05},
    "verdict": {"kind": "healthy", "rule": "", "explain": "green 0/100 errors vs blue 1/900",
                "evaluated_unix_ms": 1764102020000,
                "baseline": {"pool": "blue", "requests": 900, "errors": 1, "error_rate": 0.0011,
                             "p99_ms": 12.5},
                "candidate": {"pool": "green", "requests": 100, "errors": 0, "error_rate": 0,
                              "p99_ms": 14.0}},
    "breach": None,
    "breaches_total": {"error_rate": 0, "latency": 0, "error_rate_ceiling": 0,
                       "latency_ceiling": 0}}

ROLLOUT = {"state": "running", "baseline": "blue", "candidate": "green",
           "steps": [1, 5, 25, 50, 100], "step": 2, "weight": 25, "dwell_ms": 120000,
           "min_requests": 0, "step_started_unix_ms": 1764102000000, "dwell_left_ms": 45000,
           "step_requests": 1234, "waiting_for": "dwell", "paused_reason": "",
           "started_by": "token:alice", "started_unix_ms": 1764101700000, "finished_unix_ms": 0,
           "cutover": {"complete": False, "candidate_full_since_unix_ms": 0, "hold_ms": 600000,
                       "next_step": ""}}


class StandInApi:
    """Canned answers by (method, path); records each request's method, path, headers and body.
    Anything not in `answers` is a 404, as on a proxy older than the endpoint."""

    def __init__(self, answers: dict):
        self.answers = answers
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append({"method": method, "path": self.path,
                                       "headers": dict(self.headers),
                                       "body": json.loads(body) if body else None})
                status, answer = outer.answers.get(
                    (method, self.path), (404, {"error": "no such endpoint", "field": ""}))
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                self.handle_one("GET")

            def do_POST(self):
                self.handle_one("POST")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ctl(self, *args):
        return ctl_raw("--url", self.url, "--token", "t", *args)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def stand_in():
    apis = []

    def start(answers: dict) -> StandInApi:
        api = StandInApi(answers)
        apis.append(api)
        return api

    yield start
    for api in apis:
        api.stop()


def test_status_leaves_out_what_an_older_server_lacks(stand_in):
    api = stand_in({("GET", "/v1/state"): (200, STATE)})
    out = api.ctl("status")
    assert out.returncode == OK, out
    assert out.stderr == ""
    assert "guardrails" not in out.stdout and "rollout" not in out.stdout, out.stdout
    assert {r["path"] for r in api.requests} == {"/v1/state", "/v1/tls", "/v1/guardrails",
                                                 "/v1/rollout"}
    out = api.ctl("status", "--json")
    assert out.returncode == OK, out
    assert json.loads(out.stdout) == STATE


def test_status_shows_the_verdict_the_rollout_and_the_hint(stand_in):
    rollout = copy.deepcopy(ROLLOUT)
    rollout["cutover"]["next_step"] = "green has held 100 % for 10m: retire blue"
    api = stand_in({("GET", "/v1/state"): (200, STATE),
                    ("GET", "/v1/guardrails"): (200, GUARDRAILS),
                    ("GET", "/v1/rollout"): (200, rollout)})
    out = api.ctl("status")
    assert out.returncode == OK, out
    assert out.stdout.endswith(
        "\nguardrails (rollback on breach): healthy: green 0/100 errors vs blue 1/900\n"
        "rollout: [####------] step 3/5: green 25 %, 45s of 2m dwell left, 1234 requests, "
        "waiting for: dwell\n"
        "next: green has held 100 % for 10m: retire blue\n"), out.stdout
    body = json.loads(api.ctl("status", "--json").stdout)
    assert body["guardrails"] == GUARDRAILS and body["rollout"] == rollout
    assert {k: v for k, v in body.items() if k not in ("guardrails", "rollout")} == STATE


def test_rollout_start_sends_the_schedule(stand_in):
    api = stand_in({("POST", "/v1/rollout"): (200, ROLLOUT)})
    out = api.ctl("--reason", "release 42", "rollout", "start", "1,5,12.5,100", "--every", "2m",
                  "--min-requests", "500")
    assert out.returncode == OK, out
    assert out.stdout.startswith("rollout running: blue -> green, steps 1 5 [25] 50 100"), out
    [request] = api.requests
    assert request["body"] == {"steps": [1, 5, 12.5, 100], "dwell": "2m", "min_requests": 500,
                               "reason": "release 42"}
    assert request["headers"]["X-Cutover-Reason"] == "release 42"
    api.requests.clear()
    assert api.ctl("rollout", "start", "50,100", "--every", "1s").returncode == OK
    assert api.requests[0]["body"] == {"steps": [50, 100], "dwell": "1s"}


@pytest.mark.parametrize("action", ["pause", "resume", "abort", "promote"])
def test_rollout_steering_posts_and_shows_the_answer(stand_in, action):
    paused = dict(ROLLOUT, state="paused", paused_reason="by hand")
    api = stand_in({("POST", f"/v1/rollout/{action}"): (200, paused)})
    out = api.ctl("rollout", action, "--reason", "why not")
    assert out.returncode == OK, out
    assert "[####------] step 3/5: green 25 %, paused: by hand" in out.stdout, out.stdout
    assert api.requests[0]["body"] == {"reason": "why not"}
    out = api.ctl("--json", "rollout", action)
    assert json.loads(out.stdout) == paused
    assert api.requests[1]["body"] == {}


def test_conflicts_exit_3_with_the_servers_error(stand_in):
    api = stand_in({("POST", "/v1/rollout"): (409, {"error": "a rollout is running",
                                                    "field": ""}),
                    ("POST", "/v1/rollout/resume"): (409, {"error": "the rollout is running",
                                                           "field": ""}),
                    ("POST", "/v1/guardrails/ack"): (409, {"error": "no breach to acknowledge",
                                                           "field": ""}),
                    ("POST", "/v1/promote-baseline"): (409, {"error": "green is at 25, not 100",
                                                             "field": ""})})
    for args, error in ((["rollout", "start", "1,100", "--every", "1m"], "a rollout is running"),
                        (["rollout", "resume"], "the rollout is running"),
                        (["guardrails", "ack"], "no breach to acknowledge"),
                        (["promote-baseline"], "green is at 25, not 100")):
        out = api.ctl(*args)
        assert out.returncode == CONFLICT, (args, out)
        assert out.stderr.startswith(f"cutover ctl: 409 {error}\n"), out.stderr
        assert out.stdout == ""


def test_guardrails_ack_sends_resume_and_reason(stand_in):
    acked = copy.deepcopy(GUARDRAILS)
    acked["breach"] = {"rule": "latency", "explain": "p99 40 ms vs 12 ms",
                       "unix_ms": 1764102020000, "action": "pause", "acknowledged": True}
    api = stand_in({("POST", "/v1/guardrails/ack"): (200, acked),
                    ("GET", "/v1/guardrails"): (200, acked)})
    out = api.ctl("guardrails", "ack", "--resume", "--reason", "known slow dependency")
    assert out.returncode == OK, out
    assert api.requests[0]["body"] == {"resume": True, "reason": "known slow dependency"}
    assert "breach: latency at 2025-11-25T20:20:20Z, rollout paused, acknowledged" in out.stdout
    assert api.ctl("guardrails", "ack").returncode == OK
    assert api.requests[1]["body"] == {"resume": False}
    out = api.ctl("guardrails")
    assert out.returncode == OK, out
    assert [r["method"] for r in api.requests] == ["POST", "POST", "GET"]
    assert out.stdout.startswith("guardrails on: a breach rolls back the candidate (window 30s)\n"
                                 "verdict: healthy: green 0/100 errors vs blue 1/900"), out.stdout


def test_promote_baseline_shows_the_swap(stand_in):
    swapped = dict(STATE, version=8, baseline="green", candidate="blue",
                   weights={"blue": 0, "green": 100}, workers=1, switch_us=40)
    api = stand_in({("POST", "/v1/promote-baseline"): (200, swapped)})
    out = api.ctl("promote-baseline", "--reason", "green is production")
    assert out.returncode == OK, out
    assert out.stdout == ("baseline is now green, candidate blue: version 8: blue=0 green=100 "
                          "(1 worker switched in 40 us)\n")
    assert api.requests[0]["body"] == {"reason": "green is production"}
