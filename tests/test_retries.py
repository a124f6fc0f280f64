"""Idempotency-Key on writing requests (docs/history.md): applied once, answered again byte
for byte, refused for another request, waited for while running."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from switchvox_server.faults import FAULTS
from switchvox_server.http import retries
from switchvox_server.store.database import open_database
from switchvox_server.store.models import AccessLevel
from switchvox_server.store.retries import claim
from tests.helpers import request_xml, sign_in_as_new_admin, stored_extensions
from tests.test_history import HEADER, ROWS, history_rows

KEY = "upload-2026-12-01-a"


def post(
    client: TestClient,
    csv: str,
    key: str | None = KEY,
    path: str = "/xml",
    **parameters: object,
) -> httpx2.Response:
    """Post an upload of `csv` with an idempotency key unless `key` is None."""
    values: dict[str, object] = {"extension_type": "sip", "dupe_process": 1}
    values["template_account_id"] = 1
    values.update(parameters)
    headers = {} if key is None else {retries.HEADER: key}
    return client.post(
        path,
        data={"request": request_xml(**values).decode()},
        files={"csv_file": ("x.csv", csv.encode(), "text/csv")},
        headers=headers,
    )


def fault_code(response: httpx2.Response) -> int:
    """The code of the first error of a fault answer."""
    assert b"<errors>" in response.content, response.content
    return int(response.content.split(b'code="')[1].split(b'"')[0])


def test_a_replay_gets_the_first_answer_and_applies_nothing(
    client: TestClient, database_url: str
) -> None:
    """The same upload again with the same key (a new multipart body) answers the first
    answer byte for byte; a change made in between stays: nothing was applied twice."""
    first = post(client, HEADER + ROWS)
    post(client, "ext,lname\n301,Between\n", key=None, dupe_process=3)
    again = post(client, HEADER + ROWS, dupe_process=1)
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert stored_extensions(database_url)["301"]["last_name"] == "Between"
    assert history_rows(database_url) == 2


def test_the_plan_header_is_answered_again(client: TestClient) -> None:
    """A replayed report_only answer carries its Switchvox-Plan header again."""
    first = post(client, HEADER + ROWS, report_only=1)
    again = post(client, HEADER + ROWS, report_only=1)
    assert first.headers["switchvox-plan"] == again.headers["switchvox-plan"]
    assert again.content == first.content


@pytest.mark.parametrize(
    ("csv", "changes"),
    [
        (HEADER + ROWS + "303,Cy,Li,cy@x.org,web303pw,sip303x\n", {}),
        (HEADER + ROWS, {"dupe_process": 2}),
        (HEADER + ROWS, {"path": "/json"}),
    ],
)
def test_the_same_key_with_another_request_is_refused(
    client: TestClient, database_url: str, csv: str, changes: dict[str, Any]
) -> None:
    """Another file, other parameters or the other envelope under a used key is a fault,
    and nothing of it is applied."""
    post(client, HEADER + ROWS)
    path = str(changes.pop("path", "/xml"))
    if path == "/json":
        response = client.post(
            "/json",
            data={
                "request": '{"request": {"method": "switchvox.extensions.phones.bulk.upload"'
                ', "parameters": {"extension_type": "sip", "dupe_process": 1,'
                ' "template_account_id": 1}}}'
            },
            files={"csv_file": ("x.csv", csv.encode(), "text/csv")},
            headers={retries.HEADER: KEY},
        )
        assert str(FAULTS.REUSED_IDEMPOTENCY_KEY.code).encode() in response.content
    else:
        assert fault_code(post(client, csv, **changes)) == FAULTS.REUSED_IDEMPOTENCY_KEY.code
    assert sorted(stored_extensions(database_url)) == ["301", "302"]
    assert history_rows(database_url) == 1


def test_another_caller_with_the_same_key_is_another_request(client: TestClient) -> None:
    """The caller is part of the request: the same upload by another admin is refused."""
    post(client, HEADER + ROWS)
    sign_in_as_new_admin(client, "second", AccessLevel.FULL)
    assert fault_code(post(client, HEADER + ROWS)) == FAULTS.REUSED_IDEMPOTENCY_KEY.code


def test_a_fault_releases_the_key(client: TestClient, database_url: str) -> None:
    """A request answered with a fault wrote nothing; its key is free for the retry."""
    assert fault_code(post(client, HEADER + ROWS, template_account_id=9)) == 86173
    assert b"<created>" in post(client, HEADER + ROWS).content
    assert sorted(stored_extensions(database_url)) == ["301", "302"]


@pytest.mark.slow
def test_a_key_whose_first_request_runs_is_waited_for_then_refused(
    client: TestClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another process runs the first request, a repeat waits, then gets a fault;
    it never applies the upload itself."""
    monkeypatch.setattr(retries, "WAIT_SECONDS", 0.5)
    digest = "running elsewhere"
    database = open_database(database_url)
    with database.sessions.begin() as session:
        claim(session, KEY, digest, datetime.now(UTC).replace(tzinfo=None))
    database.dispose()
    monkeypatch.setattr(retries, "request_digest", lambda *_: digest)
    assert fault_code(post(client, HEADER + ROWS)) == FAULTS.RUNNING_IDEMPOTENCY_KEY.code
    assert stored_extensions(database_url) == {}


def test_keys_are_forgotten_after_a_day(client: TestClient, database_url: str) -> None:
    """A key used more than KEEP_HOURS ago may be used for a new request."""
    database = open_database(database_url)
    with database.sessions.begin() as session:
        claim(
            session,
            KEY,
            "old",
            datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=retries.KEEP_HOURS, minutes=5),
        )
    database.dispose()
    assert b"<created>" in post(client, HEADER + ROWS).content


def test_keys_seen_by_another_server_process_are_answered_here(
    client: TestClient, make_client: Callable[..., TestClient]
) -> None:
    """Keys live in the database: another server on it answers the stored answer."""
    first = post(client, HEADER + ROWS)
    other = make_client()
    assert post(other, HEADER + ROWS).content == first.content


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tin"])
def test_unusable_keys_are_refused(client: TestClient, database_url: str, key: str) -> None:
    """Empty, overlong or non-printable keys are a fault; nothing is applied."""
    assert fault_code(post(client, HEADER + ROWS, key=key)) == FAULTS.INVALID_IDEMPOTENCY_KEY.code
    assert stored_extensions(database_url) == {}
