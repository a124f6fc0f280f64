"""Failed logins: the same time whatever they name, no slow hash for a wrong password, the
throttle's say before anything is checked, and the client address it counts."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import random
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx2
import pytest
from starlette.testclient import TestClient

from switchvox_server.http import signin
from switchvox_server.http.auth import Attempt, Authenticator
from switchvox_server.http.clients import client_address
from switchvox_server.settings import Settings
from switchvox_server.testing import serve_app
from tests.conftest import ADMIN_PASSWORD, FIXTURES
from tests.helpers import request_xml, slow_hash_calls

REALM = "switchvox_api_auth"
ENVELOPE = request_xml("switchvox.extensions.getInfo")
EXTENSION, EXTENSION_PASSWORD = "302", "webpass302"  # from the example upload


def basic(name: str, password: str) -> str:
    """A Basic `Authorization` header for `name` and `password`."""
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


def md5(text: str) -> str:
    """Hex MD5 of `text`, as Digest computes it."""
    return hashlib.md5(text.encode()).hexdigest()


def digest(name: str, password: str, nonce: str) -> str:
    """A Digest `Authorization` header answering `nonce` for POST /xml."""
    ha1 = md5(f"{name}:{REALM}:{password}")
    response = md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{md5('POST:/xml')}")
    return (
        f'Digest username="{name}", realm="{REALM}", nonce="{nonce}", uri="/xml", qop=auth,'
        f' nc=00000001, cnonce="c0ffee", response="{response}"'
    )


def upload_example(client: TestClient) -> None:
    """Store the method page's example, which creates extension 302 with its web password."""
    response = client.post(
        "/xml",
        data={"request": (FIXTURES / "example_request.xml").read_text()},
        files={"csv_file": ("example.csv", (FIXTURES / "example.csv").read_bytes())},
    )
    assert b"<created>" in response.content, response.text


# --- the same time for every wrong password ----------------------------------------------

ROUNDS = 150


@pytest.mark.parametrize("scheme", ["basic", "digest"])
def test_a_wrong_password_takes_the_same_time_whatever_it_names(
    client: TestClient, authenticator: Authenticator, scheme: str
) -> None:
    """Wrong passwords for an existing admin, an existing extension and names that exist
    nowhere (digits and letters) take the same time, within a generous margin: the fastest
    tenth of interleaved rounds differs by less than a factor of 2 (a slow hash for any one of
    them would make it 40 or more)."""
    upload_example(client)
    nonce = authenticator.nonces.issue()
    headers = {
        name: basic(name, "not the password")
        if scheme == "basic"
        else digest(name, "not the password", nonce)
        for name in ("admin", EXTENSION, "909", "nobody")
    }
    timings: dict[str, list[float]] = {name: [] for name in headers}
    order = list(headers)
    for _ in range(ROUNDS):
        random.shuffle(order)
        for name in order:
            started = time.perf_counter()
            attempt = authenticator.check("POST", "/xml", headers[name])
            timings[name].append(time.perf_counter() - started)
            assert attempt.account == name
    # The fastest tenth: what the work costs, with little of the machine's other load in it.
    typical = {name: statistics.quantiles(values, n=10)[0] for name, values in timings.items()}
    assert max(typical.values()) < 2 * min(typical.values()), typical


@pytest.mark.slow
def test_a_wrong_password_never_costs_a_slow_hash(
    unthrottled: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wrong Basic passwords for the admin, an extension or nobody never run scrypt; the
    right admin password runs it once, then never again."""
    hashed = slow_hash_calls(monkeypatch)
    for name in ("admin", EXTENSION, "nobody") * 10:
        assert post_timed(unthrottled, basic(name, "wrong"))[0] == 401
    assert hashed == []
    upload_example(unthrottled)
    for name in ("admin", EXTENSION, "nobody") * 10:
        assert post_timed(unthrottled, basic(name, "wrong"))[0] == 401
    for _ in range(3):
        assert unthrottled.post("/xml", content=ENVELOPE).status_code == 200
    assert hashed == [ADMIN_PASSWORD]


# --- the throttle over HTTP ----------------------------------------------------------------


def post_timed(client: TestClient | httpx2.Client, header: str) -> tuple[int, float]:
    """Post the envelope with `header`; the status and the seconds it took."""
    started = time.perf_counter()
    # auth=None: no credentials of the client's own, only the header given.
    response = client.post(
        "/xml",
        content=ENVELOPE,
        headers={"authorization": header},
        auth=None,  # type: ignore[arg-type]
    )
    return response.status_code, time.perf_counter() - started


@pytest.mark.slow
def test_an_extensions_own_login_does_not_reset_the_throttle_on_the_admin(
    client: TestClient,
) -> None:
    """After the free failures against the admin, an extension signing in from the same
    address does not reset the count: the next failure against the admin waits longer."""
    upload_example(client)
    wrong = basic("admin", "guess")
    for _ in range(5):
        assert post_timed(client, wrong)[0] == 401
    status, sixth = post_timed(client, wrong)
    assert status == 401
    assert sixth >= 0.24
    assert post_timed(client, basic(EXTENSION, EXTENSION_PASSWORD))[0] == 200
    status, seventh = post_timed(client, wrong)
    assert status == 401
    assert seventh >= 0.49


def test_the_admins_own_login_clears_its_count(client: TestClient) -> None:
    """A user who mistyped past the free failures and then signs in is not slowed next time."""
    wrong = basic("admin", "typo")
    for _ in range(6):
        post_timed(client, wrong)
    assert post_timed(client, basic("admin", ADMIN_PASSWORD))[0] == 200
    status, elapsed = post_timed(client, wrong)
    assert status == 401
    assert elapsed < 0.2


@pytest.fixture
def trusting_server(settings: Settings) -> Iterator[str]:
    """A live server that trusts 127.0.0.1 as a proxy, so X-Forwarded-For names clients."""
    trusting = replace(settings, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    with serve_app(trusting) as url:
        yield url


def client_from(url: str, address: str) -> httpx2.Client:
    """A client that its (trusted) proxy says comes from `address`."""
    return httpx2.Client(
        base_url=url, trust_env=False, timeout=30, headers={"x-forwarded-for": address}
    )


@pytest.mark.slow
def test_attempts_made_while_held_back_are_refused_unchecked(trusting_server: str) -> None:
    """While an address serves the delay of its last failure, even the right password from
    it is refused unchecked, another address is not, and once the delay is over the right
    password passes again."""
    guess, right = ("admin", "guess"), ("admin", ADMIN_PASSWORD)
    with (
        client_from(trusting_server, "203.0.113.7") as attacker,
        client_from(trusting_server, "203.0.113.7") as accomplice,
        client_from(trusting_server, "198.51.100.1") as admin,
    ):
        for _ in range(6):
            assert attacker.post("/xml", auth=guess).status_code == 401
        # The 7th failure is answered after 0.5 s and holds its address back meanwhile.
        seventh = threading.Thread(target=lambda: attacker.post("/xml", auth=guess))
        seventh.start()
        time.sleep(0.15)
        assert accomplice.post("/xml", content=ENVELOPE, auth=right).status_code == 401
        assert admin.post("/xml", content=ENVELOPE, auth=right).status_code == 200
        seventh.join(30)
        assert accomplice.post("/xml", content=ENVELOPE, auth=right).status_code == 200


@pytest.mark.slow
def test_credentials_that_signed_in_before_skip_the_queue_of_new_ones(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every slot for checking new credentials taken by checks that hang, credentials
    that signed in before are still checked and answered at once, while new ones wait."""
    release = threading.Event()
    real_check = Authenticator.check

    def check(self: Authenticator, method: str, target: str, authorization: str) -> Attempt:
        if authorization == basic("admin", "hangs"):
            release.wait(30)
        return real_check(self, method, target, authorization)

    monkeypatch.setattr(Authenticator, "check", check)
    with (
        serve_app(settings) as url,
        httpx2.Client(base_url=url, trust_env=False, timeout=30) as http,
        ThreadPoolExecutor(signin.NEW_CREDENTIAL_CHECKS) as pool,
    ):
        right = ("admin", ADMIN_PASSWORD)
        assert http.post("/xml", content=ENVELOPE, auth=right).status_code == 200
        hanging = [
            pool.submit(httpx2.post, f"{url}/xml", auth=("admin", "hangs"), timeout=30)
            for _ in range(signin.NEW_CREDENTIAL_CHECKS)
        ]
        time.sleep(0.3)
        try:
            assert http.post("/xml", content=ENVELOPE, auth=right, timeout=5).status_code == 200
            with pytest.raises(httpx2.ReadTimeout):
                http.post("/xml", content=ENVELOPE, auth=("admin", "new guess"), timeout=0.5)
        finally:
            release.set()
        assert [future.result().status_code for future in hanging] == [401] * len(hanging)


# --- the client address ------------------------------------------------------------------

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("192.0.2.1", ["203.0.113.9"], "192.0.2.1"),
        ("10.0.0.5", [], "10.0.0.5"),
        ("10.0.0.5", ["203.0.113.9"], "203.0.113.9"),
        ("10.0.0.5", ["198.51.100.1, 203.0.113.9, 10.1.1.1"], "203.0.113.9"),
        ("10.0.0.5", ["198.51.100.1", "203.0.113.9"], "203.0.113.9"),
        ("10.0.0.5", ["10.2.2.2, 10.1.1.1"], "10.2.2.2"),
        ("::1", ["[2001:db8::1]:4711"], "2001:db8::1"),
        ("::ffff:10.0.0.5", ["203.0.113.9:80"], "203.0.113.9"),
        ("10.0.0.5", ["forged-by-client, 10.1.1.1"], "forged-by-client"),
        ("10.0.0.5", ["x" * 500], "x" * 64),
        ("10.0.0.5", [""], "10.0.0.5"),
        (None, ["203.0.113.9"], "unknown"),
    ],
)
def test_the_client_is_the_right_most_address_no_trusted_proxy_vouches_beyond(
    peer: str | None, forwarded: list[str], client: str
) -> None:
    """X-Forwarded-For counts only from a trusted peer, read from the right past the trusted
    hops; an IPv4-mapped peer is its IPv4 address."""
    assert client_address(peer, forwarded, PROXIES) == client


def test_without_trusted_proxies_the_forwarded_header_is_ignored() -> None:
    """With no trusted proxies a client cannot choose its address by sending the header."""
    assert client_address("127.0.0.1", ["203.0.113.9"], ()) == "127.0.0.1"
