"""The routing state across restarts and reloads (docs/admin-api.md, "Persistence"): an
acknowledged change survives kill -9, an edited [routing] section wins over the state file,
a corrupt state file stops the start (unless --discard-state), SIGHUP keeps live weights
unless [routing] changed, and the version never goes back."""

import hashlib
import json

import pytest

from admin_helpers import (audit_file_entries, backends_of, state_file_bytes,
                           state_file_path)

RESTORED = "restored routing version"


def _ok(resp, status=200) -> dict:
    assert resp.status == status, resp
    return resp.json


def _stop(px) -> None:
    code, killed = px.stop()
    assert not killed and code == 0, f"exit {code}, killed {killed}"


def _config_wins_lines(px) -> list:
    """Start-up lines saying the config's routing replaced the state file's."""
    return [line for line in px.stderr_text().splitlines()
            if "routing" in line.lower() and "config" in line.lower()
            and RESTORED not in line]


# --- kill -9 -----------------------------------------------------------------------------


def test_kill9_right_after_an_acknowledged_change_keeps_it(cutover):
    px = cutover(admin=True, workers=2)
    splits = [{"blue": 0, "green": 100}, {"blue": 100, "green": 0}, {"blue": 0, "green": 100}]
    for round_no, split in enumerate(splits):
        c = px.admin()
        body = _ok(c.put_weights(split, headers={"X-Cutover-Reason": f"round {round_no}"}))
        version = body["version"]
        px.kill9()  # as soon as the answer is in: no chance to flush anything later
        px = cutover.restart(px)
        s = px.admin().state()
        assert s["weights"] == split and s["version"] == version, (round_no, s)
        assert f"{RESTORED} {version} from {state_file_path(px)}" in px.stderr_text(), \
            px.stderr_text()[-2000:]
        expect = "green" if split["green"] == 100 else "blue"
        assert backends_of(px, 10) == [expect] * 10
        entries = [e for e in audit_file_entries(px) if e.get("version") == version
                   and e.get("result") == "ok"]
        assert entries and entries[-1]["reason"] == f"round {round_no}", entries
    # The history survived too.
    hist = _ok(px.admin().get("/v1/history"))["history"]
    assert [h["weights"] for h in hist[:3]] == splits[::-1]


def test_kill9_keeps_rules_and_the_rollback(cutover):
    px = cutover(admin=True, weights={"blue": 50, "green": 50})
    c = px.admin()
    _ok(c.request("POST", "/v1/rules", body={"name": "beta", "pool": "green",
                                             "match": {"header": {"X-Beta": ["1"]}}}), 201)
    _ok(c.request("POST", "/v1/rules", body={"name": "old", "pool": "blue",
                                             "match": {"path_prefix": ["/old"]}}), 201)
    body = _ok(c.request("POST", "/v1/rollback", body={"reason": "errors"}))
    px.kill9()
    px = cutover.restart(px)
    s = px.admin().state()
    assert s["version"] == body["version"] and s["weights"] == {"blue": 100, "green": 0}
    assert {r["name"]: r["enabled"] for r in s["rules"]} == {"beta": False, "old": True}
    assert s["rules"] == body["rules"]
    assert backends_of(px, 10, headers=[("X-Beta", "1")]) == ["blue"] * 10


# --- restart with an edited config -------------------------------------------------------


def test_restart_with_only_non_routing_edits_restores_the_state_file(cutover):
    px = cutover(admin=True)
    v = _ok(px.admin().put_weights({"blue": 0, "green": 100}))["version"]
    _stop(px)
    px.reconfigure(timeouts={"idle": "7s"}, limits={"header_count": 90})
    px = cutover.restart(px)
    assert px.admin().state()["weights"] == {"blue": 0, "green": 100}
    assert px.admin().state()["version"] == v
    assert f"{RESTORED} {v}" in px.stderr_text()
    assert backends_of(px, 10) == ["green"] * 10


def test_discard_state_starts_from_the_config_and_keeps_the_history(cutover):
    px = cutover(admin=True)
    v = _ok(px.admin().put_weights({"blue": 0, "green": 100}))["version"]
    _stop(px)
    px = cutover.restart(px, run_args=("--discard-state",))
    state = px.admin().state()
    assert state["weights"] == {"blue": 100, "green": 0}
    assert state["version"] == v + 1
    assert "--discard-state" in px.stderr_text()
    assert backends_of(px, 10) == ["blue"] * 10
    # What was discarded is still one revert away.
    _ok(px.admin().request("POST", "/v1/revert", body={"version": v}))
    assert backends_of(px, 10) == ["green"] * 10


@pytest.mark.parametrize("edit", ["weights", "rules", "baseline"])
def test_restart_after_a_routing_edit_takes_the_config(cutover, edit):
    px = cutover(admin=True, weights={"blue": 100, "green": 0})
    c = px.admin()
    _ok(c.put_weights({"blue": 0, "green": 100}))
    _ok(c.request("POST", "/v1/rules", body={"name": "api-rule", "pool": "green",
                                             "match": {"path_prefix": ["/api"]}}), 201)
    v = c.state()["version"]
    _stop(px)
    if edit == "weights":
        px.reconfigure(weights={"blue": 80, "green": 20})
        expect_weights, expect_rules = {"blue": 80, "green": 20}, []
    elif edit == "rules":
        px.reconfigure(rules=[{"name": "cfg-rule", "pool": "green",
                               "match": {"header": {"X-Cfg": "1"}}}])
        expect_weights, expect_rules = {"blue": 100, "green": 0}, ["cfg-rule"]
    else:
        px.reconfigure(baseline="green", candidate="blue")
        expect_weights, expect_rules = {"blue": 100, "green": 0}, []
    px = cutover.restart(px)
    s = px.admin().state()
    assert s["weights"] == expect_weights, s
    assert [r["name"] for r in s["rules"]] == expect_rules, s
    assert RESTORED not in px.stderr_text()
    assert _config_wins_lines(px), px.stderr_text()[-3000:]
    # The version does not go back (ETags and If-Match stay meaningful).
    assert s["version"] > v, (s["version"], v)
    # The audit log was appended to, not replaced.
    assert any(e.get("version") == v and e.get("result") == "ok"
               for e in audit_file_entries(px))


# --- a corrupt state file ----------------------------------------------------------------


def _corrupt(path, how: str) -> None:
    data = path.read_bytes()
    if how == "garbage":
        path.write_bytes(b"this is not json {\n")
    elif how == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif how == "bad-checksum":
        env = json.loads(data)
        env["checksum"] = hashlib.sha256(b"something else").hexdigest()
        path.write_text(json.dumps(env, indent=2))
    elif how == "edited-state":
        # A hand edit of the weights without a new checksum.
        text = data.decode()
        assert '"green": 70' in text or '"green":70' in text, text
        path.write_text(text.replace('"green": 70', '"green": 71')
                        .replace('"green":70', '"green":71'))
    elif how == "empty":
        path.write_bytes(b"")
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["garbage", "truncated", "bad-checksum", "edited-state",
                                 "empty"])
def test_a_corrupt_state_file_refuses_the_start_unless_discarded(cutover, how):
    px = cutover(admin=True, weights={"blue": 100, "green": 0})
    _ok(px.admin().put_weights({"blue": 30, "green": 70}))
    _stop(px)
    path = state_file_path(px)
    _corrupt(path, how)
    corrupt = path.read_bytes()
    failed = cutover.restart(px, expect_failure=True)
    err = failed.stderr_text()
    assert str(path) in err, err[-2000:]
    assert "--discard-state" in err or "state" in err.lower(), err[-2000:]
    assert path.read_bytes() == corrupt, "a refused start changed the state file"
    # --discard-state starts from the config.
    px = cutover.restart(failed, run_args=("--discard-state",))
    s = px.admin().state()
    assert s["weights"] == {"blue": 100, "green": 0}
    assert backends_of(px, 5) == ["blue"] * 5
    # And from then on the state file works again: a change survives a restart without it.
    v = _ok(px.admin().put_weights({"blue": 0, "green": 100}))["version"]
    _stop(px)
    px = cutover.restart(px, run_args=())
    assert px.admin().state()["weights"] == {"blue": 0, "green": 100}
    assert px.admin().state()["version"] == v


# --- SIGHUP ------------------------------------------------------------------------------


@pytest.mark.multiworker
def test_sighup_without_routing_edits_keeps_live_weights_and_rules(cutover, backends):
    px = cutover(admin=True, workers=2, weights={"blue": 100, "green": 0})
    c = px.admin()
    _ok(c.put_weights({"blue": 0, "green": 100}))
    _ok(c.request("POST", "/v1/rules", body={"name": "api-rule", "pool": "blue",
                                             "match": {"path_prefix": ["/api"]}}), 201)
    before = c.state()
    file_before = state_file_bytes(px)
    px.reload(timeouts={"idle": "9s"})
    s = c.state()
    assert s["weights"] == {"blue": 0, "green": 100}
    assert [r["name"] for r in s["rules"]] == ["api-rule"]
    assert s["version"] >= before["version"]
    assert backends_of(px, 10) == ["green"] * 10
    assert backends_of(px, 10, "/api/x") == ["blue"] * 10
    # Endpoint changes apply either way: green's endpoint moves, the live split stays.
    green2 = backends("green2")
    px.reload(pools={"blue": [px.blue.address], "green": [green2.address]})
    assert c.state()["weights"] == {"blue": 0, "green": 100}
    assert backends_of(px, 10) == ["green2"] * 10
    # A restart after these reloads still restores the live state.
    assert file_before is not None
    _stop(px)
    px = cutover.restart(px)
    s = px.admin().state()
    assert s["weights"] == {"blue": 0, "green": 100}
    assert [r["name"] for r in s["rules"]] == ["api-rule"]
    assert RESTORED in px.stderr_text()


def test_sighup_with_routing_edits_takes_the_config(cutover):
    px = cutover(admin=True, weights={"blue": 100, "green": 0})
    c = px.admin()
    _ok(c.put_weights({"blue": 0, "green": 100}))
    _ok(c.request("POST", "/v1/rules", body={"name": "api-rule", "pool": "blue",
                                             "match": {"path_prefix": ["/api"]}}), 201)
    v = c.state()["version"]
    px.reload(weights={"blue": 20, "green": 80})
    s = c.state()
    assert s["weights"] == {"blue": 20, "green": 80}
    assert s["rules"] == []
    assert s["version"] > v
    # It is persisted as the new live state: a restart restores it.
    _stop(px)
    px = cutover.restart(px)
    s2 = px.admin().state()
    assert s2["weights"] == {"blue": 20, "green": 80} and s2["version"] == s["version"]


def test_version_keeps_increasing_across_restarts(cutover):
    px = cutover(admin=True)
    seen = [px.admin().state()["version"]]
    for i in range(3):
        seen.append(_ok(px.admin().put_weights({"blue": 10 * i, "green": 100 - 10 * i}))
                    ["version"])
        _stop(px) if i % 2 == 0 else px.kill9()
        px = cutover.restart(px)
        seen.append(px.admin().state()["version"])
    # Edited routing: the config wins, but with a higher version.
    _stop(px)
    px.reconfigure(weights={"blue": 55, "green": 45})
    px = cutover.restart(px)
    seen.append(px.admin().state()["version"])
    assert all(a <= b for a, b in zip(seen, seen[1:])), seen
    assert seen[-1] > seen[-2], seen
    assert seen[1] > seen[0], seen
