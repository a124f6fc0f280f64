"""Authentication over real HTTP, driven the way Switchvox client libraries do it."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import replace

import httpx2
import pytest
from lxml import etree

from switchvox_server.http.digest import NonceAuthority
from switchvox_server.settings import Settings
from tests.conftest import ADMIN_PASSWORD, FIXTURES
from tests.helpers import EXAMPLE_FORM, canonical, curl, fault, request_xml

REALM = "switchvox_api_auth"
DIGEST_CHALLENGE = re.compile(
    r'Digest realm="switchvox_api_auth", nonce="([^"]+)", qop="auth", algorithm=MD5'
)
BASIC_CHALLENGE = 'Basic realm="switchvox_api_auth"'
EXAMPLE_REQUEST = (FIXTURES / "example_request.xml").read_bytes()
EXAMPLE_CSV = (FIXTURES / "example.csv").read_bytes()
EXPECTED_REPORT = (FIXTURES / "example_report.xml").read_bytes()
PERMISSION_DENIED = (27168, "Your account is not permitted to run this action.")
TEST_SECRET = "test-secret-key-for-nonces"


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The shared settings, changed by `indirect` parametrisation where a test asks."""
    changes: dict[str, object] = getattr(request, "param", {})
    return replace(settings, **changes)  # type: ignore[arg-type]


@pytest.fixture
def http(live_server: str) -> Iterator[httpx2.Client]:
    """A client for the live server that ignores proxy settings (loopback traffic only)."""
    with httpx2.Client(base_url=live_server, trust_env=False, timeout=30) as client:
        yield client


# --- building requests -----------------------------------------------------------------


def md5(text: str) -> str:
    """Hex MD5 of `text`, as Digest computes it."""
    return hashlib.md5(text.encode()).hexdigest()


def digest(
    name: str,
    password: str,
    nonce: str,
    *,
    uri: str = "/xml",
    method: str = "POST",
    nc: str | None = "00000001",
    cnonce: str | None = None,
    realm: str = REALM,
) -> str:
    """An Authorization value: qop=auth when `nc` is given, else RFC 2069 (no qop)."""
    ha1 = md5(f"{name}:{realm}:{password}")
    ha2 = md5(f"{method}:{uri}")
    fields = f'username="{name}", realm="{realm}", nonce="{nonce}", uri="{uri}"'
    if nc is None:
        return f'Digest {fields}, response="{md5(f"{ha1}:{nonce}:{ha2}")}"'
    cnonce = cnonce or secrets.token_hex(8)
    response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    return (
        f'Digest {fields}, qop=auth, nc={nc}, cnonce="{cnonce}", '
        f'response="{response}", algorithm=MD5'
    )


def basic(name: str, password: str) -> str:
    """A Basic `Authorization` header for `name` and `password`."""
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


def post_example(http: httpx2.Client, authorization: str) -> httpx2.Response:
    """The documented example as a multipart form, with a ready-made Authorization header."""
    return http.post(
        "/xml",
        headers={"Authorization": authorization},
        data={"request": EXAMPLE_REQUEST.decode()},
        files={"csv_file": ("C:\\extensions.csv", EXAMPLE_CSV, "image/jpeg")},
    )


def post_envelope(http: httpx2.Client, authorization: str, path: str = "/xml") -> httpx2.Response:
    """A small request without a file: it gets past authentication and answers a fault."""
    body = request_xml(extension_type="sip", dupe_process=1, template_account_id=1)
    if path == "/json":
        body = (
            b'{"request": {"method": "switchvox.extensions.phones.bulk.upload",'
            b' "parameters": {"extension_type": "sip", "dupe_process": 1,'
            b' "template_account_id": 1}}}'
        )
    return http.post(path, headers={"Authorization": authorization}, content=body)


def assert_challenged(response: httpx2.Response, *, digest_enabled: bool = True) -> str:
    """A 401 with the documented challenge headers and an empty or XML body; the nonce."""
    assert response.status_code == 401, response.text
    headers = response.headers.get_list("www-authenticate")
    if response.content:
        etree.fromstring(response.content)
    if not digest_enabled:
        assert headers == [BASIC_CHALLENGE]
        return ""
    assert len(headers) == 2, headers
    match = DIGEST_CHALLENGE.fullmatch(headers[0])
    assert match is not None, headers[0]
    assert headers[1] == BASIC_CHALLENGE
    return match.group(1)


def fresh_nonce(http: httpx2.Client) -> str:
    """The nonce of the challenge that an unauthenticated request gets."""
    return assert_challenged(http.post("/xml"))


def report_of(response: httpx2.Response) -> bytes:
    """The canonical XML of a successful answer."""
    assert response.status_code == 200, response.text
    return canonical(response.content)


def fault_of(response: httpx2.Response) -> tuple[int, str]:
    """The single (code, message) of a fault answer."""
    assert response.status_code == 200, response.text
    return fault(etree.fromstring(response.content))


def curl_example(live_server: str, *auth: str) -> tuple[int, bytes]:
    """Post the example with curl's own multipart and auth code; (status, body)."""
    return curl(f"{live_server}/xml", *auth, *EXAMPLE_FORM)


# --- clients as they are ---------------------------------------------------------------


def test_curl_digest_gets_the_documented_report(live_server: str) -> None:
    """`curl --digest` answers the server's challenge and gets the documented report."""
    status, body = curl_example(live_server, "--digest")
    assert status == 200, body
    assert canonical(body) == canonical(EXPECTED_REPORT)


def test_curl_basic_gets_the_documented_report(live_server: str) -> None:
    """`curl --basic` sends its credentials up front and gets the documented report."""
    status, body = curl_example(live_server, "--basic")
    assert status == 200, body
    assert canonical(body) == canonical(EXPECTED_REPORT)


def test_basic_without_a_challenge_is_accepted(http: httpx2.Client) -> None:
    """Basic credentials on the very first request, never challenged, are enough."""
    response = post_example(http, basic("admin", ADMIN_PASSWORD))
    assert response.history == []
    assert report_of(response) == canonical(EXPECTED_REPORT)


def test_digest_qop_auth_reuses_one_nonce_with_any_nc(http: httpx2.Client) -> None:
    """One nonce from one 401 serves many qop=auth requests, on both endpoints, with a
    repeated and a decreasing nc."""
    nonce = fresh_nonce(http)
    first = post_example(http, digest("admin", ADMIN_PASSWORD, nonce, nc="00000001"))
    assert report_of(first) == canonical(EXPECTED_REPORT)
    for nc in ("00000001", "00000005", "00000002"):
        response = post_envelope(http, digest("admin", ADMIN_PASSWORD, nonce, nc=nc))
        assert response.status_code == 200, (nc, response.text)
    json_auth = digest("admin", ADMIN_PASSWORD, nonce, uri="/json", nc="00000001")
    assert post_envelope(http, json_auth, "/json").status_code == 200


def test_rfc2069_digest_reuses_one_nonce(http: httpx2.Client) -> None:
    """Digest without qop, nc or cnonce (the Ruby client) is accepted, one nonce many times."""
    nonce = fresh_nonce(http)
    first = post_example(http, digest("admin", ADMIN_PASSWORD, nonce, nc=None))
    assert report_of(first) == canonical(EXPECTED_REPORT)
    for _ in range(3):
        response = post_envelope(http, digest("admin", ADMIN_PASSWORD, nonce, nc=None))
        assert response.status_code == 200, response.text


def test_nonce_from_a_head_request_is_usable(http: httpx2.Client) -> None:
    """A client that reads the challenge from HEAD can answer it on a POST."""
    nonce = assert_challenged(http.head("/json"))
    assert post_envelope(http, digest("admin", ADMIN_PASSWORD, nonce)).status_code == 200


# --- challenges and refusals -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/xml", "/json"])
def test_head_without_credentials_is_challenged(http: httpx2.Client, path: str) -> None:
    """HEAD without credentials answers 401 with exactly the Digest and Basic challenges."""
    assert_challenged(http.head(path))


@pytest.mark.parametrize("path", ["/xml", "/json"])
def test_post_without_credentials_is_challenged(http: httpx2.Client, path: str) -> None:
    """POST without credentials answers 401 with the same two challenges."""
    assert_challenged(http.post(path, content=EXAMPLE_REQUEST))


@pytest.mark.parametrize("scheme", ["basic", "digest"])
@pytest.mark.parametrize(
    ("name", "password"),
    [("admin", "wrong password"), ("nobody", ADMIN_PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
def test_bad_credentials_are_challenged(
    http: httpx2.Client, scheme: str, name: str, password: str
) -> None:
    """A wrong password and an unknown name get the same 401 challenge over Basic and Digest."""
    if scheme == "basic":
        authorization = basic(name, password)
    else:
        authorization = digest(name, password, fresh_nonce(http))
    assert_challenged(post_example(http, authorization))


def test_forged_nonce_is_refused(http: httpx2.Client) -> None:
    """A well-formed nonce the server never signed fails, even with a right response."""
    made_up = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    assert_challenged(post_example(http, digest("admin", ADMIN_PASSWORD, made_up)))
    foreign = NonceAuthority(b"some other server's secret").issue()
    assert_challenged(post_example(http, digest("admin", ADMIN_PASSWORD, foreign)))


def test_tampered_response_is_refused(http: httpx2.Client) -> None:
    """Changing one digit of a correct Digest response makes it fail."""
    nonce = fresh_nonce(http)
    good = digest("admin", ADMIN_PASSWORD, nonce, nc=None)
    value = re.search(r'response="([0-9a-f]{32})"', good)
    assert value is not None
    digit = value.group(1)[0]
    changed = "0" if digit != "0" else "1"
    tampered = good.replace(f'response="{digit}', f'response="{changed}', 1)
    assert tampered != good
    assert_challenged(post_example(http, tampered))


def test_digest_for_another_realm_is_refused(http: httpx2.Client) -> None:
    """A response computed for another realm fails even with the right password."""
    nonce = fresh_nonce(http)
    assert_challenged(post_example(http, digest("admin", ADMIN_PASSWORD, nonce, realm="elsewhere")))


def test_digest_for_another_method_is_refused(http: httpx2.Client) -> None:
    """A response computed for GET does not authenticate a POST."""
    nonce = fresh_nonce(http)
    assert_challenged(post_example(http, digest("admin", ADMIN_PASSWORD, nonce, method="GET")))


def test_digest_for_another_uri_is_refused(http: httpx2.Client) -> None:
    """A Digest response made for /json does not authenticate a request to /xml."""
    nonce = fresh_nonce(http)
    assert_challenged(post_example(http, digest("admin", ADMIN_PASSWORD, nonce, uri="/json")))


# --- extension credentials -------------------------------------------------------------


def test_extension_credentials_authenticate_but_may_not_upload(http: httpx2.Client) -> None:
    """An extension's number and web password from an upload sign in over Basic and
    Digest, but the admin-only bulk upload answers fault 27168."""
    assert report_of(post_example(http, basic("admin", ADMIN_PASSWORD))) == canonical(
        EXPECTED_REPORT
    )
    assert fault_of(post_example(http, basic("302", "webpass302"))) == PERMISSION_DENIED
    nonce = fresh_nonce(http)
    assert fault_of(post_example(http, digest("302", "webpass302", nonce))) == (PERMISSION_DENIED)
    assert_challenged(post_example(http, basic("302", "webpass303")))


# --- Digest turned off -----------------------------------------------------------------

DIGEST_OFF = pytest.mark.parametrize(
    "settings",
    [{"digest_enabled": False, "secret_key": TEST_SECRET}],
    indirect=True,
    ids=["digest-off"],
)


@DIGEST_OFF
@pytest.mark.parametrize("path", ["/xml", "/json"])
def test_digest_off_challenges_with_basic_only(http: httpx2.Client, path: str) -> None:
    """With SWITCHVOX_DIGEST off, the 401 carries only the Basic challenge."""
    assert_challenged(http.head(path), digest_enabled=False)
    assert_challenged(http.post(path), digest_enabled=False)


@DIGEST_OFF
def test_digest_off_refuses_digest_and_accepts_basic(http: httpx2.Client) -> None:
    """With SWITCHVOX_DIGEST off, a correct Digest response on a validly signed nonce fails
    and Basic still works."""
    nonce = NonceAuthority(TEST_SECRET.encode()).issue()
    for nc in ("00000001", None):
        response = post_example(http, digest("admin", ADMIN_PASSWORD, nonce, nc=nc))
        assert_challenged(response, digest_enabled=False)
    assert report_of(post_example(http, basic("admin", ADMIN_PASSWORD))) == canonical(
        EXPECTED_REPORT
    )


@DIGEST_OFF
def test_digest_off_curl_basic_still_works(live_server: str) -> None:
    """With SWITCHVOX_DIGEST off, `curl --basic` still gets the documented report."""
    status, body = curl_example(live_server, "--basic")
    assert status == 200, body
    assert canonical(body) == canonical(EXPECTED_REPORT)


@pytest.mark.parametrize(
    "settings", [{"secret_key": TEST_SECRET}], indirect=True, ids=["shared-secret"]
)
def test_nonce_issued_by_another_process_is_accepted(http: httpx2.Client) -> None:
    """A nonce signed elsewhere with the configured SWITCHVOX_SECRET_KEY is accepted, so
    several workers can share one address."""
    nonce = NonceAuthority(TEST_SECRET.encode()).issue()
    for nc in ("00000001", None):
        response = post_example(http, digest("admin", ADMIN_PASSWORD, nonce, nc=nc))
        assert response.status_code == 200, response.text
