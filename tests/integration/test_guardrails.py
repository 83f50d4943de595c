"""Guardrails and progressive rollouts through the real binary (docs/guardrails.md): a green
backend that starts failing is rolled back while load runs, a `pause` policy freezes instead,
a healthy rollout 1,5,25,50,100 ramps itself to 100 %, and a restart resumes a rollout."""

from __future__ import annotations

import time

import pytest

from admin_helpers import (assert_json_error, assert_unchanged, audit_entries, poll, snapshot,
                           write_tokens_file)
from guardrail_helpers import CLIENTS, Load, no_ejection, start_with_guardrails, weights_of
from recording_backend import Response, identify_handler
from test_metrics import parse_exposition, value


def test_failing_green_is_rolled_back_automatically_under_load(cutover, backends):
    px = start_with_guardrails(cutover, backends, {"blue": 80, "green": 20})
    admin = px.admin()
    load = Load(px.port).start()
    try:
        load.wait_more(300)
        assert admin.get("/v1/guardrails").json["verdict"]["kind"] in ("healthy",
                                                                      "insufficient_data")
        failing_since = time.monotonic()
        px.green.handler = lambda req: Response(503, body=b"green is broken")
        assert poll(lambda: weights_of(px)["green"] == 0, 20), "green was never rolled back"
        rolled_back_after = time.monotonic() - failing_since
        print(f"rolled back {rolled_back_after:.1f} s after green started failing")
        # After the rollback the clients see only blue (once the requests in flight when it
        # happened are answered: at most one per client).
        green_seen = px.green.request_count
        load.wait_more(CLIENTS)
        switched = time.monotonic()
        load.wait_more(300)
        after = load.since(switched)
        assert len(after) >= 300
        assert all(backend == "blue" and status == 200 for _, status, backend in after)
        assert px.green.request_count <= green_seen + CLIENTS
    finally:
        load.finish()
    assert weights_of(px) == {"blue": 100, "green": 0}
    entry = next(e for e in audit_entries(px) if e["action"] == "guardrail.rollback")
    assert entry["actor"] == "guardrail" and entry["result"] == "ok"
    assert "breach error_rate" in entry["reason"], entry
    assert "candidate" in entry["reason"] and "baseline" in entry["reason"]
    body = admin.get("/v1/guardrails").json
    assert body["breach"]["rule"] == "error_rate" and body["breach"]["action"] == "rollback"
    assert body["breach"]["acknowledged"] is False
    assert body["breaches_total"]["error_rate"] == 1
    samples = parse_exposition(admin.get("/metrics").raw.decode())
    assert value(samples, "cutover_guardrail_breaches_total", rule="error_rate") == 1
    assert value(samples, "cutover_guardrail_breaches_total", rule="latency") == 0
    # The breach latches: acknowledging it is the operator's move, once.
    r = admin.request("POST", "/v1/guardrails/ack", {"reason": "looked at green"})
    assert r.status == 200 and r.json["breach"]["acknowledged"] is True, r
    assert_json_error(admin.request("POST", "/v1/guardrails/ack", {}), 409)
    assert any(e["action"] == "guardrail.ack" and e["actor"].startswith("uid:")
               for e in audit_entries(px))


def test_pause_policy_freezes_the_weights_and_the_rollout(cutover, backends):
    px = start_with_guardrails(cutover, backends, {"blue": 100, "green": 0}, action="pause")
    admin = px.admin()
    load = Load(px.port).start()
    try:
        r = admin.request("POST", "/v1/rollout", {"steps": [30, 60, 100], "dwell": "1h"})
        assert r.status == 200 and r.json["state"] == "running" and r.json["weight"] == 30, r
        load.wait_more(300)
        px.green.handler = lambda req: Response(500, body=b"no")
        assert poll(lambda: admin.get("/v1/rollout").json["state"] == "paused", 20)
        rollout = admin.get("/v1/rollout").json
        assert rollout["paused_reason"].startswith("paused by the guardrail: error_rate"), rollout
        load.wait_more(200)
        assert weights_of(px) == {"blue": 70, "green": 30}  # frozen, not rolled back
        # A paused rollout does not resume while the breach is unacknowledged.
        assert_json_error(admin.request("POST", "/v1/rollout/resume", {}), 409)
        px.green.handler = identify_handler("green")  # fixed
        r = admin.request("POST", "/v1/guardrails/ack", {"reason": "fixed", "resume": True})
        assert r.status == 200, r
        assert admin.get("/v1/rollout").json["state"] == "running"
    finally:
        load.finish()
    actions = [e["action"] for e in audit_entries(px)]
    assert "guardrail.pause" in actions and "guardrail.rollback" not in actions
    assert actions.index("guardrail.ack") < actions.index("guardrail.pause")  # newest first
    assert admin.get("/v1/guardrails").json["breach"]["action"] == "pause"


def test_healthy_rollout_ramps_itself_to_full(cutover, backends):
    px = start_with_guardrails(cutover, backends, {"blue": 100, "green": 0}, min_requests=5)
    admin = px.admin()
    load = Load(px.port).start()
    try:
        load.wait_more(100)
        r = admin.request("POST", "/v1/rollout",
                          {"steps": [1, 5, 25, 50, 100], "dwell": "1s", "min_requests": 3,
                           "reason": "ramp green"})
        assert r.status == 200, r
        assert r.json["steps"] == [1, 5, 25, 50, 100] and r.json["weight"] == 1
        assert poll(lambda: admin.get("/v1/rollout").json["state"] == "completed", 45), \
            admin.get("/v1/rollout").json
    finally:
        load.finish()
    assert weights_of(px) == {"blue": 0, "green": 100}
    steps = [e for e in reversed(audit_entries(px)) if e["action"].startswith("rollout.")]
    assert [e["action"] for e in steps] == ["rollout.start"] + ["rollout.step"] * 4 + \
        ["rollout.complete"]
    assert [e["after"]["weights"]["green"] for e in steps[:5]] == [1, 5, 25, 50, 100]
    assert all("healthy" in e["reason"] for e in steps[1:5]), steps
    assert not load.errors and all(status == 200 for _, status, _ in load.answers)
    rollout = admin.get("/v1/rollout").json
    assert rollout["cutover"]["candidate_full_since_unix_ms"] > 0
    assert rollout["cutover"]["complete"] is False  # complete_after is 10 minutes


def test_restart_in_the_middle_of_a_rollout_resumes_it(cutover, backends):
    px = start_with_guardrails(cutover, backends, {"blue": 100, "green": 0}, min_requests=5)
    admin = px.admin()
    load = Load(px.port).start()
    try:
        load.wait_more(100)
        r = admin.request("POST", "/v1/rollout", {"steps": [1, 5, 25, 50, 100], "dwell": "2s"})
        assert r.status == 200, r
        assert poll(lambda: admin.get("/v1/rollout").json["weight"] >= 25, 30)
    finally:
        load.finish()
    before = admin.get("/v1/rollout").json
    assert before["state"] == "running"
    px.stop()
    px2 = cutover.restart(px)
    admin2 = px2.admin()
    after = admin2.get("/v1/rollout").json
    assert after["state"] == "running" and after["step"] == before["step"], after
    assert after["steps"] == before["steps"] and after["started_by"] == before["started_by"]
    assert weights_of(px2)["green"] == before["weight"]
    assert 0 < after["dwell_left_ms"] <= 2000  # the dwell restarted
    assert "resuming at step" in px2.stderr_text()
    load = Load(px2.port).start()
    try:
        assert poll(lambda: admin2.get("/v1/rollout").json["state"] == "completed", 45), \
            admin2.get("/v1/rollout").json
    finally:
        load.finish()
    assert weights_of(px2) == {"blue": 0, "green": 100}


def test_rollout_commands_pause_resume_promote_and_abort(cutover, backends):
    px = start_with_guardrails(cutover, backends, {"blue": 100, "green": 0})
    admin = px.admin()
    assert_json_error(admin.request("POST", "/v1/rollout/pause", {}), 409)
    assert admin.get("/v1/rollout").json["state"] == "none"
    assert admin.request("POST", "/v1/rollout", {"steps": [10, 100], "dwell": "1h"}).status == 200
    assert_json_error(admin.request("POST", "/v1/rollout", {"steps": [5], "dwell": "1h"}), 409)
    r = admin.request("POST", "/v1/rollout/pause", {"reason": "lunch"})
    assert r.status == 200 and r.json["state"] == "paused", r
    assert r.json["paused_reason"] == "paused by uid:0: lunch"
    assert_json_error(admin.request("POST", "/v1/rollout/pause", {}), 409)
    # Someone moves the weights while paused: resume puts the step's weight back.
    assert admin.put_weights({"blue": 95, "green": 5}).status == 200
    r = admin.request("POST", "/v1/rollout/resume", {})
    assert r.status == 200 and r.json["state"] == "running", r
    assert weights_of(px) == {"blue": 90, "green": 10}
    r = admin.request("POST", "/v1/rollout/promote", {"reason": "looks good"})
    assert r.status == 200 and r.json["state"] == "completed" and r.json["weight"] == 100, r
    assert weights_of(px) == {"blue": 0, "green": 100}
    # A new rollout after a finished one; abort is a rollback.
    assert admin.put_weights({"blue": 100, "green": 0}).status == 200
    assert admin.request("POST", "/v1/rollout", {"steps": [20, 100], "dwell": "1h"}).status == 200
    r = admin.request("POST", "/v1/rollout/abort", {"reason": "changed my mind"})
    assert r.status == 200 and r.json["state"] == "aborted", r
    assert weights_of(px) == {"blue": 100, "green": 0}
    actions = [e["action"] for e in reversed(audit_entries(px))]
    for action in ("rollout.start", "rollout.pause", "rollout.resume", "rollout.promote",
                   "rollout.abort"):
        assert action in actions


def test_a_weight_changed_behind_a_running_rollout_pauses_it(cutover, backends):
    px = start_with_guardrails(cutover, backends, {"blue": 100, "green": 0})
    admin = px.admin()
    assert admin.request("POST", "/v1/rollout", {"steps": [10, 100], "dwell": "1h"}).status == 200
    assert admin.put_weights({"blue": 60, "green": 40}).status == 200
    assert poll(lambda: admin.get("/v1/rollout").json["state"] == "paused", 10)
    assert "changed outside the rollout" in admin.get("/v1/rollout").json["paused_reason"]
    assert weights_of(px) == {"blue": 60, "green": 40}  # the operator's change stands
    # A rollback behind its back ends it.
    assert admin.request("POST", "/v1/rollout/resume", {}).status == 200
    assert admin.request("POST", "/v1/rollback", {"reason": "manual"}).status == 200
    assert poll(lambda: admin.get("/v1/rollout").json["state"] == "aborted", 10)


@pytest.mark.parametrize("body, field", [
    ({"dwell": "1m"}, "steps"),
    ({"steps": [1, 5]}, "dwell"),
    ({"steps": [5, 1], "dwell": "1m"}, "steps"),
    ({"steps": [0, 5], "dwell": "1m"}, "steps"),
    ({"steps": [1, 101], "dwell": "1m"}, "steps"),
    ({"steps": [1.234], "dwell": "1m"}, "steps"),
    ({"steps": "1,5", "dwell": "1m"}, "steps"),
    ({"steps": [1], "dwell": "500ms"}, "dwell"),
    ({"steps": [1], "dwell": "2d"}, "dwell"),
    ({"steps": [1], "dwell": 60}, "dwell"),
    ({"steps": [1], "dwell": "1m", "min_requests": -1}, "min_requests"),
    ({"steps": [1], "dwell": "1m", "every": "1m"}, "every"),
    ([1, 5], ""),
])
def test_a_bad_rollout_is_refused_and_changes_nothing(cutover, backends, body, field):
    px = start_with_guardrails(cutover, backends, {"blue": 100, "green": 0})
    before = snapshot(px)
    assert_json_error(px.admin().request("POST", "/v1/rollout", body), 400, field)
    assert_unchanged(px, before)
    assert px.admin().get("/v1/rollout").json["state"] == "none"


def test_a_viewer_may_read_but_not_start_a_rollout(cutover, backends, tmp_path):
    tokens = write_tokens_file(tmp_path / "tokens", [("dash", "viewer", "viewer-token")])
    blue, green = backends("blue"), backends("green")
    px = cutover(pools={"blue": [blue.address], "green": [green.address]}, admin={
        "address": True, "tokens_file": str(tokens)}, guardrails={"action": "pause"})
    viewer = px.admin(token="viewer-token", tcp=True)
    assert viewer.get("/v1/rollout").status == 200
    assert viewer.get("/v1/guardrails").status == 200
    assert_json_error(viewer.request("POST", "/v1/rollout", {"steps": [1], "dwell": "1m"}), 403)
    assert_json_error(viewer.request("POST", "/v1/guardrails/ack", {}), 403)
    assert_json_error(viewer.request("POST", "/v1/promote-baseline", {}), 403)


def test_promote_baseline_swaps_the_roles_for_the_next_migration(cutover, backends):
    px = start_with_guardrails(cutover, backends, {"blue": 100, "green": 0})
    admin = px.admin()
    r = admin.request("POST", "/v1/promote-baseline", {"reason": "too early"})
    assert_json_error(r, 409)
    assert "must serve 100 %" in r.json["error"]
    assert admin.put_weights({"blue": 0, "green": 100}).status == 200
    r = admin.request("POST", "/v1/promote-baseline", {"reason": "blue retired"})
    assert r.status == 200, r
    assert r.json["baseline"] == "green" and r.json["candidate"] == "blue"
    assert r.json["weights"] == {"blue": 0, "green": 100}
    entry = audit_entries(px)[0]
    assert entry["action"] == "promote-baseline" and entry["reason"] == "blue retired"
    assert entry["after"]["baseline"] == "green" and entry["before"]["baseline"] == "blue"
    # The roles outlive a restart; a rollback now protects green.
    px.stop()
    px2 = cutover.restart(px)
    state = px2.admin().state()
    assert state["baseline"] == "green" and state["candidate"] == "blue"
    assert px2.admin().request("POST", "/v1/rollback", {}).status == 200
    assert weights_of(px2) == {"blue": 0, "green": 100}


def test_without_guardrails_a_breach_is_shown_but_nothing_acts(cutover, backends):
    blue, green = backends("blue"), backends("green")
    px = cutover(pools={"blue": no_ejection(blue), "green": no_ejection(green)}, admin=True,
                 weights={"blue": 50, "green": 50})
    px.blue, px.green = blue, green
    px.green.handler = lambda req: Response(503, body=b"no")
    admin = px.admin()
    conn = px.connect()
    for i in range(400):
        conn.get(f"/n{i}")
    assert poll(lambda: admin.get("/v1/guardrails").json["verdict"]["kind"] == "breach", 10)
    body = admin.get("/v1/guardrails").json
    assert body["enabled"] is False and body["breach"] is None
    assert body["verdict"]["rule"] == "error_rate"
    assert body["verdict"]["candidate"]["errors"] > 0
    assert weights_of(px) == {"blue": 50, "green": 50}
    compare = admin.get("/v1/compare?window=60s").json
    assert compare["guardrail"]["kind"] == "breach"
    assert not any(e["action"].startswith("guardrail.") for e in audit_entries(px))
