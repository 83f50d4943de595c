"""Access log: one JSON line per request."""

import json
import time

from recording_backend import Response


def _poll_lines(path, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        if path.exists():
            lines = [l for l in path.read_text().splitlines() if l.strip()]
            if len(lines) >= n:
                return lines
        time.sleep(0.02)  # poll interval
    raise AssertionError(f"expected {n} access log lines in {path}, got {lines!r}")


def _duration(entry):
    keys = [k for k in entry if k.startswith("duration")]
    assert keys, f"no duration field in {entry}"
    value = entry[keys[0]]
    assert isinstance(value, (int, float)) and value >= 0, entry
    return value


def test_access_log_file_gets_one_json_line_per_request(cutover, tmp_path):
    log_path = tmp_path / "access.log"
    px = cutover(weights={"blue": 0, "green": 100},
                 log={"access": True, "access_path": str(log_path), "level": "info"})
    px.green.handler = lambda req: Response(404 if req.target == "/missing" else 201,
                                            body=b"x", delay=0.1 if req.target == "/b" else 0)
    conn = px.connect()
    assert conn.get("/a?q=1").status == 201
    assert conn.request("POST", "/b", body=b"data").status == 201
    assert conn.get("/missing").status == 404
    lines = _poll_lines(log_path, 3)
    assert len(lines) == 3, lines
    entries = [json.loads(l) for l in lines]
    assert [e["method"] for e in entries] == ["GET", "POST", "GET"]
    assert [e["path"].split("?")[0] for e in entries] == ["/a", "/b", "/missing"]
    assert [int(e["status"]) for e in entries] == [201, 201, 404]
    assert [e["pool"] for e in entries] == ["green"] * 3
    durations = [_duration(e) for e in entries]
    # /b took at least 100 ms at the backend, whatever unit the field uses.
    assert durations[1] > durations[0] and durations[1] > durations[2], entries
    assert px.green.request_count == 3


def test_access_log_records_proxy_generated_errors(cutover, tmp_path):
    log_path = tmp_path / "access.log"
    px = cutover(log={"access": True, "access_path": str(log_path)})
    px.blue.handler = lambda req: b"garbage\r\n\r\n"
    assert px.get("/broken", timeout=5).status == 502
    [line] = _poll_lines(log_path, 1)
    entry = json.loads(line)
    assert entry["method"] == "GET" and entry["path"] == "/broken"
    assert int(entry["status"]) == 502
    assert entry["pool"] == "blue"


def test_access_log_disabled_writes_nothing(cutover, tmp_path):
    log_path = tmp_path / "access.log"
    px = cutover(log={"access": False, "access_path": str(log_path)})
    conn = px.connect()
    for i in range(3):
        assert conn.get(f"/{i}").status == 200
    px.blue.wait_requests(3)
    conn.close()
    assert px.stop()[0] == 0
    assert not log_path.exists() or log_path.read_text().strip() == ""


def test_access_log_to_stdout(cutover):
    px = cutover(log={"access": True, "access_path": "-"})
    assert px.get("/to-stdout").status == 200
    # stdout may be block-buffered in a file: it must be flushed at the latest on exit.
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and "/to-stdout" not in px.stdout_text():
        time.sleep(0.02)  # poll interval
    if "/to-stdout" not in px.stdout_text():
        assert px.stop()[0] == 0
    lines = [json.loads(l) for l in px.stdout_text().splitlines() if "/to-stdout" in l]
    assert len(lines) == 1 and lines[0]["status"] in (200, "200")
