"""256 MiB in each direction streams through with bounded proxy memory (DESIGN section 2.5)."""

import hashlib
import os
import threading

import pytest

from proxy_process import is_sanitized_binary, rss_kib
from recording_backend import Response

MIB = 1 << 20
SIZE = 256 * MIB
RSS_LIMIT_KIB = int(os.environ.get("CUTOVER_RSS_LIMIT_MIB", "64")) * 1024
BASE_BLOCK = os.urandom(MIB)


def blocks(count=SIZE // MIB):
    """count distinct 1 MiB blocks (each stamped with its index), generated on the fly."""
    for i in range(count):
        yield i.to_bytes(8, "little") + BASE_BLOCK[8:]


def expected_sha256() -> str:
    h = hashlib.sha256()
    for b in blocks():
        h.update(b)
    return h.hexdigest()


class RssWatcher:
    """Samples the proxy's VmRSS until stopped; keeps the maximum."""

    def __init__(self, pid):
        self.pid = pid
        self.max_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while True:
            kib = rss_kib(self.pid)
            if kib is not None:
                self.max_kib = max(self.max_kib, kib)
                self.samples += 1
            if self._stop.wait(0.02):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def check(self):
        assert self.samples > 0, "no RSS sample taken"
        if is_sanitized_binary():
            return  # ASan's shadow memory and quarantine make RSS meaningless
        assert self.max_kib < RSS_LIMIT_KIB, \
            f"proxy VmRSS peaked at {self.max_kib // 1024} MiB (limit {RSS_LIMIT_KIB // 1024})"


@pytest.mark.slow
def test_256mib_upload_streams_with_bounded_memory(cutover):
    px = cutover(timeouts={"upstream_response": "60s"})
    px.blue.handler = lambda req: Response(200, body=req.body_sha256.encode())
    conn = px.connect(timeout=60)
    with RssWatcher(px.pid) as rss:
        conn.send(f"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\n"
                  f"Content-Type: application/octet-stream\r\n\r\n".encode())
        for block in blocks():
            conn.send(block)
        resp = conn.read_response(timeout=60)
    want = expected_sha256()
    [req] = px.blue.wait_requests(1)
    assert req.body_len == SIZE
    assert req.body_sha256 == want
    assert resp.status == 200
    assert resp.body.decode() == want
    rss.check()


@pytest.mark.slow
def test_256mib_download_streams_with_bounded_memory(cutover):
    px = cutover(timeouts={"upstream_response": "60s"})
    px.blue.handler = lambda req: Response(200, body=blocks(), content_length=SIZE)
    conn = px.connect(timeout=60)
    h = hashlib.sha256()
    with RssWatcher(px.pid) as rss:
        resp = conn.get("/big", timeout=120, body_sink=h.update)
    assert resp.status == 200
    assert resp.body_len == SIZE
    assert h.hexdigest() == expected_sha256()
    assert px.blue.wait_requests(1)[0].target == "/big"
    rss.check()


@pytest.mark.slow
def test_64mib_chunked_download_streams(cutover):
    px = cutover(timeouts={"upstream_response": "60s"})
    px.blue.handler = lambda req: Response(200, body=blocks(64), framing="chunked")
    conn = px.connect(timeout=60)
    h = hashlib.sha256()
    with RssWatcher(px.pid) as rss:
        resp = conn.get("/big-chunked", timeout=120, body_sink=h.update)
    assert resp.status == 200 and resp.framing == "chunked"
    want = hashlib.sha256()
    for b in blocks(64):
        want.update(b)
    assert resp.body_len == 64 * MIB
    assert h.hexdigest() == want.hexdigest()
    rss.check()
