"""Defects a hostile review found across the control API, the import history and the command
line: each test states the behaviour the contract asks for."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from switchvox_server.cli import main

TOKEN = "review-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
UPLOAD = "switchvox.extensions.phones.bulk.upload"
HEADER = "ext,fname,lname,email,password,phone_password,voicemail_password"


def _control(make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client(control_token=TOKEN)
    client.auth = None  # type: ignore[assignment]  # the bearer header, not Basic
    client.headers.update(BEARER)
    return client


def _upload(
    client: TestClient, csv: str, *, dupe: int = 1, extra: str = "", key: str | None = None
) -> str:
    request = (
        f'<request method="{UPLOAD}"><parameters extension_type="sip" dupe_process="{dupe}"'
        f' template_account_id="1">{extra}</parameters></request>'
    )
    headers = {} if key is None else {"Idempotency-Key": key}
    response = client.post(
        "/xml",
        auth=("admin", "admin-secret"),
        data={"request": request},
        files={"csv_file": ("a.csv", csv)},
        headers=headers,
    )
    assert response.status_code == 200
    return response.text


def _get_info(client: TestClient, number: str) -> str:
    body = (
        '<request method="switchvox.extensions.getInfo"><parameters><extensions>'
        f"<extension>{number}</extension></extensions></parameters></request>"
    )
    return client.post("/xml", auth=("admin", "admin-secret"), content=body).text


@pytest.mark.parametrize("fault_id", ["9223372036854775808", "2147483648"])
def test_removing_an_injected_fault_with_a_huge_id_is_not_a_500(
    make_client: Callable[..., TestClient], fault_id: str
) -> None:
    """DELETE /_switchvox/faults/{id} with an id beyond the column answers 404, not 500."""
    client = _control(make_client)
    response = client.delete(f"/_switchvox/faults/{fault_id}")
    assert response.status_code == 404


@pytest.mark.parametrize(("since", "status"), [("2147483647", 200), ("2147483648", 400)])
def test_journal_since_is_bounded_by_the_id_column(
    make_client: Callable[..., TestClient], since: str, status: int
) -> None:
    """?since= takes ids up to the column's maximum (2**31 - 1, PostgreSQL's integer) and
    refuses anything past it with 400, never a 500."""
    client = _control(make_client)
    response = client.get("/_switchvox/journal", params={"since": since})
    assert response.status_code == status


def test_journal_method_filter_with_nul_is_not_a_500(
    make_client: Callable[..., TestClient],
) -> None:
    """A NUL in ?method= finds nothing (or is refused with 400), never a 500 (PostgreSQL)."""
    client = _control(make_client)
    response = client.get("/_switchvox/journal", params={"method": "a\x00b"})
    assert response.status_code in (200, 400)


def test_reset_forgets_idempotency_answers(make_client: Callable[..., TestClient]) -> None:
    """After POST /_switchvox/reset a replayed key must not claim a write the store lost."""
    client = _control(make_client)
    csv = f"{HEADER}\n501,A,B,a@b.c,webpw12,phonepw1,1234\n"
    first = _upload(client, csv, key="K1")
    assert 'extension="501"' in first
    assert client.post("/_switchvox/reset").status_code == 200
    replay = _upload(client, csv, key="K1")
    claims_created = '<created><extension extension="501"' in replay
    assert not (claims_created and 'number="501"' not in _get_info(client, "501"))


def test_reset_forgets_the_import_history(make_client: Callable[..., TestClient]) -> None:
    """After a reset, undo of an import made before it must not report removals that never
    happened (the history describes a store that is gone)."""
    client = _control(make_client)
    _upload(client, f"{HEADER}\n501,A,B,a@b.c,webpw12,phonepw1,1234\n")
    client.post("/_switchvox/reset")
    body = (
        '<request method="switchvox_server.imports.undo"><parameters>'
        "<import_id>1</import_id></parameters></request>"
    )
    answer = client.post("/xml", auth=("admin", "admin-secret"), content=body).text
    assert 'removed="1"' not in answer


@pytest.mark.usefixtures("cli_environment")
def test_reset_brings_back_the_default_template(
    make_client: Callable[..., TestClient],
) -> None:
    """Template 1 `Default` removed with `templates remove 1` is back after a reset (§7, §11)."""
    client = _control(make_client)
    assert main(["templates", "remove", "1"]) == 0
    client.post("/_switchvox/reset")
    answer = _upload(client, f"{HEADER}\n501,A,B,a@b.c,webpw12,phonepw1,1234\n")
    assert "86173" not in answer


@pytest.mark.parametrize("plan", ["", " "])
def test_an_empty_plan_is_refused_not_ignored(
    make_client: Callable[..., TestClient], plan: str
) -> None:
    """A `plan` parameter that is given but empty is an invalid plan, not an unchecked apply."""
    client = _control(make_client)
    answer = _upload(
        client, f"{HEADER}\n501,A,B,a@b.c,webpw12,phonepw1,1234\n", extra=f"<plan>{plan}</plan>"
    )
    assert "<created><extension" not in answer


def test_undo_that_would_clash_on_a_mac_is_not_an_internal_error(
    make_client: Callable[..., TestClient],
) -> None:
    """Undo restoring a MAC address another extension now holds is refused with 10032, naming
    that extension and the address (not 10008 `The server could not complete the request.`)."""
    client = _control(make_client)
    mac_header = HEADER + ",digium_phone_mac_address"
    _upload(client, f"{mac_header}\n901,A,B,a@b.c,webpw12,phonepw1,1234,001122334455\n")
    _upload(client, "ext,digium_phone_mac_address\n901,001122334466\n", dupe=3)
    _upload(client, f"{mac_header}\n902,A,B,a@b.c,webpw12,phonepw2,1234,001122334455\n")
    body = (
        '<request method="switchvox_server.imports.undo"><parameters>'
        "<import_id>2</import_id><force>1</force></parameters></request>"
    )
    answer = client.post("/xml", auth=("admin", "admin-secret"), content=body).text
    assert 'code="10032"' in answer
    assert "extension 902 now has the MAC address 001122334455" in answer


@pytest.mark.usefixtures("cli_environment")
@pytest.mark.parametrize(
    "arguments",
    [
        ["imports", "show", "99999999999999999999"],
        ["imports", "undo", "99999999999999999999"],
        ["imports", "list", "--limit", "99999999999999999999"],
        ["templates", "remove", "99999999999999999999"],
        ["templates", "edit", "99999999999999999999", "--name", "x"],
    ],
)
def test_huge_ids_on_the_command_line_are_one_line_errors(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An id beyond the store's columns is refused as a usage error (exit status 2, the
    usage and one error line), never a traceback."""
    assert main(["migrate"]) == 0
    with pytest.raises(SystemExit) as stopped:
        main(arguments)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert "must be a whole number from 0 to 2147483647" in error.splitlines()[-1]
