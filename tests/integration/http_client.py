"""A raw-socket HTTP/1.1 client: sends exactly the bytes a test writes, reads responses
exactly as the proxy framed them (RFC 9112 section 6.3), and tells closes from timeouts."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from header_lookup import HeaderLookup

RECV_SIZE = 256 * 1024
DEFAULT_TIMEOUT = 5.0


class Timeout(AssertionError):
    """Nothing (more) arrived within the time bound; .partial holds what came."""

    def __init__(self, message: str, partial: bytes = b""):
        super().__init__(f"{message}; received {partial[:300]!r}")
        self.partial = partial


class ConnectionClosed(Exception):
    """The server closed before a complete response; .partial holds what came."""

    def __init__(self, message: str, partial: bytes = b""):
        super().__init__(f"{message}; received {partial[:300]!r}")
        self.partial = partial


@dataclass
class HttpResponse(HeaderLookup):
    version: str
    status: int
    reason: str
    headers: list  # [(name, value)]
    head_raw: bytes
    body: Optional[bytes] = b""  # None when a body_sink consumed it
    framing: str = "none"  # "none" | "content-length" | "chunked" | "close"
    body_len: int = 0
    chunk_sizes: list = field(default_factory=list)
    trailers: list = field(default_factory=list)

    def connection_tokens(self) -> set:
        return {t.strip().lower() for v in self.header_all("Connection") for t in v.split(",")
                if t.strip()}

    def __repr__(self) -> str:
        body = self.body if self.body is None else self.body[:200]
        return f"<HttpResponse {self.status} {self.headers!r} body={body!r}>"


def parse_set_cookie(line: str) -> tuple:
    """A Set-Cookie value as (name, value, {attribute name lowercased: value or True})."""
    parts = [p.strip() for p in line.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        if p:
            k, eq, v = p.partition("=")
            attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), value.strip(), attrs


def build_request(method: str, target: str, headers=None, body: Optional[bytes] = None,
                  host: Optional[str] = "test.local", version: str = "HTTP/1.1") -> bytes:
    """Request bytes; adds Host (unless host is None) and Content-Length for a body unless
    the headers already frame it."""
    hs = []
    if host is not None:
        hs.append(("Host", host))
    hs += list(headers or [])
    names = {n.lower() for n, _ in hs}
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        hs.append(("Content-Length", str(len(body))))
    head = f"{method} {target} {version}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in hs) + "\r\n"
    return head.encode("latin-1") + (body or b"")


def chunked(body: bytes, size: int, extensions: bool = False) -> bytes:
    """body in chunked framing with chunks of at most size bytes."""
    out = bytearray()
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        ext = b";note=x" if extensions else b""
        out += b"%x%s\r\n%s\r\n" % (len(piece), ext, piece)
    out += b"0\r\n\r\n"
    return bytes(out)


class ClientConn:
    """One client connection to the proxy."""

    def __init__(self, port: int, timeout: float = DEFAULT_TIMEOUT):
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, method: str, target: str, headers=None, body: Optional[bytes] = None,
                host: Optional[str] = "test.local", **read_kw) -> HttpResponse:
        self.send(build_request(method, target, headers, body, host))
        return self.read_response(method=method, **read_kw)

    def get(self, target: str = "/", headers=None, **kw) -> HttpResponse:
        return self.request("GET", target, headers, **kw)

    # --- reading -----------------------------------------------------------------------

    def _fill(self, deadline: float) -> bool:
        """Reads more bytes into buf; False on EOF or reset. Raises Timeout."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout("time bound passed", bytes(self.buf))
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(RECV_SIZE)
        except ConnectionResetError:
            data = b""
        except (socket.timeout, TimeoutError):
            raise Timeout(f"nothing arrived within {left:.2f}s", bytes(self.buf)) from None
        finally:
            self.sock.settimeout(self.timeout)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _line(self, deadline: float) -> bytes:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if not self._fill(deadline):
                raise ConnectionClosed("closed inside a line", bytes(self.buf))

    def _exact(self, n: int, deadline: float, sink: Callable[[bytes], None]) -> None:
        while n > 0:
            if not self.buf and not self._fill(deadline):
                raise ConnectionClosed(f"closed with {n} body bytes missing", b"")
            take = bytes(self.buf[:n])
            del self.buf[:len(take)]
            n -= len(take)
            sink(take)

    def read_head(self, timeout: Optional[float] = None) -> HttpResponse:
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                raise ConnectionClosed("closed before a complete response head", bytes(self.buf))
        i = self.buf.find(b"\r\n\r\n")
        head = bytes(self.buf[:i + 4])
        del self.buf[:i + 4]
        lines = head[:-4].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        assert len(parts) >= 2 and parts[0].startswith(b"HTTP/"), f"bad status line {lines[0]!r}"
        headers = []
        for line in lines[1:]:
            assert b":" in line and line[:1] not in (b" ", b"\t"), f"bad header {line!r}"
            name, value = line.split(b":", 1)
            headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
        return HttpResponse(version=parts[0].decode(), status=int(parts[1]),
                            reason=parts[2].decode("latin-1") if len(parts) > 2 else "",
                            headers=headers, head_raw=head)

    def read_response(self, method: str = "GET", timeout: Optional[float] = None,
                      body_sink: Optional[Callable[[bytes], None]] = None) -> HttpResponse:
        """The next response (a 1xx is returned as is: call again for the final one)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        resp = self.read_head(timeout)
        collected = bytearray()

        def sink(piece: bytes) -> None:
            resp.body_len += len(piece)
            if body_sink:
                body_sink(piece)
            else:
                collected.extend(piece)

        if method == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200:
            resp.framing = "none"
        elif any("chunked" in v.lower() for v in resp.header_all("Transfer-Encoding")):
            resp.framing = "chunked"
            self._read_chunked(resp, deadline, sink)
        elif resp.has("Content-Length"):
            resp.framing = "content-length"
            self._exact(int(resp.header("Content-Length")), deadline, sink)
        else:
            resp.framing = "close"
            while self._fill(deadline):
                pass
            sink(bytes(self.buf))
            self.buf.clear()
        resp.body = None if body_sink else bytes(collected)
        return resp

    def _read_chunked(self, resp: HttpResponse, deadline: float, sink) -> None:
        while True:
            line = self._line(deadline)
            size = int(line.split(b";", 1)[0].strip(), 16)
            resp.chunk_sizes.append(size)
            if size == 0:
                break
            self._exact(size, deadline, sink)
            crlf = self._line(deadline)
            assert crlf == b"", f"chunk not followed by CRLF: {crlf!r}"
        while True:
            line = self._line(deadline)
            if not line:
                return
            name, _, value = line.partition(b":")
            resp.trailers.append((name.decode(), value.strip().decode()))

    def read_until_close(self, timeout: float = 5.0) -> tuple[bytes, bool]:
        """(every byte until the server closes, True) or (bytes so far, False) on timeout."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
        except Timeout:
            return bytes(self.buf), False
        data = bytes(self.buf)
        self.buf.clear()
        return data, True

    def assert_closed(self, timeout: float = 5.0) -> None:
        """The server closes within timeout without sending anything more."""
        data, closed = self.read_until_close(timeout)
        assert data == b"", f"expected a close, got more bytes: {data[:300]!r}"
        assert closed, f"connection still open after {timeout}s"

    def assert_open(self, wait: float) -> None:
        """Nothing arrives and the connection stays open for `wait` seconds."""
        data, closed = self.read_until_close(wait)
        assert data == b"" and not closed, f"connection closed or got bytes: {data[:300]!r}"

    def shutdown_write(self) -> None:
        self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
