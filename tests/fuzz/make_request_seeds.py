"""Writes the request fuzzer's seeds into tests/fuzz/corpus/request/: every row of
tests/integration/test_hostile_requests.py (with the rows' smuggled request or desync probe
after it) and valid requests of every framing. Byte 0 = set-up, byte 1 = read size
(tests/fuzz/request_fuzz.cc). Run from the repository root with /usr/bin/python3."""
import importlib.util
import re
import sys

sys.path.insert(0, "tests/integration")
spec = importlib.util.spec_from_file_location("hr", "tests/integration/test_hostile_requests.py")
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
out = "tests/fuzz/corpus/request/"


def safe(s):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", s)


def write(name, setup, read_size, raw):
    with open(out + name, "wb") as f:
        f.write(bytes([setup, read_size]) + raw)


for row in m.REJECTED:
    write("hostile_" + safe(row.id), 0, 0, row.raw + m.SMUGGLED)
for row in m.ACCEPTED:
    write("accepted_" + safe(row.id), 0, 0, row.raw + m.PROBE)
H = b"Host: example.com\r\n"
valid = {
    "get": b"GET /index.html?x=1 HTTP/1.1\r\n" + H + b"User-Agent: fuzz\r\nAccept: */*\r\n\r\n",
    "head": b"HEAD / HTTP/1.1\r\n" + H + b"\r\n",
    "post_length": b"POST /api/orders HTTP/1.1\r\n" + H
    + b"Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"item\": 42}\n",
    "post_chunked": b"POST /upload HTTP/1.1\r\n" + H
    + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
    "put_expect": b"PUT /doc HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 4\r\n\r\nbody",
    "http10_keepalive": b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
    "absolute_form": b"GET http://example.com:8080/a/b?c=d HTTP/1.1\r\nHost: other\r\n\r\n",
    "absolute_form_query_only": b"GET http://example.com?" + b"q" * 13
    + b" HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "upgrade_websocket": b"GET /chat HTTP/1.1\r\n" + H
    + b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n\x81\x05hello",
    "hop_by_hop": b"GET / HTTP/1.1\r\n" + H
    + b"Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
    b"Proxy-Authorization: Basic eA==\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-For: 5.6.7.8\r\n"
    b"X-Forwarded-Proto: ftp\r\n\r\n",
    "rule_beta": b"GET /x HTTP/1.1\r\n" + H + b"X-Beta: yes\r\n\r\n",
    "rule_mobile": b"GET /api/v2 HTTP/1.1\r\n" + H + b"User-Agent: Mobile Safari\r\n\r\n",
    "rule_regex": b"GET / HTTP/1.1\r\n" + H + b"X-User: u-12345-abc\r\n\r\n",
    "rule_cookie_query": b"GET /?debug=1&x=2 HTTP/1.1\r\n" + H
    + b"Cookie: a=b; plan=gold; session=s-1\r\n\r\n",
    "rule_office": b"GET / HTTP/1.1\r\n" + H + b"X-Office: 1\r\n\r\n",
    "rule_vip_cookie": b"GET / HTTP/1.1\r\n" + H + b"Cookie: session=user-1\r\n\r\n",
    "pipelined_mixed": b"GET /1 HTTP/1.1\r\n" + H + b"\r\nPOST /2 HTTP/1.1\r\n" + H
    + b"Content-Length: 3\r\n\r\nabcPOST /3 HTTP/1.1\r\n" + H
    + b"Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\nGET /4 HTTP/1.1\r\n" + H
    + b"Connection: close\r\n\r\n",
    "options_star": b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n",
    "delete": b"DELETE /r/1 HTTP/1.1\r\n" + H + b"Content-Length: 0\r\n\r\n",
    "ipv6_host": b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
}
for name, raw in valid.items():
    write("valid_" + name, 0, 0, raw)
write("pin_user_split3", 1, 3, b"GET / HTTP/1.1\r\n" + H
      + b"X-User-Id: user-2\r\nCookie: cutover_pin=green.1.1799990000.AAAA\r\n\r\n")
write("tls_ipv6_split1_post_chunked", 6, 1, valid["post_chunked"])
write("split2_obs_fold", 0, 2, b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n")
write("split5_pipelined", 0, 5, valid["pipelined_mixed"])
