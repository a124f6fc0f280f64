"""HTTPS with a generated self-signed certificate, as every Switchvox client expects."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest
from cryptography import x509

from switchvox_server.settings import Settings
from switchvox_server.testing import serve_app
from switchvox_server.tls import write_self_signed
from tests.conftest import ADMIN_PASSWORD, FIXTURES
from tests.helpers import canonical, curl

EXPECTED_REPORT = (FIXTURES / "example_report.xml").read_bytes()


@dataclass(frozen=True, slots=True)
class TlsServer:
    port: int
    certfile: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


@pytest.fixture
def tls_server(settings: Settings, tmp_path: Path) -> Iterator[TlsServer]:
    """The app served by uvicorn over HTTPS on a free loopback port."""
    certfile, keyfile = write_self_signed(tmp_path / "tls")
    with serve_app(settings, certificate=certfile, key=keyfile) as url:
        yield TlsServer(urlsplit(url).port or 0, certfile)


def test_certificate_names_every_host_and_the_key_is_private(tmp_path: Path) -> None:
    """The certificate lists each host name and address as a subjectAltName, signs itself,
    and the key file is readable by its owner only."""
    certfile, keyfile = write_self_signed(
        tmp_path, hostnames=("localhost", "pbx.test"), ip_addresses=("127.0.0.1", "::1")
    )
    certificate = x509.load_pem_x509_certificate(certfile.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "pbx.test"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert certificate.issuer == certificate.subject
    assert keyfile.stat().st_mode & 0o777 == 0o600


def test_httpx2_posts_the_example_over_https(tls_server: TlsServer) -> None:
    """A client trusting only the generated certificate, verifying strictly (Python 3.13's
    default), gets the documented report."""
    context = ssl.create_default_context(cafile=str(tls_server.certfile))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    with httpx2.Client(verify=context, trust_env=False, timeout=30) as http:
        response = http.post(
            f"{tls_server.url}/xml",
            data={"request": (FIXTURES / "example_request.xml").read_text()},
            files={"csv_file": ("example.csv", (FIXTURES / "example.csv").read_bytes())},
            auth=("admin", ADMIN_PASSWORD),
        )
    assert response.status_code == 200, response.text
    assert canonical(response.content) == canonical(EXPECTED_REPORT)


def test_curl_posts_the_example_over_https(tls_server: TlsServer) -> None:
    """`curl --cacert` reaching the server as https://localhost gets the documented report."""
    status, body = curl(
        f"https://localhost:{tls_server.port}/xml",
        "--cacert",
        str(tls_server.certfile),
        # Verify the DNS name while connecting to the loopback address only.
        "--resolve",
        f"localhost:{tls_server.port}:127.0.0.1",
        "--basic",
        "--form",
        f"request=@{FIXTURES / 'example_request.xml'}",
        "--form",
        f"csv_file=@{FIXTURES / 'example.csv'}",
    )
    assert status == 200, body
    assert canonical(body) == canonical(EXPECTED_REPORT)


def test_client_without_the_certificate_refuses_the_server(tls_server: TlsServer) -> None:
    """A client that trusts only the system authorities cannot verify the server."""
    with (
        httpx2.Client(verify=ssl.create_default_context(), trust_env=False) as http,
        pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        http.post(f"{tls_server.url}/xml", auth=("admin", ADMIN_PASSWORD))
