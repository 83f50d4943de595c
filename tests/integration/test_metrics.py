"""GET /metrics on the admin listener (docs/metrics.md): the Prometheus text exposition, with
counts that equal what the backends saw."""

from __future__ import annotations

import gzip
import json
import re
import socket

import pytest

from admin_helpers import backends_of, poll
from admin_client import AdminClient
from proxy_process import free_port, run_cli
from recording_backend import Response

SAMPLE = re.compile(r'^([a-z_]+)(\{[^}]*\})? (\S+)$')


def parse_exposition(text: str) -> dict:
    """{(name, frozenset(labels)): value}; fails on any line that is not a comment or sample."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        key = (m.group(1), labels)
        assert key not in samples, f"duplicate series {line!r}"
        samples[key] = float(m.group(3))
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, frozenset(labels.items()))]


def requests_counted(text: str) -> float:
    return sum(v for (name, _), v in parse_exposition(text).items()
               if name == "cutover_requests_total")


def scrape_when_counted(client, total: int, decode=bytes.decode, **request_kw):
    """GET /metrics once all `total` requests are counted. A worker counts a request when
    its response is fully written, a moment after the client may have read it, so a scrape
    right after the last response can miss it: poll rather than race."""
    last = {}

    def counted() -> bool:
        last["r"] = client.get("/metrics", **request_kw)
        return requests_counted(decode(last["r"].raw)) == total

    assert poll(counted), f"/metrics never counted {total} requests"
    return last["r"]


def json_when_counted(client, path: str, total: int) -> dict:
    """GET `path` (/v1/compare, /v1/series) once its pools add up to `total` requests."""
    last = {}

    def counted() -> bool:
        last["body"] = client.get(path).json
        pools = [last["body"]["pools"]] if "pools" in last["body"] else \
            [p["pools"] for p in last["body"]["points"]]
        return sum(f["requests"] for ps in pools for f in ps.values()) == total

    assert poll(counted), f"{path} never counted {total} requests"
    return last["body"]


@pytest.mark.multiworker
def test_metrics_count_what_the_backends_saw(cutover):
    px = cutover(admin=True, workers=2, weights={"blue": 50, "green": 50})
    served = backends_of(px, 200)
    r = scrape_when_counted(px.admin(), 200)
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = parse_exposition(r.raw.decode())
    assert px.blue.request_count == served.count("blue") > 0
    assert px.green.request_count == served.count("green") > 0
    for pool in ("blue", "green"):
        assert value(samples, "cutover_requests_total", pool=pool, code="2xx") == \
            served.count(pool)
        assert value(samples, "cutover_requests_total", pool=pool, code="5xx") == 0
        assert value(samples, "cutover_route_decisions_total", pool=pool, reason="weight") == \
            served.count(pool)
        assert value(samples, "cutover_pool_weight_ratio", pool=pool) == 0.5
    assert value(samples, "cutover_routing_version") == px.admin().state()["version"]
    assert value(samples, "cutover_endpoint_healthy", pool="green",
                 endpoint=px.green.address) == 1


@pytest.mark.multiworker
def test_endpoint_requests_and_connection_gauges(cutover, backends):
    """Two green endpoints: each one's count equals what it served; the connection gauges
    follow clients opening and closing, and the upstream pools the proxy keeps."""
    blue, green_a, green_b = backends("blue"), backends("green-a"), backends("green-b")
    px = cutover(admin=True, workers=2, weights={"blue": 50, "green": 50},
                 pools={"blue": [blue.address], "green": [green_a.address, green_b.address]})
    conns = [px.connect() for _ in range(3)]
    for i in range(90):
        assert conns[i % 3].get(f"/e{i}").status == 200
    samples = parse_exposition(scrape_when_counted(px.admin(), 90).raw.decode())
    assert green_a.request_count > 0 and green_b.request_count > 0
    for pool, backend in (("blue", blue), ("green", green_a), ("green", green_b)):
        assert value(samples, "cutover_endpoint_requests_total", pool=pool,
                     endpoint=backend.address) == backend.request_count
    assert value(samples, "cutover_downstream_connections_active") == 3
    for pool, members in (("blue", [blue]), ("green", [green_a, green_b])):
        # Keep-alive upstream connections stay open in the proxy's pool: every one the
        # backends accepted and have not seen closed.
        assert value(samples, "cutover_upstream_connections_active", pool=pool) == \
            sum(b.connection_count for b in members) > 0
    for c in conns:
        c.close()

    def downstream() -> float:
        text = px.admin().get("/metrics").raw.decode()
        return value(parse_exposition(text), "cutover_downstream_connections_active")

    assert poll(lambda: downstream() == 0), downstream()


def test_metrics_follow_a_weight_change_and_count_errors(cutover):
    px = cutover(admin=True)
    c = px.admin()
    assert c.put_weights({"blue": 0, "green": 100}).status == 200
    px.green.stop()  # every green request now fails at connect: 502 (or 503 via failover)
    statuses = [px.get("/x").status for _ in range(5)]
    samples = parse_exposition(scrape_when_counted(c, 5).raw.decode())
    assert value(samples, "cutover_pool_weight_ratio", pool="green") == 1
    failed = sum(value(samples, "cutover_requests_total", pool=p, code="5xx")
                 for p in ("blue", "green"))
    served_by_blue = value(samples, "cutover_requests_total", pool="blue", code="2xx")
    assert failed + served_by_blue == 5
    assert failed == sum(1 for s in statuses if s >= 500)
    # Each connect to the stopped green backend was refused and counted against it.
    refused = value(samples, "cutover_upstream_errors_total", pool="green",
                    endpoint=px.green.address, kind="connect_refused")
    assert refused >= 5
    assert value(samples, "cutover_upstream_errors_total", pool="blue",
                 endpoint=px.blue.address, kind="connect_refused") == 0


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_metrics_is_read_only(cutover, method):
    px = cutover(admin=True)
    r = px.admin().request(method, "/metrics")
    assert r.status == 405 and r.headers["allow"] == "GET"


def test_metrics_gzip_when_the_scraper_asks(cutover):
    px = cutover(admin=True, weights={"blue": 50, "green": 50})
    backends_of(px, 20)
    admin = px.admin()
    plain = scrape_when_counted(admin, 20)
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    # Prometheus sends "Accept-Encoding: gzip"; nothing runs between the two scrapes.
    zipped = admin.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert zipped.status == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert int(zipped.headers["content-length"]) == len(zipped.raw)
    assert len(zipped.raw) * 4 < len(plain.raw)
    assert gzip.decompress(zipped.raw) == plain.raw
    head = admin.request("HEAD", "/metrics", headers={"Accept-Encoding": "gzip"})
    assert head.raw == b"" and head.headers["content-length"] == zipped.headers["content-length"]
    for refusal in ("gzip;q=0", "identity", "br, *;q=0"):
        r = admin.get("/metrics", headers={"Accept-Encoding": refusal})
        assert "content-encoding" not in r.headers and r.raw == plain.raw, refusal
    small = admin.get("/v1/state", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers and small.json["version"] >= 1


def test_dedicated_metrics_listener_needs_no_token(cutover):
    """[metrics] address: /metrics without credentials, and nothing else of the admin API."""
    port = free_port()
    px = cutover(metrics={"address": f"127.0.0.1:{port}"}, weights={"blue": 50, "green": 50})
    served = backends_of(px, 30)
    scraper = AdminClient(port=port)
    r = scrape_when_counted(scraper, 30, decode=lambda raw: gzip.decompress(raw).decode(),
                            headers={"Accept-Encoding": "gzip"})
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = parse_exposition(gzip.decompress(r.raw).decode())
    for pool in ("blue", "green"):
        assert value(samples, "cutover_requests_total", pool=pool, code="2xx") == \
            served.count(pool)
    assert scraper.get("/healthz").status == 200
    assert scraper.request("HEAD", "/metrics").status == 200
    for path in ("/v1/state", "/v1/audit", "/", "/metricsx"):
        assert scraper.get(path).status == 404, path
    refused = scraper.request("POST", "/metrics", body={})
    assert refused.status == 405 and refused.headers["allow"] == "GET, HEAD"
    assert f"metrics: listening on 127.0.0.1:{port}" in px.stderr_text()


def test_metrics_listener_refuses_a_bad_address(cutover, tmp_path):
    for address, why in (("metrics.example:9100", "numeric"), ("127.0.0.1", "port")):
        px = cutover(metrics={"address": address}, expect_failure=True)
        assert "metrics.address" in px.stderr_text() and why in px.stderr_text(), \
            px.stderr_text()
    taken = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", taken))
        busy.listen()
        px = cutover(metrics={"address": f"127.0.0.1:{taken}"}, expect_failure=True)
        assert "metrics.address" in px.stderr_text(), px.stderr_text()


def test_latency_histogram_counts_every_request(cutover):
    px = cutover(admin=True, weights={"blue": 50, "green": 50})
    served = backends_of(px, 100)
    samples = parse_exposition(scrape_when_counted(px.admin(), 100).raw.decode())
    for pool in ("blue", "green"):
        count = value(samples, "cutover_request_duration_seconds_count", pool=pool)
        assert count == served.count(pool)
        assert value(samples, "cutover_request_duration_seconds_bucket", pool=pool,
                     le="+Inf") == count
        assert value(samples, "cutover_request_duration_seconds_sum", pool=pool) > 0
        # Every answer came from the upstream, whose head arrives before the last byte.
        assert value(samples, "cutover_upstream_duration_seconds_count", pool=pool) == count
        assert 0 < value(samples, "cutover_upstream_duration_seconds_sum", pool=pool) <= \
            value(samples, "cutover_request_duration_seconds_sum", pool=pool)


def test_compare_shows_a_slow_and_failing_candidate(cutover):
    """Green answers 503 to every other request and takes 30 ms; blue is fast and fine."""
    px = cutover(admin=True, weights={"blue": 50, "green": 50})
    flip = {"n": 0}

    def green(req):
        flip["n"] += 1
        return Response(503 if flip["n"] % 2 else 200, body=b"green", delay=0.03)

    px.green.handler = green
    conn = px.connect()
    for i in range(200):
        conn.get(f"/c{i}")
    body = json_when_counted(px.admin(), "/v1/compare?window=60s", 200)
    blue, green_ = body["pools"]["blue"], body["pools"]["green"]
    assert blue["requests"] + green_["requests"] == 200
    assert blue["requests"] == px.blue.request_count
    assert blue["error_rate"] == 0
    assert green_["errors"] == (green_["requests"] + 1) // 2
    assert 0.45 <= green_["error_rate"] <= 0.55
    assert green_["p50_ms"] >= 25 and blue["p50_ms"] < green_["p50_ms"]
    assert body["delta"]["error_rate"] == green_["error_rate"]
    assert body["delta"]["p99_ratio"] > 1
    assert body["baseline"] == "blue" and body["candidate"] == "green"
    assert body["window_seconds"] == 60


@pytest.mark.parametrize("window", ["0s", "11m", "abc", ""])
def test_compare_refuses_a_bad_window(cutover, window):
    px = cutover(admin=True)
    r = px.admin().get(f"/v1/compare?window={window}")
    assert r.status == 400 and r.json["field"] == "window", r


def test_series_has_every_slot_of_the_window(cutover):
    px = cutover(admin=True, weights={"blue": 50, "green": 50})
    px.green.handler = lambda req: Response(500, body=b"no")
    conn = px.connect()
    for i in range(60):
        assert conn.get(f"/s{i}").status in (200, 500)
    body = json_when_counted(px.admin(), "/v1/series?window=10m", 60)
    assert body["step_seconds"] == 10 and body["window_seconds"] == 600
    assert body["baseline"] == "blue" and body["candidate"] == "green"
    points = body["points"]
    # The process is seconds old, yet every slot of the window is there (idle ones as zeroes):
    # 60, or 61 when the window starts mid-slot. The clock is CLOCK_MONOTONIC, which starts at
    # boot, so a machine up for less than 10 minutes has fewer slots.
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    if uptime > 620:
        assert 60 <= len(points) <= 61, len(points)
        assert -610 <= points[0]["t"] <= -590
    assert all(p["seconds"] <= 10 for p in points)
    assert [p["t"] for p in points] == sorted(p["t"] for p in points)
    assert -10 <= points[-1]["t"] <= 0
    blue = sum(p["pools"]["blue"]["requests"] for p in points)
    green = sum(p["pools"]["green"]["requests"] for p in points)
    assert (blue, green) == (px.blue.request_count, px.green.request_count)
    assert sum(p["pools"]["green"]["errors"] for p in points) == green
    busy = [p for p in points if p["pools"]["green"]["requests"]]
    assert busy and all(p["pools"]["green"]["error_rate"] == 1 for p in busy)
    idle = [p for p in points if not p["pools"]["blue"]["requests"]]
    assert idle and all(p["pools"]["blue"]["p99_ms"] is None for p in idle)
    short = px.admin().get("/v1/series?window=30s").json["points"]
    assert 3 <= len(short) <= 4
    assert px.admin().get("/v1/series?window=5s").status == 400


def test_ctl_compare_prints_both_pools(cutover):
    px = cutover(admin=True, weights={"blue": 50, "green": 50})
    backends_of(px, 40)
    json_when_counted(px.admin(), "/v1/compare?window=30s", 40)
    out = run_cli("ctl", "--socket", px.admin_socket, "compare", "--window", "30s")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.split()[:1] == ["blue"] for line in lines), out.stdout
    assert any(line.split()[:1] == ["green"] for line in lines), out.stdout
    assert "green - blue: error rate 0.0000" in out.stdout
    js = run_cli("ctl", "--socket", px.admin_socket, "--json", "compare")
    assert js.returncode == 0
    body = json.loads(js.stdout)
    assert body["pools"]["blue"]["requests"] + body["pools"]["green"]["requests"] == 40
    assert body["window_seconds"] == 60


def test_config_changes_and_expired_flags_are_counted(cutover):
    px = cutover(admin=True)
    c = px.admin()
    rule = {"name": "old-flag", "pool": "green", "expires": "2020-01-31",
            "match": {"header": {"X-Old": ["1"]}}}
    assert c.request("POST", "/v1/rules", body=rule).status == 201
    assert c.put_weights({"blue": 80, "green": 10}).status == 400
    assert c.put_weights({"blue": 80, "green": 20}, headers={"If-Match": "1"}).status == 409
    samples = parse_exposition(c.get("/metrics").raw.decode())
    assert value(samples, "cutover_config_changes_total", result="applied") == 1
    assert value(samples, "cutover_config_changes_total", result="rejected") == 2
    assert value(samples, "cutover_flag_expired", rule="old-flag") == 1
