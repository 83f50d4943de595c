"""A minimal client of cutover's admin API (docs/admin-api.md) over its Unix socket or TCP."""

from __future__ import annotations

import http.client
import json
import socket
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
    """One connection per call (Connection: close), so a test never sees a stale socket."""

    def __init__(self, socket_path: Optional[str] = None, port: Optional[int] = None,
                 token: Optional[str] = None, timeout: float = 10.0):
        assert socket_path or port, "need a socket path or a TCP port"
        self.socket_path = socket_path
        self.port = port
        self.token = token
        self.timeout = timeout

    def _connection(self) -> http.client.HTTPConnection:
        if self.socket_path:
            return _UnixConnection(self.socket_path, self.timeout)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def request(self, method: str, path: str, body: Any = None,
                headers: Optional[dict] = None, raw: Optional[bytes] = None) -> AdminResponse:
        """body is sent as JSON; raw (bytes) is sent as is (for malformed-body tests)."""
        h = {"Connection": "close"}
        if self.token is not None:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(headers or {})
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        conn = self._connection()
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            return AdminResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                                 resp.read())
        finally:
            conn.close()

    def get(self, path: str, **kw) -> AdminResponse:
        return self.request("GET", path, **kw)

    def state(self) -> dict:
        r = self.get("/v1/state")
        assert r.status == 200, r
        return r.json

    def put_weights(self, weights: dict, **kw) -> AdminResponse:
        return self.request("PUT", "/v1/weights", body=weights, **kw)
