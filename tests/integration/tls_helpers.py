"""Certificates made at test time with the openssl CLI, and TLS client connections.

    ca = TestCA(tmp_path)                       # a fresh CA
    a = ca.issue("a.test")                      # Cert(pem=Path, key=Path, serial=...)
    px = cutover(tls={"certificates": [a.entry()]})
    conn = TlsClientConn(px.port, ca, "a.test") # verifies against the CA, SNI a.test
"""

from __future__ import annotations

import ipaddress
import itertools
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from http_client import ClientConn, DEFAULT_TIMEOUT

_serials = itertools.count(1000)


def _openssl(*args: str, cwd: Path) -> None:
    out = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, f"openssl {' '.join(args)}: {out.stderr}"


@dataclass
class Cert:
    pem: Path
    key: Path
    names: tuple
    organization: str

    def entry(self) -> dict:
        return {"cert": str(self.pem), "key": str(self.key)}


def _san(name: str) -> str:
    """A subjectAltName entry: IP:... for an IP address, DNS:... for anything else."""
    try:
        ipaddress.ip_address(name)
        return f"IP:{name}"
    except ValueError:
        return f"DNS:{name}"


class TestCA:
    """A self-signed CA in `directory`, issuing P-256 leaf certificates for DNS names (and
    IP addresses, as IP SANs)."""

    __test__ = False  # not a pytest class

    def __init__(self, directory: Path, name: str = "cutover test CA"):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pem = self.dir / "ca.pem"
        self.key = self.dir / "ca.key"
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", str(self.key), "-out", str(self.pem), "-days", "30",
                 "-subj", f"/CN={name}", cwd=self.dir)

    def issue(self, *names: str, organization: str = "cutover tests", days: int = 30,
              stem: Optional[str] = None, ips: tuple = ()) -> Cert:
        """A leaf for DNS names (the first is also the CN) and IP addresses `ips`. It has no
        extendedKeyUsage, so it serves as a server or a client certificate alike."""
        serial = next(_serials)
        stem = stem or f"{names[0].replace('*', 'star')}-{serial}"
        key, csr, pem = (self.dir / f"{stem}.{ext}" for ext in ("key", "csr", "pem"))
        ext = self.dir / f"{stem}.ext"
        ext.write_text("subjectAltName=" + ",".join([_san(n) for n in names] +
                                                    [f"IP:{ip}" for ip in ips]) + "\n")
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", str(key), "-out", str(csr),
                 "-subj", f"/CN={names[0]}/O={organization}", cwd=self.dir)
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.pem), "-CAkey", str(self.key),
                 "-set_serial", str(serial), "-days", str(days), "-extfile", str(ext),
                 "-out", str(pem), cwd=self.dir)
        return Cert(pem=pem, key=key, names=names, organization=organization)


def server_context(cert: Cert, client_ca: Optional[TestCA] = None) -> ssl.SSLContext:
    """A backend's TLS context presenting `cert`; with `client_ca`, clients must present a
    certificate it issued (mTLS)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert.pem), str(cert.key))
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(str(client_ca.pem))
    return ctx


def client_context(ca: TestCA, alpn: Optional[list] = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca.pem))
    if alpn is not None:
        ctx.set_alpn_protocols(alpn)
    return ctx


def peer_organization(sock: ssl.SSLSocket) -> str:
    """The O= of the certificate the server presented."""
    for rdn in sock.getpeercert()["subject"]:
        for key, value in rdn:
            if key == "organizationName":
                return value
    return ""


class TlsClientConn(ClientConn):
    """ClientConn over TLS: verifies the proxy's certificate against `ca` for `server_name`
    (also sent as SNI)."""

    def __init__(self, port: int, ca: TestCA, server_name: str,
                 timeout: float = DEFAULT_TIMEOUT, context: Optional[ssl.SSLContext] = None,
                 session: Optional[ssl.SSLSession] = None):
        self.port = port
        self.timeout = timeout
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ctx = context or client_context(ca)
        self.sock = ctx.wrap_socket(raw, server_hostname=server_name, session=session)
        self.buf = bytearray()
        self.eof = False

    @property
    def organization(self) -> str:
        return peer_organization(self.sock)
