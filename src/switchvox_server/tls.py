"""Throwaway self-signed certificates, so the server can speak HTTPS in tests and trials.

Every Switchvox client library hard-codes `https://`; a certificate made here lets such a
client talk to a local server once it is told to trust the certificate file (for example
`curl --cacert cert.pem`). Not for production: use a certificate from a real authority there.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERTIFICATE_FILE = "cert.pem"
KEY_FILE = "key.pem"
# Clocks of the client and the server may differ a little; backdate so "not yet valid" is rare.
_BACKDATE = datetime.timedelta(hours=1)


def write_self_signed(
    directory: Path,
    hostnames: Sequence[str] = ("localhost",),
    ip_addresses: Sequence[str] = ("127.0.0.1",),
    *,
    days: int = 30,
) -> tuple[Path, Path]:
    """Write `cert.pem` and `key.pem` (readable by the owner only) into `directory`.

    The certificate is its own issuer and names every host name and IP address as a
    subjectAltName, so a client that trusts the certificate file verifies the server by
    any of them. Returns (certificate path, key path).
    """
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in hostnames]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in ip_addresses]
    if not names:
        raise ValueError("a certificate needs at least one host name or IP address")
    common_name = hostnames[0] if hostnames else ip_addresses[0]

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "switchvox-server self-signed"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    key_id = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        # A self-signed certificate is its own trust anchor: mark it as a CA (as
        # `openssl req -x509` does) with the key identifiers strict verifiers insist on.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(key_id, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(key_id),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )

    directory.mkdir(parents=True, exist_ok=True)
    certificate_path = directory / CERTIFICATE_FILE
    key_path = directory / KEY_FILE
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Create the key file owner-only from the start rather than tightening it afterwards.
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its old mode under O_CREAT
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(key_pem)
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return certificate_path, key_path
