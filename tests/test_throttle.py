"""Repeated login failures are slowed down; the first few are not."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from switchvox_server.http.throttle import FailureThrottle
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import request_xml


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_delays_start_after_the_free_failures_and_double() -> None:
    """Past the free failures each failure waits twice as long, up to the ceiling."""
    throttle = FailureThrottle(free=2, first_delay=1.0, ceiling=4.0, clock=FakeClock())
    delays = [throttle.failed("10.0.0.1") for _ in range(6)]
    assert delays == [0.0, 0.0, 1.0, 2.0, 4.0, 4.0]


def test_clients_are_counted_apart() -> None:
    """One client's failures do not slow another."""
    throttle = FailureThrottle(free=1, clock=FakeClock())
    throttle.failed("a")
    assert throttle.failed("a") > 0
    assert throttle.failed("b") == 0.0


def test_success_and_time_forget_failures() -> None:
    """A success clears the record, and so does a quiet window."""
    clock = FakeClock()
    throttle = FailureThrottle(free=1, window=60.0, clock=clock)
    throttle.failed("a")
    throttle.succeeded("a")
    assert throttle.failed("a") == 0.0
    clock.now = 61.0
    assert throttle.failed("a") == 0.0


def test_records_are_bounded() -> None:
    """The throttle forgets the oldest clients past its capacity."""
    throttle = FailureThrottle(capacity=3, clock=FakeClock())
    for client in "abcde":
        throttle.failed(client)
    assert len(throttle._records) == 3


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
