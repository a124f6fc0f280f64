"""Repeated login failures are slowed down; the first few are not."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from switchvox_server.http.throttle import FailureThrottle
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import FakeClock, request_xml


def test_delays_start_after_the_free_failures_and_double() -> None:
    """Past the free failures each failure waits twice as long, up to the ceiling."""
    throttle = FailureThrottle(free=2, first_delay=1.0, ceiling=4.0, clock=FakeClock())
    delays = [throttle.failed("10.0.0.1", None) for _ in range(6)]
    assert delays == [0.0, 0.0, 1.0, 2.0, 4.0, 4.0]


def test_a_long_run_of_failures_stays_at_the_ceiling() -> None:
    """Ten thousand failures in a row still answer the ceiling (the doubling cannot overflow)."""
    throttle = FailureThrottle(clock=FakeClock())
    delays = {throttle.failed("10.0.0.1", "admin") for _ in range(10_000)}
    assert max(delays) == 30.0


def test_an_address_is_held_back_for_the_delay_of_its_last_failure() -> None:
    """While its last failure's delay runs, an address is held back; then it may try again."""
    clock = FakeClock()
    throttle = FailureThrottle(free=1, first_delay=2.0, clock=clock)
    throttle.failed("a", "admin")
    assert throttle.held_back("a") == 0.0
    assert throttle.failed("a", "admin") == 2.0
    assert throttle.held_back("a") == 2.0
    clock.now = 1.5
    assert throttle.held_back("a") == 0.5
    assert throttle.held_back("b") == 0.0
    clock.now = 2.0
    assert throttle.held_back("a") == 0.0


def test_clients_are_counted_apart() -> None:
    """One address's failures neither slow nor hold back another."""
    throttle = FailureThrottle(free=1, clock=FakeClock())
    throttle.failed("a", None)
    assert throttle.failed("a", None) > 0
    assert throttle.failed("b", None) == 0.0
    assert throttle.held_back("b") == 0.0


def test_an_account_is_counted_across_addresses_but_holds_no_one_back() -> None:
    """Guesses at one account from many addresses delay the account's failures, yet a new
    address is never held back for it (its owner can still sign in)."""
    throttle = FailureThrottle(free=3, first_delay=1.0, clock=FakeClock())
    delays = [throttle.failed(f"10.0.0.{n}", "admin") for n in range(6)]
    assert delays == [0.0, 0.0, 0.0, 1.0, 2.0, 4.0]
    assert throttle.held_back("10.0.1.1") == 0.0
    assert throttle.failed("10.0.1.1", "someone else") == 0.0


def test_a_success_clears_only_its_own_account() -> None:
    """An extension signing in from the address attacking the admin clears neither the
    admin's count nor the address's failures against the admin."""
    throttle = FailureThrottle(free=2, first_delay=1.0, ceiling=64.0, clock=FakeClock())
    for _ in range(4):
        throttle.failed("10.0.0.1", "admin")
    throttle.failed("10.0.0.1", "201")
    throttle.succeeded("10.0.0.1", "201")
    assert throttle.failed("10.0.0.1", "admin") == 4.0
    assert throttle.failed("10.0.0.2", "admin") == 8.0


def test_a_success_clears_its_accounts_failures_from_the_address() -> None:
    """A user who mistyped and then signs in is no longer slowed, for that account or from
    that address, while the failures the address made against others still count."""
    throttle = FailureThrottle(free=1, first_delay=1.0, clock=FakeClock())
    throttle.failed("10.0.0.1", "admin")
    throttle.failed("10.0.0.1", "admin")
    throttle.succeeded("10.0.0.1", "admin")
    assert throttle.failed("10.0.0.1", "admin") == 0.0
    throttle.failed("10.0.0.1", "other")
    throttle.succeeded("10.0.0.1", "admin")
    assert throttle.failed("10.0.0.1", "admin") > 0


def test_names_past_the_per_address_limit_are_never_cleared() -> None:
    """An address that cycles names counts them all, and the failures beyond its few named
    buckets cannot be cleared by any success."""
    throttle = FailureThrottle(free=3, first_delay=1.0, names_per_address=2, clock=FakeClock())
    for name in ("x1", "x2", "admin", "admin"):
        throttle.failed("10.0.0.1", name)
    throttle.succeeded("10.0.0.1", "admin")
    throttle.succeeded("10.0.0.1", "x1")
    # x2 and the two failures against the admin beyond the buckets remain: this is the 4th.
    assert throttle.failed("10.0.0.1", "x3") == 1.0


def test_time_forgets_failures() -> None:
    """Counts are forgotten after a quiet window, for addresses and accounts alike."""
    clock = FakeClock()
    throttle = FailureThrottle(free=1, window=60.0, clock=clock)
    throttle.failed("a", "admin")
    clock.now = 61.0
    assert throttle.failed("b", "admin") == 0.0
    clock.now = 122.0
    assert throttle.failed("b", "other") == 0.0


def test_records_are_bounded() -> None:
    """An attacker cycling addresses and names leaves at most `capacity` of each, and at most
    `names_per_address` names per address."""
    throttle = FailureThrottle(capacity=100, names_per_address=3, clock=FakeClock())
    for n in range(20_000):
        throttle.failed(f"10.{n % 7}.{n // 256 % 256}.{n % 256}", f"name-{n}")
    assert len(throttle._addresses) == 100
    assert len(throttle._accounts) == 100
    assert all(len(record.by_account) <= 3 for record in throttle._addresses.values())


def test_unknown_user_and_wrong_password_get_the_same_answer(client: TestClient) -> None:
    """An unknown user and a wrong password are indistinguishable: same status and headers."""
    unknown = client.post("/xml", content=request_xml("x"), auth=("nobody", "whatever"))
    wrong = client.post("/xml", content=request_xml("x"), auth=("admin", "whatever"))
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.content == wrong.content == b""
    strip = lambda values: [v.split("nonce=")[0] for v in values]  # noqa: E731
    assert strip(unknown.headers.get_list("www-authenticate")) == strip(
        wrong.headers.get_list("www-authenticate")
    )


def test_secrets_never_reach_the_log(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """The access log names the method and counts, never a password or a cell of the file."""
    caplog.set_level(logging.INFO, logger="switchvox_server")
    csv = "ext,fname,lname,email,password,phone_password\n401,Ann,Lee,a@test.com,Sekrit99,Sip4pw\n"
    envelope = request_xml(extension_type="sip", dupe_process=1, template_account_id=1)
    client.post("/xml", data={"request": envelope.decode()}, files={"csv_file": ("a.csv", csv)})
    client.post("/xml", content=envelope, auth=("admin", "Wr0ngPass"))
    lines = [record.getMessage() for record in caplog.records]
    assert any("method=switchvox.extensions.phones.bulk.upload" in line for line in lines)
    assert any("created=1" in line for line in lines)
    text = "\n".join(lines)
    for secret in ("Sekrit99", "Sip4pw", ADMIN_PASSWORD, "Wr0ngPass", "Ann"):
        assert secret not in text
