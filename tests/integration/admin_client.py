"""A minimal client of cutover's admin API (docs/admin-api.md) over its Unix socket, TCP or
TLS."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any, Optional


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


@dataclass
class AdminResponse:
    status: int
    headers: dict = field(default_factory=dict)  # lower-case names
    raw: bytes = b""

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    def __repr__(self) -> str:
        return f"AdminResponse({self.status}, {self.raw[:300]!r})"


class AdminClient:
    """By default one connection per call (Connection: close), so a test never sees a stale
    socket. With keep_alive=True every call goes over one persistent connection (opened on
    the first call; close() ends it). A call that fails drops the connection and raises;
    after a response that closes it the next call opens a new one (connections_opened
    counts the connections, so a test can tell that keep-alive held)."""

    def __init__(self, socket_path: Optional[str] = None, port: Optional[int] = None,
                 token: Optional[str] = None, timeout: float = 10.0, keep_alive: bool = False,
                 ssl_context: Optional[ssl.SSLContext] = None):
        """ssl_context: HTTPS to 127.0.0.1:port (the server's certificate must name the IP)."""
        assert socket_path or port, "need a socket path or a TCP port"
        self.socket_path = socket_path
        self.port = port
        self.ssl_context = ssl_context
        self.token = token
        self.timeout = timeout
        self.keep_alive = keep_alive
        self._conn: Optional[http.client.HTTPConnection] = None
        self.connections_opened = 0

    def _connection(self) -> http.client.HTTPConnection:
        self.connections_opened += 1
        if self.socket_path:
            return _UnixConnection(self.socket_path, self.timeout)
        if self.ssl_context is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=self.timeout,
                                               context=self.ssl_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def request(self, method: str, path: str, body: Any = None,
                headers: Optional[dict] = None, raw: Optional[bytes] = None) -> AdminResponse:
        """body is sent as JSON; raw (bytes) is sent as is (for malformed-body tests)."""
        h = {} if self.keep_alive else {"Connection": "close"}
        if self.token is not None:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(headers or {})
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        if self.keep_alive:
            if self._conn is None:
                self._conn = self._connection()
            conn = self._conn
        else:
            conn = self._connection()
        try:
            try:
                conn.request(method, path, body=data, headers=h)
            except (BrokenPipeError, ConnectionResetError):
                # The server may answer before it has read the whole body (413) and close;
                # its answer can still be read.
                pass
            resp = conn.getresponse()
            out = AdminResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                                resp.read())
            if self.keep_alive and resp.will_close:
                self.close()
            return out
        except BaseException:
            if self.keep_alive:
                self.close()
            raise
        finally:
            if not self.keep_alive:
                conn.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "AdminClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get(self, path: str, **kw) -> AdminResponse:
        return self.request("GET", path, **kw)

    def state(self) -> dict:
        r = self.get("/v1/state")
        assert r.status == 200, r
        return r.json

    def put_weights(self, weights: dict, **kw) -> AdminResponse:
        return self.request("PUT", "/v1/weights", body=weights, **kw)

    def audit(self, limit: int = 50, offset: int = 0) -> list:
        r = self.get(f"/v1/audit?limit={limit}&offset={offset}")
        assert r.status == 200, r
        return r.json["entries"]
