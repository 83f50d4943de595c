"""The admin API (docs/admin-api.md) through the real binary, over its Unix socket: every
endpoint, traffic following every accepted change as soon as it is acknowledged, and every
rejection leaving the state, its ETag and the state file byte-for-byte as they were."""

import json
import os
import signal
import socket
import threading

import pytest

from admin_helpers import (assert_json_error, assert_unchanged, audit_file_entries,
                           audit_log_path, backend_of, backends_of, poll, snapshot,
                           state_file_bytes, state_file_path)
from http_client import ClientConn
from proxy_process import free_port
from recording_backend import Response

BETA = {"name": "beta", "pool": "green", "match": {"header": {"X-Beta": ["1"]}}}
ACTOR = f"uid:{os.getuid()}"


def _ok(resp, status=200) -> dict:
    assert resp.status == status, resp
    return resp.json


def _assert_switched(body: dict, workers: int) -> None:
    """A mutating call's answer: the new state plus switch_us and workers."""
    assert isinstance(body.get("switch_us"), int) and body["switch_us"] >= 0, body
    assert body.get("workers") == workers, body


def _rules(px) -> list:
    return _ok(px.admin().get("/v1/rules"))["rules"]


# --- GET /v1/state -----------------------------------------------------------------------


def test_state_has_the_config_routing_and_an_etag(cutover):
    px = cutover(admin=True, weights={"blue": 90, "green": 10},
                 rules=[{"name": "beta", "pool": "green", "owner": "checkout-team",
                         "kind": "targeted", "match": {"header": {"X-Beta": "1"}}}])
    r = px.admin().get("/v1/state")
    s = _ok(r)
    assert r.headers["content-type"].startswith("application/json"), r.headers
    assert isinstance(s["version"], int) and s["version"] >= 1
    assert r.headers.get("etag") == f'"{s["version"]}"'
    assert isinstance(s["epoch"], int)
    assert s["weights"] == {"blue": 90, "green": 10}
    assert s["baseline"] == "blue" and s["candidate"] == "green"
    pools = {p["name"]: p for p in s["pools"]}
    assert set(pools) == {"blue", "green"}
    assert [e["address"] for e in pools["blue"]["endpoints"]] == [px.blue.address]
    assert [e["address"] for e in pools["green"]["endpoints"]] == [px.green.address]
    assert len(s["rules"]) == 1
    rule = s["rules"][0]
    assert rule["name"] == "beta" and rule["pool"] == "green" and rule["enabled"] is True
    assert rule["kind"] == "targeted" and rule["owner"] == "checkout-team"
    assert rule["match"] == {"header": {"X-Beta": ["1"]}}
    assert "affinity" in s
    # A second GET with nothing in between is the same state and the same ETag.
    r2 = px.admin().get("/v1/state")
    assert r2.json == s and r2.headers.get("etag") == r.headers.get("etag")


def test_state_and_history_never_show_affinity_secrets(cutover):
    salt, key = "salt-d4c1b2a39f", "pin-key-7e1f0c2b9a8d6e5f"
    px = cutover(admin=True, affinity={"mode": "pin", "salt": salt, "pin_key": key})
    c = px.admin()
    _ok(c.put_weights({"blue": 50, "green": 50}))
    for path in ("/v1/state", "/v1/history", "/v1/audit", "/v1/health", "/v1/rules"):
        raw = c.get(path).raw
        assert salt.encode() not in raw and key.encode() not in raw, path
    assert _ok(c.get("/v1/state"))["affinity"]["mode"] == "pin"


# --- PUT /v1/weights ---------------------------------------------------------------------


@pytest.mark.multiworker
def test_put_weights_switches_every_worker_before_answering(cutover):
    px = cutover(admin=True, workers=2)
    c = px.admin()
    before = c.state()
    assert backends_of(px, 10) == ["blue"] * 10
    r = c.put_weights({"blue": 0, "green": 100})
    body = _ok(r)
    _assert_switched(body, workers=2)
    assert body["version"] == before["version"] + 1
    assert body["weights"] == {"blue": 0, "green": 100}
    # Acknowledged means switched: no polling, the very next requests go to green, on fresh
    # connections (either worker) and on a keep-alive one.
    assert [backend_of(px) for _ in range(20)] == ["green"] * 20
    assert backends_of(px, 20) == ["green"] * 20
    s = c.get("/v1/state")
    assert s.json["weights"] == {"blue": 0, "green": 100}
    assert s.headers.get("etag") == f'"{before["version"] + 1}"'
    # The state file was written (the documented envelope).
    envelope = json.loads(state_file_bytes(px))
    assert envelope["format"] == 1 and "checksum" in envelope and "state" in envelope
    # And back.
    _ok(c.put_weights({"blue": 100, "green": 0}))
    assert backends_of(px, 20) == ["blue"] * 20


def test_put_weights_accepts_two_decimals_and_zeroes_unmentioned_pools(cutover):
    px = cutover(admin=True, weights={"blue": 50, "green": 50})
    c = px.admin()
    assert _ok(c.put_weights({"blue": 33.33, "green": 66.67}))["weights"] == \
        {"blue": 33.33, "green": 66.67}
    assert _ok(c.put_weights({"green": 100}))["weights"] == {"blue": 0, "green": 100}
    assert backends_of(px, 10) == ["green"] * 10


@pytest.mark.multiworker
def test_split_weights_send_traffic_to_both_pools(cutover):
    px = cutover(admin=True, workers=2)
    _ok(px.admin().put_weights({"blue": 50, "green": 50}))
    seen = backends_of(px, 200)
    # P(one pool gets fewer than 40 of 200 at 50 %) is far below 1e-15.
    assert seen.count("blue") >= 40 and seen.count("green") >= 40, seen


@pytest.mark.parametrize("form", ['"{v}"', "{v}", "*"])
def test_if_match_with_the_live_version_applies(cutover, form):
    px = cutover(admin=True)
    c = px.admin()
    v = c.state()["version"]
    r = c.put_weights({"blue": 0, "green": 100}, headers={"If-Match": form.format(v=v)})
    assert _ok(r)["version"] == v + 1
    assert backend_of(px) == "green"


def test_reason_header_goes_to_the_audit_log_and_history(cutover):
    px = cutover(admin=True)
    c = px.admin()
    body = _ok(c.put_weights({"blue": 80, "green": 20},
                             headers={"X-Cutover-Reason": "canary step 1"}))
    entry = c.audit(limit=1)[0]
    assert entry["result"] == "ok" and entry["reason"] == "canary step 1"
    assert entry["version"] == body["version"] and entry["actor"] == ACTOR
    hist = _ok(c.get("/v1/history"))["history"][0]
    assert hist["version"] == body["version"] and hist["reason"] == "canary step 1"


def test_a_reason_of_1024_bytes_is_kept_whole(cutover):
    px = cutover(admin=True)
    c = px.admin()
    reason = ("incident 4711: " + "x" * 1024)[:1024]
    _ok(c.put_weights({"blue": 0, "green": 100}, headers={"X-Cutover-Reason": reason}))
    assert c.audit(limit=1)[0]["reason"] == reason
    _ok(c.request("POST", "/v1/rollback", body={"reason": reason}))
    assert c.audit(limit=1)[0]["reason"] == reason


# --- rules -------------------------------------------------------------------------------


@pytest.mark.multiworker
def test_rules_crud_and_routing(cutover):
    px = cutover(admin=True, workers=2)
    c = px.admin()
    v0 = c.state()["version"]
    assert _ok(c.get("/v1/rules")) == {"version": v0, "rules": []}

    # POST: 201, and the header now routes to green.
    body = _ok(c.request("POST", "/v1/rules", body=BETA), 201)
    _assert_switched(body, workers=2)
    assert body["version"] == v0 + 1
    assert [backend_of(px, headers=[("X-Beta", "1")]) for _ in range(10)] == ["green"] * 10
    assert backends_of(px, 10) == ["blue"] * 10
    listed = _ok(c.get("/v1/rules"))
    assert listed["version"] == v0 + 1 and len(listed["rules"]) == 1
    rule = listed["rules"][0]
    assert rule["name"] == "beta" and rule["pool"] == "green" and rule["enabled"] is True
    assert rule["kind"] == "temporary" and rule["match"] == {"header": {"X-Beta": ["1"]}}
    one = _ok(c.get("/v1/rules/beta"))
    assert one.get("rule", one) == rule

    # PATCH: only the given field changes.
    body = _ok(c.request("PATCH", "/v1/rules/beta", body={"enabled": False}))
    assert body["version"] == v0 + 2
    assert backends_of(px, 10, headers=[("X-Beta", "1")]) == ["blue"] * 10
    patched = _ok(c.get("/v1/rules/beta"))
    patched = patched.get("rule", patched)
    assert patched == {**rule, "enabled": False}
    body = _ok(c.request("PATCH", "/v1/rules/beta", body={"enabled": True}))
    assert backends_of(px, 10, headers=[("X-Beta", "1")]) == ["green"] * 10

    # PUT: replaces the rule as a whole.
    new_beta = {"name": "beta", "pool": "green", "match": {"path_prefix": ["/new"]}}
    body = _ok(c.request("PUT", "/v1/rules/beta", body=new_beta))
    assert body["version"] == v0 + 4
    assert backend_of(px, "/new/x") == "green"
    assert backend_of(px, "/old", headers=[("X-Beta", "1")]) == "blue"

    # PUT of an unknown name adds it last.
    gamma = {"name": "gamma", "pool": "green", "match": {"method": ["DELETE"]}}
    r = c.request("PUT", "/v1/rules/gamma", body=gamma)
    assert r.status in (200, 201), r
    assert [x["name"] for x in _rules(px)] == ["beta", "gamma"]

    # POST at ?position=0 goes first, and the first match wins.
    first = {"name": "first", "pool": "blue", "match": {"path_prefix": ["/new"]}}
    _ok(c.request("POST", "/v1/rules?position=0", body=first), 201)
    assert [x["name"] for x in _rules(px)] == ["first", "beta", "gamma"]
    assert backends_of(px, 10, "/new/y") == ["blue"] * 10

    # DELETE removes it; then it is unknown.
    body = _ok(c.request("DELETE", "/v1/rules/first"))
    assert [x["name"] for x in body["rules"]] == ["beta", "gamma"]
    assert backends_of(px, 10, "/new/z") == ["green"] * 10
    assert_json_error(c.get("/v1/rules/first"), 404)
    assert c.state()["version"] == v0 + 7

    # Every accepted change is in the audit log, newest first.
    entries = c.audit(limit=7)
    assert [e["result"] for e in entries] == ["ok"] * 7
    assert [e["version"] for e in entries] == list(range(v0 + 7, v0, -1))


def test_rule_with_every_optional_field_round_trips(cutover):
    px = cutover(admin=True)
    c = px.admin()
    rule = {"name": "full", "pool": "green", "enabled": True, "kind": "targeted",
            "owner": "team-a", "expires": "2099-01-31T12:00:00Z",
            "match": {"header": {"X-Beta": ["1"]}, "method": ["GET"]}}
    _ok(c.request("POST", "/v1/rules", body=rule), 201)
    got = _ok(c.get("/v1/rules"))["rules"][0]
    assert got == rule
    assert backend_of(px, headers=[("X-Beta", "1")]) == "green"
    # A date means through that day (UTC): accepted, and still matching today.
    _ok(c.request("PATCH", "/v1/rules/full", body={"expires": "2099-12-31"}))
    assert backend_of(px, headers=[("X-Beta", "1")]) == "green"
    _ok(c.request("PATCH", "/v1/rules/full", body={"expires": None}))
    assert _rules(px)[0]["expires"] is None


# --- rollback, history, revert -----------------------------------------------------------


@pytest.mark.multiworker
def test_rollback_moves_the_candidate_weight_and_disables_its_rules(cutover):
    px = cutover(admin=True, workers=2, weights={"blue": 70, "green": 30}, rules=[
        {"name": "to-green", "pool": "green", "match": {"header": {"X-Beta": "1"}}},
        {"name": "to-blue", "pool": "blue", "match": {"header": {"X-Old": "1"}}}])
    c = px.admin()
    v = c.state()["version"]
    body = _ok(c.request("POST", "/v1/rollback", body={"reason": "p99 doubled"}))
    _assert_switched(body, workers=2)
    assert body["version"] == v + 1
    assert body["weights"] == {"blue": 100, "green": 0}
    rules = {r["name"]: r for r in body["rules"]}
    assert rules["to-green"]["enabled"] is False and rules["to-blue"]["enabled"] is True
    assert backends_of(px, 20, headers=[("X-Beta", "1")]) == ["blue"] * 20
    assert backends_of(px, 20) == ["blue"] * 20
    entry = c.audit(limit=1)[0]
    assert entry["action"] == "rollback" and entry["reason"] == "p99 doubled"
    assert entry["result"] == "ok" and entry["version"] == v + 1
    hist = _ok(c.get("/v1/history"))["history"][0]
    assert hist["action"] == "rollback" and hist["reason"] == "p99 doubled"
    assert hist["version"] == v + 1 and hist["actor"] == ACTOR
    # The body is optional.
    assert _ok(c.request("POST", "/v1/rollback"))["version"] == v + 2


def test_history_is_newest_first_and_limited(cutover):
    px = cutover(admin=True)
    c = px.admin()
    splits = [{"blue": 90, "green": 10}, {"blue": 50, "green": 50}, {"blue": 0, "green": 100}]
    versions = [_ok(c.put_weights(w))["version"] for w in splits]
    h = _ok(c.get("/v1/history"))
    assert h["version"] == versions[-1]
    hist = h["history"]
    got = [e["version"] for e in hist]
    assert got == sorted(got, reverse=True) and got[:3] == versions[::-1]
    for entry, weights in zip(hist[:3], splits[::-1]):
        assert entry["weights"] == weights
        assert entry["actor"] == ACTOR and isinstance(entry["time"], str)
        assert "action" in entry and isinstance(entry["rules"], list)
    limited = _ok(c.get("/v1/history?limit=2"))["history"]
    assert [e["version"] for e in limited] == versions[:0:-1]


def test_history_keeps_the_last_50_versions(cutover):
    px = cutover(admin=True)
    c = px.admin()
    for i in range(55):
        _ok(c.put_weights({"blue": 100 - i, "green": i}))
    hist = _ok(c.get("/v1/history?limit=50"))["history"]
    live = c.state()["version"]
    assert [e["version"] for e in hist] == list(range(live, live - 50, -1))


def test_revert_restores_weights_and_rules_as_a_new_version(cutover):
    px = cutover(admin=True)
    c = px.admin()
    va = _ok(c.put_weights({"blue": 60, "green": 40}))["version"]
    _ok(c.request("POST", "/v1/rules", body=BETA), 201)
    vb = _ok(c.put_weights({"blue": 0, "green": 100}))["version"]
    body = _ok(c.request("POST", "/v1/revert", body={"version": va, "reason": "back"}))
    assert body["version"] == vb + 1
    assert body["weights"] == {"blue": 60, "green": 40}
    assert body["rules"] == []
    entry = c.audit(limit=1)[0]
    assert entry["result"] == "ok" and entry["reason"] == "back" and entry["version"] == vb + 1
    # Reverting to the version with the rule brings the rule back.
    v_rule = va + 1
    body = _ok(c.request("POST", "/v1/revert", body={"version": v_rule}))
    assert [r["name"] for r in body["rules"]] == ["beta"]
    assert backends_of(px, 10, headers=[("X-Beta", "1")]) == ["green"] * 10


# --- GET /v1/audit -----------------------------------------------------------------------


def test_audit_is_paged_newest_first(cutover):
    px = cutover(admin=True)
    c = px.admin()
    versions = []
    for i in range(5):
        versions.append(_ok(c.put_weights({"blue": 100 - i, "green": i},
                                          headers={"X-Cutover-Reason": f"step {i}"}))["version"])
    page1 = c.audit(limit=2)
    page2 = c.audit(limit=2, offset=2)
    assert [e["reason"] for e in page1] == ["step 4", "step 3"]
    assert [e["reason"] for e in page2] == ["step 2", "step 1"]
    assert [e["version"] for e in page1 + page2] == versions[:0:-1]
    for e in page1 + page2:
        assert set(e) >= {"time", "actor", "source", "action", "before", "after", "result",
                          "version", "reason"}, e
        assert e["actor"] == ACTOR and e["result"] == "ok"
    assert page1[0]["after"] != page1[0]["before"]
    # Default limit is 50; the file holds the same entries (one JSON line each).
    everything = _ok(c.get("/v1/audit"))["entries"]
    assert everything[:4] == page1 + page2
    assert audit_file_entries(px)[::-1][:4] == page1 + page2
    assert c.audit(limit=1000, offset=5 + 1000) == []


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "offset=-1",
                                   "offset=y"])
def test_audit_bad_query_is_400(cutover, query):
    px = cutover(admin=True)
    assert_json_error(px.admin().get(f"/v1/audit?{query}"), 400)


# --- health, healthz, readyz -------------------------------------------------------------


def test_health_lists_pools_and_endpoints(cutover):
    px = cutover(admin=True, weights={"blue": 90, "green": 10})
    h = _ok(px.admin().get("/v1/health"))
    assert h["version"] == px.admin().state()["version"]
    pools = {p["name"]: p for p in h["pools"]}
    assert set(pools) == {"blue", "green"}
    assert pools["blue"]["weight"] == 90 and pools["green"]["weight"] == 10
    for name, backend in (("blue", px.blue), ("green", px.green)):
        assert pools[name]["available"] is True
        (ep,) = pools[name]["endpoints"]
        assert ep["address"] == backend.address and ep["weight"] == 1
        assert ep["healthy"] is True and ep["ejected"] is False and ep["ejections"] == 0


def test_healthz_and_readyz(cutover):
    px = cutover(admin=True)
    c = px.admin()
    assert _ok(c.get("/healthz")) == {"status": "ok"}
    assert _ok(c.get("/readyz")) == {"status": "ready"}


def test_readyz_says_draining_once_a_drain_has_begun(cutover):
    px = cutover(admin=True, timeouts={"drain": "10s"})
    release = threading.Event()
    px.blue.handler = lambda req: Response(200, body=b"done", hold=release)
    conn = px.connect()
    conn.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    px.blue.wait_requests(1)
    c = px.admin()
    try:
        px.signal(signal.SIGTERM)
        seen = []

        def draining() -> bool:
            try:
                r = c.get("/readyz")
            except OSError as e:
                seen.append(repr(e))
                return False
            seen.append(r.status)
            return r.status == 503 and r.json == {"status": "draining"}

        assert poll(draining, timeout=5), f"/readyz never said draining: {seen[-5:]}"
        assert px.alive()
        assert _ok(c.get("/healthz")) == {"status": "ok"}
    finally:
        release.set()
    assert conn.read_response(timeout=5).body == b"done"
    assert px.wait_exit(10) == 0


# --- POST /v1/reload ---------------------------------------------------------------------


@pytest.mark.multiworker
def test_reload_rereads_the_config(cutover):
    px = cutover(admin=True, workers=2)
    c = px.admin()
    v = c.state()["version"]
    px.reconfigure(weights={"blue": 0, "green": 100})
    r = c.request("POST", "/v1/reload")
    assert r.status == 200, r
    s = c.state()
    assert s["weights"] == {"blue": 0, "green": 100} and s["version"] > v
    assert backends_of(px, 10) == ["green"] * 10


def test_reload_of_an_invalid_config_is_400_and_changes_nothing(cutover):
    px = cutover(admin=True)
    c = px.admin()
    _ok(c.put_weights({"blue": 70, "green": 30}))
    before = snapshot(px)
    text = px.config_path.read_text()
    px.write_config_text(text.replace("green = 0", "green = 10") + "\n[bogus]\nx = 1\n")
    body = assert_json_error(c.request("POST", "/v1/reload"), 400)
    assert isinstance(body.get("errors"), list) and body["errors"], body
    assert_unchanged(px, before)
    assert px.alive()


# --- rejections: nothing changes, and the call is audited --------------------------------

BIG = json.dumps({"blue": 100, "green": 0, "pad": "x" * (64 * 1024 + 10)}).encode()

# (id, method, path, kwargs for AdminClient.request, status, field or None, audited).
# audited: True = one audit entry with a result other than "ok"; False = no entry (a GET is
# not a change); None = the contract does not say (a POST to a path that does not exist).
REJECTIONS = [
    ("malformed-json", "PUT", "/v1/weights", {"raw": b'{"blue": 100,'}, 400, "", True),
    ("weights-not-object", "PUT", "/v1/weights", {"body": [100, 0]}, 400, "", True),
    ("weights-wrong-type", "PUT", "/v1/weights", {"body": {"blue": "100", "green": 0}}, 400,
     "blue", True),
    ("weights-sum-90", "PUT", "/v1/weights", {"body": {"blue": 80, "green": 10}}, 400,
     "weights", True),
    ("weights-sum-110", "PUT", "/v1/weights", {"body": {"blue": 110, "green": 0}}, 400,
     None, True),
    ("weights-negative", "PUT", "/v1/weights", {"body": {"blue": 110, "green": -10}}, 400,
     None, True),
    ("weights-three-decimals", "PUT", "/v1/weights",
     {"body": {"blue": 33.333, "green": 66.667}}, 400, None, True),
    ("weights-unknown-pool", "PUT", "/v1/weights", {"body": {"blue": 50, "purple": 50}}, 400,
     "purple", True),
    ("rule-unknown-field", "POST", "/v1/rules",
     {"body": {"name": "x", "pool": "green", "colour": "red"}}, 400, "colour", True),
    ("rule-unknown-pool", "POST", "/v1/rules", {"body": {"name": "x", "pool": "purple"}}, 400,
     "pool", True),
    ("rule-no-pool", "POST", "/v1/rules", {"body": {"name": "x"}}, 400, "pool", True),
    ("rule-unknown-match-key", "POST", "/v1/rules",
     {"body": {"name": "x", "pool": "green", "match": {"hedder": {"X-A": ["1"]}}}}, 400,
     None, True),
    ("rule-bad-regex", "POST", "/v1/rules",
     {"body": {"name": "x", "pool": "green", "match": {"header_regex": {"X-A": ["("]}}}},
     400, None, True),
    ("rule-bad-name", "POST", "/v1/rules", {"body": {"name": "a b", "pool": "green"}}, 400,
     "name", True),
    ("rule-put-name-mismatch", "PUT", "/v1/rules/beta",
     {"body": {"name": "other", "pool": "green"}}, 400, "name", True),
    ("rule-patch-unknown-field", "PATCH", "/v1/rules/beta", {"body": {"colour": "red"}}, 400,
     "colour", True),
    ("rule-patch-wrong-type", "PATCH", "/v1/rules/beta", {"body": {"enabled": "no"}}, 400,
     "enabled", True),
    ("rule-bad-position", "POST", "/v1/rules?position=x",
     {"body": {"name": "x", "pool": "green"}}, 400, None, True),
    ("stale-if-match", "PUT", "/v1/weights",
     {"body": {"blue": 0, "green": 100}, "headers": {"If-Match": '"999999"'}}, 409, None,
     True),
    ("stale-if-match-rollback", "POST", "/v1/rollback", {"headers": {"If-Match": "999999"}},
     409, None, True),
    ("stale-if-match-rule-delete", "DELETE", "/v1/rules/beta",
     {"headers": {"If-Match": '"999999"'}}, 409, None, True),
    ("bad-if-match", "PUT", "/v1/weights",
     {"body": {"blue": 0, "green": 100}, "headers": {"If-Match": "seven"}}, 400, None, True),
    ("rule-name-taken", "POST", "/v1/rules", {"body": BETA}, 409, None, True),
    ("patch-unknown-rule", "PATCH", "/v1/rules/nope", {"body": {"enabled": False}}, 404,
     None, True),
    ("delete-unknown-rule", "DELETE", "/v1/rules/nope", {}, 404, None, True),
    ("revert-unknown-version", "POST", "/v1/revert", {"body": {"version": 999999}}, 404,
     None, True),
    ("revert-no-version", "POST", "/v1/revert", {"body": {"reason": "x"}}, 400, None, True),
    ("oversized-body", "PUT", "/v1/weights", {"raw": BIG}, 413, "", True),
    ("get-unknown-rule", "GET", "/v1/rules/nope", {}, 404, None, False),
    ("unknown-path", "GET", "/v1/nope", {}, 404, "", False),
    ("unknown-path-post", "POST", "/v1/nope", {"body": {}}, 404, "", None),
    ("unknown-version-prefix", "GET", "/v2/state", {}, 404, "", False),
]

# (method, path, methods Allow must list)
WRONG_METHODS = [
    ("DELETE", "/v1/state", {"GET"}),
    ("PUT", "/v1/state", {"GET"}),
    ("GET", "/v1/weights", {"PUT"}),
    ("POST", "/v1/weights", {"PUT"}),
    ("PUT", "/v1/rules", {"GET", "POST"}),
    ("POST", "/v1/rules/beta", {"GET", "PUT", "PATCH", "DELETE"}),
    ("GET", "/v1/rollback", {"POST"}),
    ("GET", "/v1/revert", {"POST"}),
    ("GET", "/v1/reload", {"POST"}),
    ("POST", "/v1/history", {"GET"}),
    ("DELETE", "/v1/audit", {"GET"}),
    ("POST", "/v1/health", {"GET"}),
    ("POST", "/healthz", {"GET"}),
]


@pytest.fixture
def changed_proxy(cutover):
    """A proxy with a rule and one accepted change behind it (so the state file exists)."""
    px = cutover(admin=True, workers=2, rules=[{"name": "beta", "pool": "green",
                                                 "match": {"header": {"X-Beta": "1"}}}])
    r = px.admin().put_weights({"blue": 80, "green": 20})
    assert r.status == 200, r
    assert state_file_path(px).exists()
    return px


@pytest.mark.parametrize("case", REJECTIONS, ids=[c[0] for c in REJECTIONS])
def test_rejection_changes_nothing(changed_proxy, case):
    _, method, path, kw, status, field, audited = case
    px = changed_proxy
    c = px.admin()
    before = snapshot(px)
    audit_before = audit_file_entries(px)
    r = c.request(method, path, **kw)
    body = assert_json_error(r, status, field)
    if status == 409 and "If-Match" in kw.get("headers", {}):
        assert body.get("version") == before.state["version"], body
    assert_unchanged(px, before)
    audit_after = audit_file_entries(px)
    if audited:
        assert len(audit_after) == len(audit_before) + 1, audit_after[len(audit_before):]
        entry = audit_after[-1]
        assert entry["result"] != "ok" and entry["result"], entry
        assert entry["actor"] == ACTOR, entry
        assert c.audit(limit=1)[0] == entry
    elif audited is False:
        assert audit_after == audit_before
    # The proxy still routes with the state it had.
    assert backend_of(px, headers=[("X-Beta", "1")]) == "green"


@pytest.mark.parametrize("method,path,allowed", WRONG_METHODS,
                         ids=[f"{m}-{p}" for m, p, _ in WRONG_METHODS])
def test_wrong_method_is_405_with_allow(changed_proxy, method, path, allowed):
    px = changed_proxy
    before = snapshot(px)
    kw = {"body": {"blue": 0, "green": 100}} if method in ("PUT", "POST") else {}
    r = px.admin().request(method, path, **kw)
    assert_json_error(r, 405)
    allow = {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()}
    assert allowed <= allow and method not in allow, r.headers
    assert_unchanged(px, before)


def test_a_rejection_does_not_break_the_next_call(changed_proxy):
    """After each kind of rejection, a valid change is applied as usual."""
    px = changed_proxy
    c = px.admin()
    v = c.state()["version"]
    for case in REJECTIONS:
        _, method, path, kw, status, _, _ = case
        assert c.request(method, path, **kw).status == status, case[0]
    assert c.state()["version"] == v
    assert _ok(c.put_weights({"blue": 0, "green": 100}))["version"] == v + 1
    assert backends_of(px, 10) == ["green"] * 10


# --- pools without endpoints, reverts to pools that are gone, audit log rotation ----------


def test_a_pool_without_endpoints_cannot_get_weight(cutover, backends):
    blue, green = backends("blue"), backends("green")
    px = cutover(admin=True, pools={"blue": [blue.address], "green": [green.address],
                                    "empty": []})
    c = px.admin()
    _ok(c.put_weights({"blue": 50, "green": 50}))
    before = snapshot(px)
    assert_json_error(c.put_weights({"blue": 50, "empty": 50}), 400, "empty")
    assert_unchanged(px, before)
    # Weight 0 for it is fine.
    _ok(c.put_weights({"blue": 100, "green": 0, "empty": 0}))


def test_revert_to_a_version_whose_pool_is_gone_is_400(cutover, backends):
    blue, green, extra = backends("blue"), backends("green"), backends("extra")
    pools = {"blue": [blue.address], "green": [green.address], "extra": [extra.address]}
    px = cutover(admin=True, pools=pools)
    c = px.admin()
    va = _ok(c.put_weights({"blue": 50, "extra": 50}))["version"]
    _ok(c.put_weights({"blue": 100}))
    # The pool goes from the config; [routing] is unchanged, so the live split stays.
    px.reload(pools={"blue": [blue.address], "green": [green.address]})
    assert c.state()["weights"] == {"blue": 100, "green": 0}
    before = snapshot(px)
    assert_json_error(c.request("POST", "/v1/revert", body={"version": va}), 400)
    assert_unchanged(px, before)
    assert c.audit(limit=1)[0]["result"] != "ok"


def test_sigusr1_reopens_the_audit_log(cutover):
    px = cutover(admin=True)
    c = px.admin()
    _ok(c.put_weights({"blue": 90, "green": 10}, headers={"X-Cutover-Reason": "before"}))
    log = audit_log_path(px)
    rotated = log.with_name(log.name + ".1")
    os.rename(log, rotated)
    px.signal(signal.SIGUSR1)
    # Until the reopen, entries still go to the moved file; poll until one lands in a new one.
    n = 0

    def reopened() -> bool:
        nonlocal n
        n += 1
        _ok(c.put_weights({"blue": 90 - n % 2, "green": 10 + n % 2},
                          headers={"X-Cutover-Reason": f"after {n}"}))
        return log.exists() and "after" in log.read_text()

    assert poll(reopened, timeout=5), "SIGUSR1 did not reopen the audit log"
    old = [json.loads(line) for line in rotated.read_text().splitlines()]
    assert old[0]["reason"] == "before"
    new = [json.loads(line) for line in log.read_text().splitlines()]
    assert new and all(e["reason"].startswith("after") for e in new)
    assert px.alive()


def _endpoint(health: dict, pool: str, address: str) -> dict:
    (pool_entry,) = [p for p in health["pools"] if p["name"] == pool]
    (ep,) = [e for e in pool_entry["endpoints"] if e["address"] == address]
    return ep


@pytest.mark.multiworker
def test_health_shows_active_checks_and_passive_ejections(cutover, backends):
    blue, green = backends("blue"), backends("green")
    dead_blue, dead_green = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    checks = {"path": "/healthz", "interval": "100ms", "timeout": "80ms",
              "healthy_threshold": 1, "unhealthy_threshold": 1}
    pools = {"blue": {"endpoints": [blue.address, dead_blue],
                      "outlier": {"consecutive_failures": 1, "base_ejection": "30s",
                                  "max_ejection": "1m"}},
             "green": {"endpoints": [green.address, dead_green], "health_check": checks}}
    px = cutover(admin=True, pools=pools, weights={"blue": 100, "green": 0})
    c = px.admin()

    def green_checked() -> bool:
        h = _ok(c.get("/v1/health"))
        return (_endpoint(h, "green", dead_green)["healthy"] is False
                and _endpoint(h, "green", green.address)["healthy"] is True)

    assert poll(green_checked, timeout=5), c.get("/v1/health").json
    # Traffic to blue meets the dead endpoint (and is retried on the live one): ejected.
    for _ in range(20):
        assert backend_of(px) == "blue"

    def blue_ejected() -> bool:
        ep = _endpoint(_ok(c.get("/v1/health")), "blue", dead_blue)
        return ep["ejected"] is True and ep["ejections"] >= 1

    assert poll(blue_ejected, timeout=5), c.get("/v1/health").json
    h = _ok(c.get("/v1/health"))
    live = _endpoint(h, "blue", blue.address)
    assert live["ejected"] is False and live["ejections"] == 0
    assert all(p["available"] is True for p in h["pools"]), h


# --- one change at a time; a failed write changes nothing --------------------------------


@pytest.mark.multiworker
def test_concurrent_changes_are_applied_one_at_a_time(cutover):
    px = cutover(admin=True, workers=2)
    v0 = px.admin().state()["version"]
    results = [[] for _ in range(8)]
    errors = []

    def client(k):
        try:
            with px.admin(keep_alive=True) as c:
                for i in range(15):
                    w = (k * 15 + i) % 101
                    r = c.put_weights({"blue": w, "green": 100 - w})
                    results[k].append((r.status, r.json.get("version"), w))
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads) and not errors, errors
    answers = [a for r in results for a in r]
    assert all(status == 200 for status, _, _ in answers), answers
    versions = sorted(v for _, v, _ in answers)
    assert versions == list(range(v0 + 1, v0 + 1 + 8 * 15)), versions
    # The live state is the change that got the highest version.
    last = max(answers, key=lambda a: a[1])
    s = px.admin().state()
    assert s["version"] == last[1] and s["weights"] == {"blue": last[2], "green": 100 - last[2]}
    hist = _ok(px.admin().get("/v1/history"))["history"]
    by_version = {v: w for _, v, w in answers}
    for h in hist[:50]:
        if h["version"] in by_version:
            w = by_version[h["version"]]
            assert h["weights"] == {"blue": w, "green": 100 - w}, h


def test_a_state_file_that_cannot_be_written_is_500_and_changes_nothing(cutover):
    px = cutover(admin=True)
    c = px.admin()
    _ok(c.put_weights({"blue": 70, "green": 30}))
    before = c.get("/v1/state")
    path = state_file_path(px)
    path.unlink()
    path.mkdir()  # the atomic rename over it fails
    try:
        assert_json_error(c.put_weights({"blue": 0, "green": 100}), 500)
        after = c.get("/v1/state")
        assert after.json == before.json and after.headers.get("etag") == \
            before.headers.get("etag")
        assert backends_of(px, 20).count("green") < 20
    finally:
        path.rmdir()
    assert _ok(c.put_weights({"blue": 0, "green": 100}))["version"] == \
        before.json["version"] + 1
    assert backends_of(px, 10) == ["green"] * 10


def test_an_audit_log_that_cannot_be_written_is_500_and_changes_nothing(cutover):
    """/dev/full takes the open and refuses every write (ENOSPC)."""
    px = cutover(admin={"audit_log": "/dev/full"})
    c = px.admin()
    before = snapshot(px)
    assert_json_error(c.put_weights({"blue": 0, "green": 100}), 500)
    assert_json_error(c.request("POST", "/v1/rules", body={"name": "x", "pool": "green"}), 500)
    after = snapshot(px)
    assert after.state == before.state and after.etag == before.etag
    # The state file is put back byte for byte (the new state was written before the audit
    # append failed).
    assert after.state_file == before.state_file
    assert backends_of(px, 10) == ["blue"] * 10


# --- HTTP/1.1 framing on the admin socket ------------------------------------------------


class _UnixConn(ClientConn):
    """http_client's exact-bytes client and framing reader, on the admin Unix socket."""

    def __init__(self, path: str, timeout: float = 5.0):
        self.port = None
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = bytearray()
        self.eof = False


def test_chunked_body_pipelining_and_expect_continue(cutover):
    px = cutover(admin=True)
    body = b'{"blue": 0, "green": 100}'
    conn = _UnixConn(px.admin_socket)
    try:
        conn.send(b"PUT /v1/weights HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  b"Content-Type: application/json\r\n\r\n" +
                  b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        r = conn.read_response()
        assert r.status == 200, r
        assert json.loads(r.body)["weights"] == {"blue": 0, "green": 100}
        # Three pipelined calls on the same connection, answered in order.
        conn.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"PUT /v1/weights HTTP/1.1\r\nHost: x\r\nContent-Length: 25\r\n\r\n"
                  b'{"blue": 100, "green": 0}'
                  b"GET /v1/state HTTP/1.1\r\nHost: x\r\n\r\n")
        a, b, c = conn.read_response(), conn.read_response(), conn.read_response()
        assert (a.status, b.status, c.status) == (200, 200, 200), (a, b, c)
        assert json.loads(c.body)["weights"] == {"blue": 100, "green": 0}
        # Expect: 100-continue (curl sends it for bodies over 1 KiB): 100, then the answer.
        conn.send(b"PUT /v1/weights HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        interim = conn.read_head()
        assert interim.status == 100, interim
        conn.send(body)
        r = conn.read_response()
        assert r.status == 200, r
    finally:
        conn.close()
    assert backends_of(px, 5) == ["green"] * 5
