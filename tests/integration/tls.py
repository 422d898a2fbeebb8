"""A throw-away certificate authority for the TLS tests (openssl, generated per test session)."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TestCA:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _signed(folder: Path, name: str, ca: Path, ca_key: Path, extensions: str) -> tuple[Path, Path]:
    key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.pem"
    ext = folder / f"{name}.ext"
    ext.write_text(extensions, encoding="utf-8")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
             "-keyout", str(key), "-out", str(csr))  # fmt: skip
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", "2", "-out", str(cert), "-extfile", str(ext))  # fmt: skip
    return cert, key


def make_ca(folder: Path) -> TestCA:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=finpulse-test-ca", "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    server = _signed(folder, "server", ca, ca_key, "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    client = _signed(folder, "client", ca, ca_key, "extendedKeyUsage=clientAuth\n")
    return TestCA(ca, *server, *client)


def wait_for_port(port: int, deadline_s: float) -> None:
    until = time.monotonic() + deadline_s
    while time.monotonic() < until:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")
