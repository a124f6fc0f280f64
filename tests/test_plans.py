"""Plans (docs/history.md): a report_only answer's Switchvox-Plan header binds the apply
to what the report saw."""

from __future__ import annotations

import pytest
from lxml import etree
from starlette.testclient import TestClient

from switchvox_server.faults import FAULTS
from tests.helpers import canonical, fault, request_xml, section, stored_extensions
from tests.test_history import HEADER, ROWS, history_rows

PLAN = "Switchvox-Plan"
UPDATE = "ext,lname\n301,Newer\n302,Newest\n"


def post(client: TestClient, csv: str, **parameters: object) -> tuple[etree._Element, str | None]:
    """An upload (update by default); its parsed answer and its Switchvox-Plan header."""
    values: dict[str, object] = {"extension_type": "sip", "dupe_process": 3}
    values.update(template_account_id=1, **parameters)
    response = client.post(
        "/xml",
        data={"request": request_xml(**values).decode()},
        files={"csv_file": ("x.csv", csv.encode(), "text/csv")},
    )
    assert response.status_code == 200
    return etree.fromstring(response.content), response.headers.get(PLAN)


@pytest.fixture
def seeded(client: TestClient) -> TestClient:
    """Two extensions to plan updates of."""
    post(client, HEADER + ROWS, dupe_process=1)
    return client


def test_a_fresh_plan_applies_with_the_report_it_promised(
    seeded: TestClient, database_url: str
) -> None:
    """report_only answers a bounded plan token; the same upload with it applies and
    reports exactly what the evaluation reported."""
    evaluation, token = post(seeded, UPDATE, report_only=1)
    assert token is not None
    assert len(token) <= 96
    applied, again = post(seeded, UPDATE, plan=token)
    assert again is None
    assert canonical(applied) == canonical(evaluation)
    assert stored_extensions(database_url)["302"]["last_name"] == "Newest"


def test_a_plan_whose_extension_changed_is_refused_with_nothing_written(
    seeded: TestClient, database_url: str
) -> None:
    """A change to an extension the plan touches makes the apply the stale-plan fault, and
    nothing of it is written or recorded."""
    _, token = post(seeded, UPDATE, report_only=1)
    post(seeded, "ext,title\n302,Boss\n")
    before, recorded = stored_extensions(database_url), history_rows(database_url)
    answer, _ = post(seeded, UPDATE, plan=token)
    assert fault(answer) == (FAULTS.STALE_PLAN.code, FAULTS.STALE_PLAN.template)
    assert stored_extensions(database_url) == before
    assert history_rows(database_url) == recorded


@pytest.mark.parametrize(
    ("csv", "changes"),
    [
        (UPDATE + "303,Extra\n", {}),
        (UPDATE, {"dupe_process": 2}),
        (UPDATE, {"extension_type": "virtual"}),
    ],
)
def test_a_plan_for_another_file_or_other_options_is_refused(
    seeded: TestClient, database_url: str, csv: str, changes: dict[str, object]
) -> None:
    """Another file, another dupe process or another type do not match the plan."""
    _, token = post(seeded, UPDATE, report_only=1)
    before = stored_extensions(database_url)
    answer, _ = post(seeded, csv, plan=token, **changes)
    assert fault(answer)[0] == FAULTS.STALE_PLAN.code
    assert stored_extensions(database_url) == before


def test_a_new_extension_in_the_plan_taken_meanwhile_is_refused(
    client: TestClient, database_url: str
) -> None:
    """A plan to create an extension that someone else created meanwhile is stale."""
    _, token = post(client, HEADER + ROWS, dupe_process=1, report_only=1)
    post(client, HEADER + ROWS.splitlines()[0] + "\n", dupe_process=1)
    answer, _ = post(client, HEADER + ROWS, dupe_process=1, plan=token)
    assert fault(answer)[0] == FAULTS.STALE_PLAN.code
    assert sorted(stored_extensions(database_url)) == ["301"]


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        "p1.AAAA.AAAA",
        "p1." + "A" * 43 + "." + "A" * 22,
        "p1." + "é" * 43 + "." + "A" * 22,
        "x" * 10_000,
    ],
)
def test_tokens_this_server_did_not_make_are_refused(
    seeded: TestClient, database_url: str, token: str
) -> None:
    """Garbled, forged and oversized tokens are the invalid-plan fault; nothing written."""
    before = stored_extensions(database_url)
    answer, _ = post(seeded, UPDATE, plan=token)
    assert fault(answer) == (FAULTS.INVALID_PLAN.code, FAULTS.INVALID_PLAN.template)
    assert stored_extensions(database_url) == before


def test_a_plan_made_with_another_secret_is_refused(
    make_client: object, seeded: TestClient
) -> None:
    """A token is an HMAC under the server secret: another server's token is invalid here."""
    _, token = post(seeded, UPDATE, report_only=1)
    other = make_client(secret_key="another secret")  # type: ignore[operator]
    answer, _ = post(other, UPDATE, plan=token)
    assert fault(answer)[0] == FAULTS.INVALID_PLAN.code


def test_without_a_plan_an_upload_answers_no_plan_header(seeded: TestClient) -> None:
    """Only report_only answers carry the header; a plain upload behaves as documented."""
    answer, token = post(seeded, UPDATE)
    assert token is None
    assert section(answer, "updated") == ["301", "302"]
