"""A local certificate authority and a `localhost` server certificate for the local platform.

Azurite and the other local servers speak HTTPS on `localhost`, so the worker runs with the same rules as in
Azure (https only, host allow-list, no IP literals). The CA is made once under `.local/tls/` and trusted by the
local processes only, through the worker's `TLS_CA_BUNDLE` setting and the clients of the local platform.
"""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass
from pathlib import Path

from local_platform.paths import LOCAL_DIR

__all__ = ["TlsFiles", "ensure_tls", "server_context"]


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the local CA certificate and of the `localhost` certificate and key."""

    ca_cert: Path
    cert: Path
    key: Path


def ensure_tls(directory: Path | None = None) -> TlsFiles:
    """Create the CA and the `localhost` certificate under `directory` unless they exist; return their paths."""
    directory = directory or LOCAL_DIR / "tls"
    files = TlsFiles(directory / "ca.pem", directory / "localhost.pem", directory / "localhost-key.pem")
    if files.ca_cert.exists() and files.cert.exists() and files.key.exists():
        return files

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    later = now + dt.timedelta(days=3650)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aem-imgix-renditions local CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    files.key.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    files.key.chmod(0o600)
    files.cert.write_bytes(cert.public_bytes(pem))
    files.ca_cert.write_bytes(ca.public_bytes(pem))
    return files


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """A server-side TLS context for a local HTTPS server on `localhost`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(files.cert, files.key)
    return ctx
