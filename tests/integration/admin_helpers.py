"""Shared helpers for the admin API tests (docs/admin-api.md): snapshots of the routing state
to prove a rejected call changed nothing, polling, tokens files, and proxied requests."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional


def poll(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> bool:
    """True as soon as predicate() is true; False once timeout seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)  # poll interval


def connection_gauges(admin) -> tuple[float, float]:
    """(cutover_downstream_connections_active, sum of cutover_upstream_connections_active) as
    GET /metrics says through the admin client `admin`."""
    r = admin.get("/metrics")
    assert r.status == 200, r
    down = up = 0.0
    for line in r.raw.decode().splitlines():
        if line.startswith("cutover_downstream_connections_active"):
            down += float(line.rsplit(" ", 1)[1])
        elif line.startswith("cutover_upstream_connections_active"):
            up += float(line.rsplit(" ", 1)[1])
    return down, up


def backend_of(px, target: str = "/which", headers=None) -> str:
    """The pool (X-Backend of the identifying backends) that served one proxied request."""
    resp = px.get(target, headers)
    assert resp.status == 200, resp
    return resp.header("X-Backend")


def backends_of(px, n: int, target: str = "/which", headers=None) -> list:
    """n requests on one keep-alive connection; the X-Backend of each."""
    conn = px.connect()
    try:
        out = []
        for i in range(n):
            resp = conn.get(f"{target}?i={i}", headers)
            assert resp.status == 200, resp
            out.append(resp.header("X-Backend"))
        return out
    finally:
        conn.close()


def state_file_path(px) -> Path:
    return Path(px.config_kw["admin"]["state_file"])


def audit_log_path(px) -> Path:
    return Path(px.config_kw["admin"]["audit_log"])


def state_file_bytes(px) -> Optional[bytes]:
    try:
        return state_file_path(px).read_bytes()
    except FileNotFoundError:
        return None


@dataclass
class Snapshot:
    state: dict  # GET /v1/state, parsed
    etag: Optional[str]
    state_file: Optional[bytes]  # the state file's bytes (None: no file)


def snapshot(px, client=None) -> Snapshot:
    client = client or px.admin()
    r = client.get("/v1/state")
    assert r.status == 200, r
    return Snapshot(r.json, r.headers.get("etag"), state_file_bytes(px))


def assert_unchanged(px, before: Snapshot, client=None) -> None:
    """The full state, its ETag and the state file's bytes are what they were."""
    after = snapshot(px, client)
    assert after.state == before.state, "the routing state changed"
    assert after.etag == before.etag, "the ETag changed"
    assert after.state_file == before.state_file, "the state file changed"


def assert_json_error(resp, status: int, field: Optional[str] = None) -> dict:
    """resp has `status` and the documented error body {"error": str, "field": str}."""
    assert resp.status == status, resp
    body = resp.json
    assert isinstance(body, dict), resp
    assert isinstance(body.get("error"), str) and body["error"], resp
    assert isinstance(body.get("field"), str), resp
    if field is not None:
        assert body["field"] == field, resp
    return body


def audit_entries(px, limit: int = 50, offset: int = 0) -> list:
    return px.admin().audit(limit, offset)


def audit_file_entries(px) -> list:
    """Every line of the audit log file, parsed (the file itself, not the API)."""
    path = audit_log_path(px)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def sha256_hex(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def write_tokens_file(path: Path, tokens) -> Path:
    """tokens: (name, role, secret) triples; the file holds only the hashes."""
    lines = []
    for name, role, secret in tokens:
        lines += ["[[token]]", f'name = "{name}"', f'role = "{role}"',
                  f'sha256 = "{sha256_hex(secret)}"', ""]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(path)
    return path
