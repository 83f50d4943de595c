"""`cutover ctl rollout ...`, `guardrails [ack]`, `promote-baseline` and the release lines of
`status` (docs/ctl.md): the local checks that send nothing; what ctl sends and shows, against
a stand-in admin API serving the API contract's bodies (and 404 for what an older server
lacks); and each command's effect on a real `cutover run` with guardrails (docs/guardrails.md):
weights, audit entries, exit codes and output."""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from admin_helpers import audit_entries, poll
from recording_backend import Response, identify_handler
from test_ctl import CONFLICT, OK, USAGE, ctl, ctl_raw
from guardrail_helpers import Load, no_ejection, start_with_guardrails, weights_of

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


# --- against the real server -----------------------------------------------------------------


def ctl_json(px, *args) -> dict:
    out = ctl(px, "--json", *args)
    assert out.returncode == OK, out
    return json.loads(out.stdout)


def test_rollout_start_pause_resume_promote_and_promote_baseline(cutover, backends):
    # complete_after 1s: the cutover hint comes within the test.
    blue, green = backends("blue"), backends("green")
    px = cutover(pools={"blue": no_ejection(blue), "green": no_ejection(green)},
                 weights={"blue": 100, "green": 0}, admin=True,
                 guardrails={"window": "10s", "min_requests": 20},
                 rollout={"complete_after": "1s"})
    out = ctl(px, "rollout", "status")
    assert out.returncode == OK, out
    assert out.stdout.startswith("no rollout (start one with `cutover ctl rollout start"), out

    out = ctl(px, "--reason", "release 42", "rollout", "start", "10,50,100", "--every", "1h")
    assert out.returncode == OK, out
    lines = out.stdout.splitlines()
    assert lines[0] == "rollout running: blue -> green, steps [10] 50 100, 1h dwell each", out
    assert lines[1].startswith("[----------] step 1/3: green 10 %, "), out
    assert "of 1h dwell left" in lines[1] and lines[1].endswith("waiting for: dwell"), out
    assert lines[2].startswith("started ") and lines[2].endswith(" by uid:0"), out
    assert weights_of(px) == {"blue": 90, "green": 10}
    start = next(e for e in audit_entries(px) if e["action"] == "rollout.start")
    assert start["reason"].endswith(": release 42"), start  # after the schedule

    out = ctl(px, "rollout", "start", "20,100", "--every", "1h")
    assert out.returncode == CONFLICT, out
    assert out.stderr.startswith("cutover ctl: 409 "), out.stderr
    assert "a rollout is already running or paused" in out.stderr
    assert weights_of(px) == {"blue": 90, "green": 10}

    out = ctl(px, "rollout", "pause", "--reason", "lunch")
    assert out.returncode == OK, out
    assert "[----------] step 1/3: green 10 %, paused: paused by uid:0: lunch\n" in out.stdout
    assert "`cutover ctl rollout resume` goes on from this step" in out.stdout
    assert ctl(px, "rollout", "pause").returncode == CONFLICT
    assert ctl_json(px, "rollout", "status")["state"] == "paused"

    out = ctl(px, "rollout", "resume")
    assert out.returncode == OK, out
    assert out.stdout.startswith("rollout running: "), out
    assert ctl(px, "rollout", "resume").returncode == CONFLICT

    # status: the verdict and the rollout under the tables; --json carries both bodies.
    out = ctl(px, "status")
    assert out.returncode == OK, out
    assert "\nguardrails (rollback on breach): " in out.stdout, out.stdout
    assert "\nrollout: [----------] step 1/3: green 10 %, " in out.stdout, out.stdout
    body = ctl_json(px, "status")
    assert body["rollout"]["state"] == "running" and body["rollout"]["steps"] == [10, 50, 100]
    assert body["guardrails"]["enabled"] is True
    assert body["weights"] == {"blue": 90, "green": 10}

    out = ctl(px, "rollout", "promote", "--reason", "looks good")
    assert out.returncode == OK, out
    assert "[##########] step 3/3: green 100 %, completed\n" in out.stdout, out.stdout
    assert weights_of(px) == {"blue": 0, "green": 100}
    assert ctl(px, "rollout", "abort").returncode == CONFLICT  # it is over

    # complete_after is 1 s: then status suggests the next step.
    assert poll(lambda: ctl_json(px, "rollout", "status")["cutover"]["complete"], 10)
    out = ctl(px, "status")
    assert "\nnext: green has served 100 % for " in out.stdout, out.stdout
    assert "cutover ctl promote-baseline" in out.stdout

    out = ctl(px, "promote-baseline", "--reason", "blue retired")
    assert out.returncode == OK, out
    version = px.admin().state()["version"]
    assert out.stdout.startswith(f"baseline is now green, candidate blue: version {version}: "
                                 "blue=0 green=100"), out.stdout
    state = px.admin().state()
    assert state["baseline"] == "green" and state["candidate"] == "blue"
    assert audit_entries(px)[0]["action"] == "promote-baseline"
    assert audit_entries(px)[0]["reason"] == "blue retired"


def test_rollout_abort_rolls_the_candidate_back(cutover, backends):
    px = start_with_guardrails(cutover, backends, {"blue": 100, "green": 0})
    assert ctl(px, "rollout", "abort").returncode == CONFLICT  # nothing to abort
    assert ctl(px, "rollout", "start", "20,100", "--every", "1h").returncode == OK
    assert weights_of(px) == {"blue": 80, "green": 20}
    out = ctl(px, "promote-baseline")
    assert out.returncode == CONFLICT, out
    assert "must serve 100 %" in out.stderr, out.stderr
    out = ctl(px, "rollout", "abort", "--reason", "changed my mind")
    assert out.returncode == OK, out
    assert "[----------] step 1/2: green 20 %, aborted (green rolled back)\n" in out.stdout, out
    assert weights_of(px) == {"blue": 100, "green": 0}
    assert ctl_json(px, "rollout", "status")["state"] == "aborted"
    abort = next(e for e in audit_entries(px) if e["action"] == "rollout.abort")
    assert abort["reason"].endswith("changed my mind"), abort


def test_rollout_advances_itself_while_the_guardrails_hold(cutover, backends):
    px = start_with_guardrails(cutover, backends, {"blue": 100, "green": 0}, min_requests=5)
    load = Load(px.port).start()
    try:
        load.wait_more(100)
        out = ctl(px, "rollout", "start", "5,50,100", "--every", "1s", "--min-requests", "3")
        assert out.returncode == OK, out
        assert ctl_json(px, "rollout", "status")["min_requests"] == 3
        assert poll(lambda: ctl_json(px, "rollout", "status")["state"] == "completed", 45), \
            ctl(px, "rollout", "status").stdout
    finally:
        load.finish()
    assert weights_of(px) == {"blue": 0, "green": 100}
    out = ctl(px, "rollout", "status")
    assert out.returncode == OK, out
    assert out.stdout.startswith("rollout completed: blue -> green, steps 5 50 [100], "
                                 "1s dwell each, at least 3 requests each\n"
                                 "[##########] step 3/3: green 100 %, completed\n"), out.stdout
    assert "\nnext: green is at 100 %" in out.stdout, out.stdout


def test_guardrails_show_a_breach_and_ack_acknowledges_it_once(cutover, backends):
    px = start_with_guardrails(cutover, backends, {"blue": 80, "green": 20})
    out = ctl(px, "guardrails")
    assert out.returncode == OK, out
    assert out.stdout.startswith("guardrails on: a breach rolls back the candidate (window 10s)\n"
                                 "verdict: "), out.stdout
    assert "rules: at least 20 requests per pool; " in out.stdout
    assert ctl(px, "guardrails", "ack").returncode == CONFLICT  # no breach yet
    load = Load(px.port).start()
    try:
        load.wait_more(200)
        px.green.handler = lambda req: Response(503, body=b"green is broken")
        assert poll(lambda: weights_of(px)["green"] == 0, 20), "green was never rolled back"
    finally:
        load.finish()
    out = ctl(px, "guardrails")
    assert out.returncode == OK, out
    assert "\nbreach: error_rate at " in out.stdout, out.stdout
    assert ", rolled back, NOT ACKNOWLEDGED\n  breach error_rate: candidate " in out.stdout
    assert "`cutover ctl guardrails ack --reason TEXT` acknowledges it" in out.stdout
    assert "breaches since start: error_rate 1" in out.stdout
    assert "; unacknowledged error_rate breach: `cutover ctl guardrails`" in \
        ctl(px, "status").stdout
    body = ctl_json(px, "guardrails")
    assert body["breach"] == px.admin().get("/v1/guardrails").json["breach"]

    out = ctl(px, "guardrails", "ack", "--reason", "looked at green")
    assert out.returncode == OK, out
    assert ", rolled back, acknowledged\n" in out.stdout, out.stdout
    ack = next(e for e in audit_entries(px) if e["action"] == "guardrail.ack")
    assert ack["reason"] == "looked at green", ack
    out = ctl(px, "guardrails", "ack")
    assert out.returncode == CONFLICT, out
    assert out.stderr.startswith("cutover ctl: 409 there is no unacknowledged guardrail breach\n")
    assert "unacknowledged" not in ctl(px, "status").stdout


def test_ack_resume_continues_a_rollout_the_breach_paused(cutover, backends):
    px = start_with_guardrails(cutover, backends, {"blue": 100, "green": 0}, action="pause")
    load = Load(px.port).start()
    try:
        assert ctl(px, "rollout", "start", "30,60,100", "--every", "1h").returncode == OK
        load.wait_more(300)
        px.green.handler = lambda req: Response(500, body=b"no")
        assert poll(lambda: ctl_json(px, "rollout", "status")["state"] == "paused", 20)
        out = ctl(px, "rollout", "status")
        assert "step 1/3: green 30 %, paused: paused by the guardrail: error_rate" in out.stdout
        out = ctl(px, "guardrails")
        assert ", rollout paused, NOT ACKNOWLEDGED\n" in out.stdout, out.stdout
        assert "(add --resume to resume the rollout)" in out.stdout
        # Not while the breach is unacknowledged.
        assert ctl(px, "rollout", "resume").returncode == CONFLICT
        assert weights_of(px) == {"blue": 70, "green": 30}
        px.green.handler = identify_handler("green")  # fixed
        out = ctl(px, "guardrails", "ack", "--resume", "--reason", "fixed")
        assert out.returncode == OK, out
        assert ctl_json(px, "rollout", "status")["state"] == "running"
    finally:
        load.finish()


def test_without_guardrails_the_verdict_is_advice(cutover):
    px = cutover(admin=True)
    out = ctl(px, "guardrails")
    assert out.returncode == OK, out
    assert out.stdout.startswith("guardrails off (no [guardrails] in the config)"), out.stdout
    assert "\nguardrails off (verdict only): " in ctl(px, "status").stdout
