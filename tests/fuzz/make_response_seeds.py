"""Writes the response fuzzer's seeds into tests/fuzz/corpus/response/: every row of
tests/integration/test_hostile_responses.py (heads over 16 KiB cut, the fuzzer's inputs stay
small) and valid responses of every framing. Byte 0 = what the exchange knows, byte 1 = read
size (tests/fuzz/response_fuzz.cc). Run from the repository root with /usr/bin/python3."""
import importlib.util
import re
import sys

sys.path.insert(0, "tests/integration")
spec = importlib.util.spec_from_file_location("hr", "tests/integration/test_hostile_responses.py")
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
out = "tests/fuzz/corpus/response/"
HEAD, UPGRADE, HTTP10, NO_KEEPALIVE, BODY_PENDING, MINT, PIN = 1, 2, 4, 8, 16, 32, 64


def write(name, context, read_size, raw):
    with open(out + re.sub(r"[^A-Za-z0-9_.-]", "_", name), "wb") as f:
        f.write(bytes([context, read_size]) + raw[:16384])


for case in m.CASES:
    write("hostile_" + case.id, HEAD if case.method == "HEAD" else 0, 0, case.reply)
OK = b"HTTP/1.1 200 OK\r\n"
valid = {
    "length": (0, OK + b"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"),
    "chunked": (0, OK + b"Transfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n"
                b"5;e=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
    "until_close": (0, OK + b"Connection: close\r\n\r\nbody until the backend closes"),
    "http10_until_close_client10": (HTTP10, b"HTTP/1.0 200 OK\r\n\r\nold"),
    "head_with_length": (HEAD, OK + b"Content-Length: 1234\r\n\r\n"),
    "no_content": (0, b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"),
    "not_modified": (0, b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 99\r\n\r\n"),
    "continue_then_ok": (BODY_PENDING, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                         b"Link: </a>\r\n\r\n" + OK + b"Content-Length: 2\r\n\r\nok"),
    "switching": (UPGRADE, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                  b"Upgrade: websocket\r\n\r\n\x81\x02hi"),
    "switching_unasked": (0, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
    "upgrade_refused": (UPGRADE, OK + b"Content-Length: 2\r\n\r\nno"),
    "hop_by_hop": (0, OK + b"Connection: X-Secret, close\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n"
                   b"Proxy-Connection: keep-alive\r\nContent-Length: 2\r\n\r\nok"),
    "cookies_minted_and_pinned": (MINT | PIN, OK + b"Set-Cookie: app=1\r\nContent-Length: 0\r\n\r\n"),
    "client_closes": (NO_KEEPALIVE, OK + b"Content-Length: 2\r\n\r\nok"),
    "split_reads": (0, OK + b"Content-Length: 11\r\n\r\nhello world"),
    "extra_after_complete": (0, OK + b"Content-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n"),
    "reason_empty": (0, b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"),
    "status_599": (0, b"HTTP/1.1 599 Custom\r\nContent-Length: 0\r\n\r\n"),
}
for name, (context, raw) in valid.items():
    write("valid_" + name, context, 3 if name == "split_reads" else 0, raw)
write("valid_chunked_bytewise_http10_client", HTTP10, 1, valid["chunked"][1])
