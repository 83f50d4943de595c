"""A scriptable HTTP/1.1 origin server that records every byte it receives.

One thread accepts, one thread serves each connection. Requests are parsed minimally but
correctly (RFC 9112 section 6: Transfer-Encoding chunked wins over Content-Length; no body
otherwise) so keep-alive and pipelining work. What each connection received is kept:
the raw bytes (up to a cap), and every parsed request with its head, framing and body
(the body is always hashed and counted; stored only up to a cap, so a 256 MiB upload costs
no memory).

The reply is a function of the parsed request: ``backend.handler = fn`` where ``fn(req)``
returns a ``Response``, raw ``bytes``, a ``RawReply`` (raw bytes, then close), ``NO_REPLY``, ``CLOSE`` or an ``Upgrade``.

With ``ssl_context`` (a server-side ``ssl.SSLContext``) every accepted connection speaks TLS:
the serving thread runs the handshake first and records its outcome on the ConnRecord
(``tls_version``, ``session_reused``, ``peer_cert``, or ``tls_error``).
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Union

from header_lookup import HeaderLookup

RECV_SIZE = 256 * 1024
MAX_HEAD = 1 << 20


class _Closed(Exception):
    """The peer closed (or reset) the connection."""


class FramingError(Exception):
    """The peer sent bytes that are not valid HTTP/1.1 framing."""


@dataclass
class Request(HeaderLookup):
    """One request as the backend received it."""

    conn_id: int
    method: str
    target: str
    version: str
    headers: list  # [(name, value)] as received, in order
    head_raw: bytes
    framing: str = "none"  # "none" | "content-length" | "chunked"
    body: Optional[bytes] = b""  # None when larger than the backend's body_cap
    body_len: int = 0
    body_sha256: str = hashlib.sha256(b"").hexdigest()
    chunk_sizes: list = field(default_factory=list)
    trailers: list = field(default_factory=list)
    received_at: float = 0.0

    def header_names(self) -> set:
        return {n.lower() for n, _ in self.headers}


@dataclass
class Response:
    """A reply; serialised according to the request it answers (HEAD gets no body)."""

    status: int = 200
    reason: Optional[str] = None
    headers: list = field(default_factory=list)
    body: Union[bytes, Iterable[bytes]] = b""
    # "content-length": add Content-Length (unless content_length is given explicitly),
    # "chunked": send the body chunks (an iterable, or bytes split by chunk_size) chunked,
    # "close": no length, close after the body, "none": add nothing.
    framing: str = "content-length"
    content_length: Optional[int] = None
    chunk_size: int = 0  # with framing "chunked" and bytes body: split into this size
    delay: float = 0.0  # seconds before anything is sent
    hold: Optional[threading.Event] = None  # nothing is sent before the test sets it
    close: bool = False  # close the connection after sending
    truncate_body_at: Optional[int] = None  # send only this many body bytes, then close
    trailers: list = field(default_factory=list)


@dataclass
class Upgrade:
    """Answer 101 Switching Protocols, then echo every byte back until the peer closes."""

    headers: list = field(
        default_factory=lambda: [("Upgrade", "websocket"), ("Connection", "Upgrade")])
    greeting: bytes = b""  # sent in the same write as the 101 head


@dataclass
class RawReply:
    """Exactly these bytes as the reply (no framing added), then close the connection
    when close is set: for hostile backends whose bytes must not be tidied up."""

    data: bytes
    close: bool = True


NO_REPLY = object()  # read and record, never answer
CLOSE = object()  # close the connection without answering

REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created",
    204: "No Content", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
    418: "I'm a teapot", 500: "Internal Server Error", 503: "Service Unavailable",
}


def identify_handler(name: str) -> Callable[[Request], Response]:
    """The default reply: 200 naming the backend, the method and the target."""

    def handle(req: Request) -> Response:
        body = f"{name} {req.method} {req.target}\n".encode()
        return Response(200, headers=[("X-Backend", name), ("Content-Type", "text/plain")],
                        body=body)

    return handle


class ConnRecord:
    """What one accepted connection received."""

    def __init__(self, conn_id: int, raw_cap: int):
        self.id = conn_id
        self.raw = bytearray()  # first raw_cap bytes received
        self.raw_len = 0
        self.raw_cap = raw_cap
        self.requests: list[Request] = []
        self.closed = threading.Event()  # the serving thread is done with the socket
        self.peer_closed = False  # the peer closed or reset (as opposed to us closing)
        self.idle = False  # waiting for the first byte of the next request
        self.error: Optional[str] = None
        self.tunnel_bytes = 0  # bytes echoed after a 101
        # TLS backends only: what the handshake gave, or why it failed.
        self.tls_version: Optional[str] = None
        self.session_reused: Optional[bool] = None
        self.peer_cert: Optional[dict] = None  # the client certificate (mTLS), as getpeercert()
        self.tls_error: Optional[str] = None

    def _record(self, data: bytes) -> None:
        room = self.raw_cap - len(self.raw)
        if room > 0:
            self.raw += data[:room]
        self.raw_len += len(data)


class _Reader:
    """Buffered reads from a socket, recording every byte into a ConnRecord."""

    def __init__(self, sock: socket.socket, rec: ConnRecord):
        self.sock = sock
        self.rec = rec
        self.buf = bytearray()

    def _fill(self) -> None:
        try:
            data = self.sock.recv(RECV_SIZE)
        except (ConnectionResetError, OSError):
            raise _Closed()
        if not data:
            raise _Closed()
        self.rec._record(data)
        self.buf += data

    def read_line(self, limit: int = 65536) -> bytes:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > limit:
                raise FramingError("line too long")
            self._fill()

    def read_head(self) -> Optional[bytes]:
        """The bytes up to and including the blank line; None on a clean close before any."""
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                head = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return head
            if len(self.buf) > MAX_HEAD:
                raise FramingError("head too long")
            try:
                self._fill()
            except _Closed:
                if not self.buf:
                    return None
                raise

    def read_exact_into(self, n: int, sink: Callable[[bytes], None]) -> None:
        while n > 0:
            if not self.buf:
                self._fill()
            take = bytes(self.buf[:n])
            del self.buf[:len(take)]
            n -= len(take)
            sink(take)


class _BodySink:
    def __init__(self, cap: int):
        self.cap = cap
        self.data = bytearray()
        self.len = 0
        self.hash = hashlib.sha256()

    def __call__(self, piece: bytes) -> None:
        self.hash.update(piece)
        self.len += len(piece)
        if self.data is not None:
            if len(self.data) + len(piece) <= self.cap:
                self.data += piece
            else:
                self.data = None


def _parse_head(head: bytes, conn_id: int) -> Request:
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise FramingError(f"bad request line {lines[0]!r}")
    headers = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t") or b":" not in line:
            raise FramingError(f"bad header line {line!r}")
        name, value = line.split(b":", 1)
        headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return Request(conn_id=conn_id, method=parts[0].decode("latin-1"),
                   target=parts[1].decode("latin-1"), version=parts[2].decode("latin-1"),
                   headers=headers, head_raw=head, received_at=time.monotonic())


def _framing(req: Request) -> tuple[str, int]:
    te = req.header_all("Transfer-Encoding")
    if te:
        codings = [c.strip().lower() for v in te for c in v.split(",") if c.strip()]
        if codings and codings[-1] == "chunked":
            return "chunked", 0
        raise FramingError(f"transfer-encoding {te!r} without final chunked")
    cl = req.header_all("Content-Length")
    if cl:
        values = {v.strip() for v in cl}
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise FramingError(f"bad content-length {cl!r}")
        return "content-length", int(next(iter(values)))
    return "none", 0


class RecordingBackend:
    """A threaded HTTP/1.1 origin on 127.0.0.1 whose replies each test scripts."""

    def __init__(self, name: str, handler=None, raw_cap: int = 1 << 20,
                 body_cap: int = 8 << 20, ssl_context: Optional[ssl.SSLContext] = None,
                 port: int = 0):
        """port: 0 picks a free one; a given port restarts a stopped backend's address."""
        self.name = name
        self.ssl_context = ssl_context
        self.handler = handler or identify_handler(name)
        self.raw_cap = raw_cap
        self.body_cap = body_cap
        self.connections: list[ConnRecord] = []
        self.requests: list[Request] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(512)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop,
                                               name=f"backend-{name}-accept", daemon=True)
        self._accept_thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def connection_count(self) -> int:
        with self._cond:
            return len(self.connections)

    @property
    def request_count(self) -> int:
        with self._cond:
            return len(self.requests)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Waits until predicate() holds (re-checked on every backend event); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def wait_requests(self, n: int, timeout: float = 5.0) -> list[Request]:
        ok = self.wait_for(lambda: len(self.requests) >= n, timeout)
        assert ok, f"backend {self.name}: expected {n} requests, got {len(self.requests)}"
        with self._cond:
            return list(self.requests)

    def close_idle_connections(self) -> int:
        """Closes (FIN) every connection that waits for its next request; returns how many."""
        n = 0
        with self._lock:
            pairs = list(zip(self._socks, self.connections))
        for sock, rec in pairs:
            if rec.idle and not rec.closed.is_set():
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                n += 1
        return n

    def stop(self) -> None:
        self._stop.set()
        self._accept_thread.join(5)
        self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in list(self._threads):
            t.join(5)
            assert not t.is_alive(), f"backend {self.name}: thread {t.name} did not stop"

    # --- internals ---------------------------------------------------------------------

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._cond:
                rec = ConnRecord(len(self.connections), self.raw_cap)
                with self._lock:
                    self.connections.append(rec)
                    self._socks.append(sock)
                self._cond.notify_all()
            t = threading.Thread(target=self._serve, args=(sock, rec),
                                 name=f"backend-{self.name}-conn{rec.id}", daemon=True)
            self._threads.append(t)
            t.start()

    def _accept_tls(self, sock: socket.socket, rec: ConnRecord) -> Optional[ssl.SSLSocket]:
        """The TLS handshake on an accepted socket; None (connection closed) when it fails."""
        try:
            sock.settimeout(10)
            tls = self.ssl_context.wrap_socket(sock, server_side=True)
            tls.settimeout(None)
        except (ssl.SSLError, OSError) as e:
            rec.tls_error = str(e)
            rec.error = f"tls: {e}"
            sock.close()
            rec.closed.set()
            self._notify()
            return None
        rec.tls_version = tls.version()
        rec.session_reused = tls.session_reused
        rec.peer_cert = tls.getpeercert() or None
        with self._lock:
            self._socks[rec.id] = tls  # the plain socket object is detached now
        self._notify()
        return tls

    def _serve(self, sock: socket.socket, rec: ConnRecord) -> None:
        if self.ssl_context is not None:
            sock = self._accept_tls(sock, rec)
            if sock is None:
                return
        reader = _Reader(sock, rec)
        try:
            while not self._stop.is_set():
                rec.idle = not reader.buf
                head = reader.read_head()
                rec.idle = False
                if head is None:
                    rec.peer_closed = True
                    return
                req = self._read_request(sock, reader, rec, head)
                if not self._answer(sock, reader, rec, req):
                    return
        except _Closed:
            rec.peer_closed = True
        except FramingError as e:
            rec.error = str(e)
        except OSError as e:  # reset while writing, or shut down by stop()
            rec.error = rec.error or f"os error: {e}"
        finally:
            try:
                sock.close()
            except OSError:
                pass
            rec.closed.set()
            self._notify()

    def _read_request(self, sock, reader: _Reader, rec: ConnRecord, head: bytes) -> Request:
        req = _parse_head(head, rec.id)
        framing, length = _framing(req)
        req.framing = framing
        if framing != "none" and "100-continue" in (req.header("Expect") or "").lower():
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        sink = _BodySink(self.body_cap)
        if framing == "content-length":
            reader.read_exact_into(length, sink)
        elif framing == "chunked":
            self._read_chunked(reader, req, sink)
        req.body = bytes(sink.data) if sink.data is not None else None
        req.body_len = sink.len
        req.body_sha256 = sink.hash.hexdigest()
        with self._cond:
            rec.requests.append(req)
            self.requests.append(req)
            self._cond.notify_all()
        return req

    @staticmethod
    def _read_chunked(reader: _Reader, req: Request, sink: _BodySink) -> None:
        while True:
            line = reader.read_line()
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise FramingError(f"bad chunk size {line!r}")
            if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise FramingError(f"bad chunk size {line!r}")
            req.chunk_sizes.append(size)
            if size == 0:
                break
            reader.read_exact_into(size, sink)
            if reader.read_line() != b"":
                raise FramingError("chunk data not followed by CRLF")
        while True:
            line = reader.read_line()
            if line == b"":
                return
            name, _, value = line.partition(b":")
            req.trailers.append((name.decode("latin-1"), value.strip().decode("latin-1")))

    def _answer(self, sock, reader: _Reader, rec: ConnRecord, req: Request) -> bool:
        """Sends the scripted reply; False when the connection is finished."""
        reply = self.handler(req)
        if reply is CLOSE:
            return False
        if reply is NO_REPLY:
            try:
                while not self._stop.is_set():
                    reader._fill()
            except _Closed:
                rec.peer_closed = True
            return False
        if isinstance(reply, (bytes, bytearray)):
            sock.sendall(reply)
            return True
        if isinstance(reply, RawReply):
            sock.sendall(reply.data)
            return not reply.close
        if isinstance(reply, Upgrade):
            return self._tunnel(sock, reader, rec, reply)
        return self._send_response(sock, req, reply)

    def _tunnel(self, sock, reader: _Reader, rec: ConnRecord, up: Upgrade) -> bool:
        head = "HTTP/1.1 101 Switching Protocols\r\n" + "".join(
            f"{n}: {v}\r\n" for n, v in up.headers) + "\r\n"
        sock.sendall(head.encode() + up.greeting)
        pending = bytes(reader.buf)
        reader.buf.clear()
        if pending:
            sock.sendall(pending)
            rec.tunnel_bytes += len(pending)
        while not self._stop.is_set():
            try:
                data = sock.recv(RECV_SIZE)
            except OSError:
                data = b""
            if not data:
                rec.peer_closed = True
                return False
            rec._record(data)
            rec.tunnel_bytes += len(data)
            self._notify()
            sock.sendall(data)
        return False

    def _send_response(self, sock, req: Request, r: Response) -> bool:
        if r.delay and self._stop.wait(r.delay):
            return False
        while r.hold is not None and not r.hold.wait(0.05):
            if self._stop.is_set():
                return False
        bodyless = req.method == "HEAD" or r.status in (204, 304) or 100 <= r.status < 200
        pieces = self._body_pieces(r)
        headers = list(r.headers)
        if r.framing == "content-length":
            length = r.content_length
            if length is None:
                length = sum(len(p) for p in pieces) if isinstance(pieces, list) else None
                assert length is not None, "streamed bodies need content_length"
            headers.append(("Content-Length", str(length)))
        elif r.framing == "chunked":
            headers.append(("Transfer-Encoding", "chunked"))
        if r.close:
            headers.append(("Connection", "close"))
        reason = r.reason if r.reason is not None else REASONS.get(r.status, "Status")
        head = f"HTTP/1.1 {r.status} {reason}\r\n" + "".join(
            f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
        sock.sendall(head.encode("latin-1"))
        if bodyless:
            return not r.close
        sent = 0
        for piece in pieces:
            if r.truncate_body_at is not None:
                piece = piece[:max(0, r.truncate_body_at - sent)]
            if r.framing == "chunked" and piece:
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            elif piece:
                sock.sendall(piece)
            sent += len(piece)
            if r.truncate_body_at is not None and sent >= r.truncate_body_at:
                return False
        if r.truncate_body_at is not None:
            return False
        if r.framing == "chunked":
            trailer = "".join(f"{n}: {v}\r\n" for n, v in r.trailers)
            sock.sendall(b"0\r\n" + trailer.encode() + b"\r\n")
        return not (r.close or r.framing == "close")

    @staticmethod
    def _body_pieces(r: Response):
        if isinstance(r.body, (bytes, bytearray)):
            if r.framing == "chunked" and r.chunk_size:
                return [bytes(r.body[i:i + r.chunk_size])
                        for i in range(0, len(r.body), r.chunk_size)]
            return [bytes(r.body)] if r.body else []
        if isinstance(r.body, list):
            return r.body
        return r.body  # a generator: streamed
