"""Hostile backends against the real binary (issue 7, item 3).

The backend answers GET /h (or HEAD /h) with exactly the bytes of a row, then closes when
the row says so; every other request gets a normal answer naming the backend connection
that served it. The client sends /h and a pipelined `GET /probe` in one write. Whatever
the backend did, the client gets a 502 (nothing was sent yet), a truncated and closed
connection (the head already went out), or a correct relay; never a desynchronised
keep-alive connection: /probe is either never answered (closed) or answered as /probe, by
another upstream connection than the one that misbehaved. docs/robustness.md lists every
case.
"""

from dataclasses import dataclass

import pytest

from http_client import ConnectionClosed
from recording_backend import RawReply, Response

OK = b"HTTP/1.1 200 OK\r\n"
EVIL = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL"


@dataclass
class Case:
    id: str
    reply: bytes
    outcome: str  # "502" | "truncated" | "502_or_closed" | "relayed"
    close: bool = False  # the backend closes after the bytes
    method: str = "GET"
    status: int = 200  # "relayed": the status the client gets
    body: bytes = b""  # "relayed": the body the client gets
    reused_ok: bool = False  # "relayed": the upstream connection may be reused


CASES = [
    # --- framing the proxy cannot trust: 502 before anything reaches the client -----------
    Case("cl_and_te", OK + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
         "502"),
    Case("cl_and_te_hiding_a_response", OK + b"Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"0\r\n\r\n" + EVIL, "502"),
    Case("te_and_cl", OK + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
         "502"),
    Case("two_different_content_lengths", OK + b"Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
         "502"),
    Case("content_length_list", OK + b"Content-Length: 3, 5\r\n\r\nabcde", "502"),
    Case("content_length_negative", OK + b"Content-Length: -1\r\n\r\nabc", "502"),
    Case("status_line_garbage", b"THIS IS NOT HTTP\r\n\r\n", "502"),
    Case("status_code_not_digits", b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n", "502"),
    Case("status_code_four_digits", b"HTTP/1.1 1000 OK\r\nContent-Length: 0\r\n\r\n", "502"),
    Case("status_code_below_100", b"HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n", "502"),
    Case("status_code_zero", b"HTTP/1.1 000 OK\r\nContent-Length: 0\r\n\r\n", "502"),
    Case("status_line_bare_lf", b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok", "502"),
    Case("interim_1xx_garbage", b"HTTP/1.1 100 Continue\r\nX: y\r\nGARBAGE\r\n\r\n", "502"),
    Case("header_nul_in_value", OK + b"X-A: a\x00b\r\nContent-Length: 2\r\n\r\nok", "502"),
    Case("header_nul_in_name", OK + b"X\x00A: b\r\nContent-Length: 2\r\n\r\nok", "502"),
    Case("header_without_colon", OK + b"Bad Header Line\r\nContent-Length: 2\r\n\r\nok", "502"),
    Case("header_space_before_colon", OK + b"Content-Length : 2\r\n\r\nok", "502"),
    Case("huge_header_over_limit", OK + b"X-Big: " + b"a" * (300 * 1024) + b"\r\n"
         b"Content-Length: 2\r\n\r\nok", "502"),
    Case("huge_header_count_over_byte_limit",
         OK + b"".join(b"X-%05d: %s\r\n" % (i, b"v" * 40) for i in range(6000)) +
         b"Content-Length: 2\r\n\r\nok", "502"),
    Case("close_inside_status_line", b"HTTP/1.1 20", "502", close=True),
    Case("close_inside_head", OK + b"Content-Len", "502", close=True),
    Case("close_without_reply", b"", "502", close=True),
    # --- the head went out, the body broke: the client connection is cut short -----------
    Case("close_mid_body_content_length", OK + b"Content-Length: 100\r\n\r\nonly-some", "truncated",
         close=True),
    Case("close_mid_body_chunked", OK + b"Transfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n",
         "truncated", close=True),
    Case("close_inside_chunk", OK + b"Transfer-Encoding: chunked\r\n\r\n10\r\nabc", "truncated",
         close=True),
    Case("chunk_size_not_hex", OK + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabcde\r\n0\r\n\r\n",
         "502_or_closed"),
    Case("chunk_size_negative", OK + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nabcde\r\n0\r\n\r\n",
         "502_or_closed"),
    Case("chunk_size_overflow",
         OK + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nabcde\r\n0\r\n\r\n",
         "502_or_closed"),
    Case("chunk_data_longer_than_size",
         OK + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcde\r\n0\r\n\r\n", "502_or_closed"),
    Case("chunk_then_garbage", OK + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nxyz\r\n",
         "502_or_closed"),
    # --- relayed correctly; surplus bytes are dropped with the upstream connection --------
    Case("bytes_after_content_length_body", OK + b"Content-Length: 2\r\n\r\nok" + EVIL, "relayed",
         body=b"ok"),
    Case("head_response_with_body", OK + b"Content-Length: 4\r\n\r\nEVIL", "relayed", method="HEAD"),
    Case("head_response_with_hidden_response", OK + b"Content-Length: 2\r\n\r\n" + EVIL, "relayed",
         method="HEAD"),
    Case("status_204_with_body", b"HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\nEVIL",
         "relayed", status=204),
    Case("status_204_followed_by_response", b"HTTP/1.1 204 No Content\r\n\r\n" + EVIL, "relayed",
         status=204),
    Case("status_304_with_body", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 4\r\n\r\nEVIL",
         "relayed", status=304),
    Case("interim_100_with_content_length", b"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n"
         + OK + b"Content-Length: 2\r\n\r\nok", "relayed", body=b"ok", reused_ok=True),
    Case("many_interim_responses", b"HTTP/1.1 102 Processing\r\n\r\n" * 1000 + OK +
         b"Content-Length: 2\r\n\r\nok", "relayed", body=b"ok", reused_ok=True),
    Case("obs_fold_replaced_by_space", OK + b"X-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok", "relayed",
         body=b"ok", reused_ok=True),
]


@pytest.fixture
def hostile(cutover, backends):
    # failover "503": a request the backend broke is not retried on the other pool, so the
    # client sees exactly what this backend caused.
    blue, green = backends("blue"), backends("green")
    px = cutover(pools={"blue": {"endpoints": [blue.address], "failover": "503"},
                        "green": [green.address]})
    px.blue, px.green = blue, green
    return px


def _install(px, case):
    def handle(req):
        if req.target == "/h":
            return RawReply(case.reply, case.close)
        return Response(200, body=f"blue {req.method} {req.target} conn{req.conn_id}\n".encode())
    px.blue.handler = handle


def _check_probe_or_closed(px, conn, hostile_conn_id):
    """The pipelined /probe: closed without a byte, or answered as /probe by another
    upstream connection than the hostile one."""
    try:
        probe = conn.read_response(timeout=5)
    except ConnectionClosed as e:
        assert e.partial == b"", f"bytes after the first response: {e.partial[:300]!r}"
        return
    assert probe.status == 200, probe
    assert probe.body.startswith(b"blue GET /probe conn"), probe
    assert probe.body != f"blue GET /probe conn{hostile_conn_id}\n".encode(), \
        "the upstream connection was reused after a protocol error"
    data, closed = conn.read_until_close(0.3)
    assert data == b"", f"bytes after the probe's response: {data[:300]!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_response_never_desynchronises(hostile, case):
    _install(hostile, case)
    conn = hostile.connect()
    conn.send(f"{case.method} /h HTTP/1.1\r\nHost: x\r\n\r\n".encode()
              + b"GET /probe HTTP/1.1\r\nHost: x\r\n\r\n")
    [hreq] = [r for r in hostile.blue.wait_requests(1) if r.target == "/h"]

    if case.outcome == "truncated":
        head = conn.read_head(timeout=5)
        assert head.status == 200, head
        data, closed = conn.read_until_close(5)
        assert closed, f"client left hanging after the backend broke the body: {data[:200]!r}"
        if head.has("Content-Length"):
            assert len(data) < int(head.header("Content-Length")), data[:200]
        else:  # re-chunked: the last chunk must not be invented
            assert head.header("Transfer-Encoding") == "chunked", head.headers
            assert not data.endswith(b"0\r\n\r\n"), data[-50:]
        assert b"EVIL" not in data and b"/probe" not in data
    elif case.outcome == "502_or_closed":
        data, closed = conn.read_until_close(5)
        assert closed, f"connection left open after a broken body: {data[:200]!r}"
        assert data == b"" or data.startswith(b"HTTP/1.1 502 ") or (
            data.startswith(b"HTTP/1.1 200 ") and not data.endswith(b"0\r\n\r\n")), data[:300]
        assert data.count(b"HTTP/1.1 ") <= 1 and b"/probe" not in data, data[:600]
    elif case.outcome == "502":
        resp = conn.read_response(timeout=5)
        assert resp.status == 502, resp
        assert resp.body.startswith(b"cutover: "), resp
        assert b"EVIL" not in resp.head_raw + resp.body
        _check_probe_or_closed(hostile, conn, hreq.conn_id)
    else:  # relayed
        resp = conn.read_response(method=case.method, timeout=5)
        assert resp.status == case.status, resp
        assert resp.body == case.body, resp
        assert not (resp.has("Content-Length") and resp.has("Transfer-Encoding")), resp.headers
        if case.status == 204:
            assert not resp.has("Content-Length"), resp.headers
        if case.reused_ok:
            probe = conn.read_response(timeout=5)
            assert probe.status == 200 and probe.body.startswith(b"blue GET /probe conn"), probe
        else:
            _check_probe_or_closed(hostile, conn, hreq.conn_id)

    # A fresh client connection is served normally, and not over the hostile connection.
    fresh = hostile.connect()
    resp = fresh.get("/after", timeout=5)
    assert resp.status == 200 and resp.body.startswith(b"blue GET /after conn"), resp
    if not case.reused_ok:
        assert resp.body != f"blue GET /after conn{hreq.conn_id}\n".encode(), \
            "the upstream connection was reused after a protocol error"
    assert [r.target for r in hostile.blue.requests if r.target not in ("/probe", "/after")] \
        == ["/h"], "the hostile request was sent more than once"
    assert hostile.green.requests == [], "the request was retried on the other pool"
