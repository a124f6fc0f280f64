"""Row rules and outcomes of the bulk upload, through the HTTP endpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import text
from starlette.testclient import TestClient

from switchvox_server.app import create_app
from switchvox_server.bulk.messages import RowMessage
from switchvox_server.settings import Settings
from tests.helpers import CurlClient, errors_of, section, stored_count, stored_extensions, upload
from tests.test_row_rules import EXTENSION_RULES, ROW_RULES

HEADER = "ext,fname,lname,email,password,voicemail_password,phone_password"
GOOD = "Ann,Lee,ann@test.com,webpass1,1234,sipsecret"


@pytest.fixture(params=["asgi", "curl"])
def client(
    request: pytest.FixtureRequest,
    make_client: Callable[..., TestClient],
    start_server: Callable[..., str],
    settings: Settings,
    tmp_path: Path,
) -> TestClient | CurlClient:
    """Each test runs twice: in-process, and against a live server with requests built by
    curl."""
    if request.param == "asgi":
        return make_client()
    app = create_app(settings)
    return CurlClient(app, start_server(app=app), tmp_path)


def row(number: str, cells: str = GOOD) -> str:
    """One CSV line: `number` followed by `cells`."""
    return f"{number},{cells}\n"


def csv(*rows: str, header: str = HEADER) -> str:
    """A CSV file of `header` and `rows`."""
    return header + "\n" + "".join(rows)


# A handful of the row rules (all of them: test_row_rules.py) through the whole upload.
@pytest.mark.parametrize(("cells", "message"), [ROW_RULES[n] for n in (0, 6, 15, 16)])
def test_each_row_rule_fails_the_row(client: TestClient, cells: str, message: str) -> None:
    """A row breaking one rule is create_failed with exactly that rule's message."""
    response = upload(client, csv(row("501", cells)))
    assert section(response, "create_failed") == ["501"]
    assert errors_of(response, "501") == [message]
    assert stored_count(client) == 0


@pytest.mark.parametrize(("number", "message"), [EXTENSION_RULES[n] for n in (1, 5)])
def test_extension_number_rules(client: TestClient, number: str, message: str) -> None:
    """Extension numbers must be ASCII digits within the configured length bounds."""
    response = upload(client, csv(row(number)))
    failed = response.findall(".//create_failed/extension")
    assert [node.get("extension") for node in failed] == [number]
    assert [error.get("text") for error in failed[0]] == [message]


def test_length_bounds_follow_the_settings(make_client: Callable[..., TestClient]) -> None:
    """With bounds 2 to 3, a two-digit extension is created and a four-digit one fails."""
    client = make_client(extension_min_length=2, extension_max_length=3)
    response = upload(client, csv(row("42"), row("4242")))
    assert section(response, "created") == ["42"]
    assert errors_of(response, "4242") == [RowMessage.EXTENSION_LENGTH.format(2, 3)]


def test_a_row_lists_all_its_errors_in_column_order(client: TestClient) -> None:
    """Every broken field is reported, in the order of the columns."""
    response = upload(client, csv(row("501", ",,bad,ab,1,501")))
    assert errors_of(response, "501") == [
        RowMessage.FIRST_NAME.format(),
        RowMessage.LAST_NAME.format(),
        RowMessage.EMAIL.format(),
        RowMessage.WEB_PASSWORD.format(),
        RowMessage.VOICEMAIL_PASSWORD.format(),
        RowMessage.PHONE_PASSWORD_SAME.format(),
    ]


def test_cell_count_mismatch_fails_the_row(client: TestClient) -> None:
    """A row with more or fewer cells than the header fails, naming both counts."""
    response = upload(client, csv(row("501", GOOD + ",extra"), row("502")))
    assert errors_of(response, "501") == [RowMessage.CELL_COUNT.format(8, 7)]
    assert section(response, "created") == ["502"]


def test_strong_phone_passwords_when_required(make_client: Callable[..., TestClient]) -> None:
    """With strong phone passwords on, a short or letters-only secret fails."""
    client = make_client(strong_phone_passwords=True)
    response = upload(
        client,
        csv(
            row("501", "Ann,Lee,a@test.com,webpass1,1234,short1"),
            row("502", "Ann,Lee,b@test.com,webpass1,1234,lettersonly"),
            row("503", "Ann,Lee,c@test.com,webpass1,1234,letters4digits"),
        ),
    )
    assert section(response, "create_failed") == ["501", "502"]
    assert errors_of(response, "501") == [RowMessage.PHONE_PASSWORD_WEAK.format()]
    assert section(response, "created") == ["503"]


def test_virtual_extensions_ignore_the_phone_password(client: TestClient) -> None:
    """A virtual extension needs no phone password and stores none."""
    response = upload(
        client, csv(row("501", "Ann,Lee,a@test.com,webpass1,1234,")), extension_type="virtual"
    )
    report = response.find(".//bulk_creation_report")
    assert report is not None
    assert report.get("extension_type") == "Virtual Extension"
    assert section(response, "created") == ["501"]
    assert stored_extensions(client)["501"]["phone_password_ha1"] is None
    assert stored_extensions(client)["501"]["extension_type"] == "virtual"


def test_same_extension_twice_in_a_file(client: TestClient) -> None:
    """The first occurrence wins; a later one fails naming the row of the first."""
    response = upload(client, csv(row("501"), row("502"), row("501")))
    assert section(response, "created") == ["501", "502"]
    assert errors_of(response, "501") == [RowMessage.EXTENSION_REPEATED.format("501", 2)]


def test_mac_addresses(client: TestClient) -> None:
    """MACs are normalised, unique in the file and across the system, and malformed ones fail."""
    header = HEADER + ",digium_phone_mac_address"
    first = upload(
        client,
        csv(
            row("501", GOOD + ",00:0f:d3:aa:bb:01"),
            row("502", GOOD + ",000FD3AABB01"),
            row("503", GOOD + ",00-0F-D3-AA-BB-0G"),
            header=header,
        ),
    )
    assert section(first, "created") == ["501"]
    assert stored_extensions(client)["501"]["mac_address"] == "000FD3AABB01"
    assert errors_of(first, "502") == [RowMessage.MAC_ADDRESS_REPEATED.format("000FD3AABB01", 2)]
    assert errors_of(first, "503") == [RowMessage.MAC_ADDRESS.format()]
    second = upload(client, csv(row("504", GOOD + ",000fd3aabb01"), header=header))
    assert errors_of(second, "504") == [RowMessage.MAC_ADDRESS_IN_USE.format("000FD3AABB01", "501")]


def test_created_rows_take_template_defaults(client: TestClient) -> None:
    """What the row leaves empty comes from the template; secrets are never stored in clear."""
    with client.app.state.database.engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(
            text("UPDATE templates SET title = 'Staff', location = 'HQ' WHERE id = 1")
        )
    upload(client, csv(row("501"), header=HEADER))
    extension = stored_extensions(client)["501"]
    assert (extension["title"], extension["location"]) == ("Staff", "HQ")
    assert extension["template_id"] == 1
    assert extension["lang_locale"] == "en_us"
    clear = {"webpass1", "1234", "sipsecret"}
    assert not clear & {str(value) for value in extension.values()}


def test_voicemail_pin_defaults_to_the_extension(client: TestClient) -> None:
    """Under the Default template's rule an empty PIN starts as the extension number."""
    from switchvox_server.passwords import voicemail_pin_digest

    upload(client, csv(row("501", "Ann,Lee,a@test.com,webpass1,,sipsecret")))
    secret = client.app.state.secret_key  # type: ignore[attr-defined]
    assert stored_extensions(client)["501"]["voicemail_pin_digest"] == voicemail_pin_digest(
        secret, "501", "501"
    )


def test_skip_leaves_existing_rows_unvalidated(client: TestClient) -> None:
    """With dupe_process 1 an existing extension is skipped even if its row is invalid."""
    upload(client, csv(row("501")))
    response = upload(client, csv(row("501", ",,,,,"), row("502")))
    assert section(response, "skipped") == ["501"]
    assert section(response, "created") == ["502"]
    skipped = response.find(".//skipped/extension")
    assert skipped is not None
    assert (skipped.get("first_name"), skipped.get("email")) == ("", "")


def test_replace_rebuilds_from_template_and_row(client: TestClient) -> None:
    """Replace validates like create, keeps the account id and drops what the row omits."""
    upload(
        client,
        csv(row("501", "Ann,Lee,a@test.com,webpass1,1234,sipsecret")),
    )
    upload(client, "ext,title\n501,Boss\n", dupe_process=3)
    before = stored_extensions(client)["501"]
    response = upload(
        client, csv(row("501", "Bea,Ray,b@test.com,webpass2,4321,sipsecret2")), dupe_process=2
    )
    assert section(response, "replaced") == ["501"]
    replaced = response.find(".//replaced/extension")
    assert replaced is not None
    assert (replaced.get("first_name"), replaced.get("last_name")) == ("Bea", "Ray")
    after = stored_extensions(client)["501"]
    assert after["account_id"] == before["account_id"]
    assert after["title"] == ""
    assert after["web_password_ha1"] != before["web_password_ha1"]


def test_replace_that_fails_validation_is_create_failed(client: TestClient) -> None:
    """A replace row missing what a new extension needs fails and changes nothing."""
    upload(client, csv(row("501")))
    before = stored_extensions(client)["501"]
    response = upload(client, "ext,fname\n501,Bea\n", dupe_process=2)
    assert section(response, "create_failed") == ["501"]
    assert stored_extensions(client)["501"] == before


def test_update_changes_only_non_empty_cells(client: TestClient) -> None:
    """On update an empty cell keeps the stored value and the report shows stored values."""
    upload(client, csv(row("501", "Ann,Lee,a@test.com,webpass1,1234,sipsecret")))
    before = stored_extensions(client)["501"]
    response = upload(client, csv(row("501", ",Smith,,,,")), dupe_process=3)
    assert section(response, "updated") == ["501"]
    updated = response.find(".//updated/extension")
    assert updated is not None
    assert (updated.get("first_name"), updated.get("last_name"), updated.get("email")) == (
        "Ann",
        "Smith",
        "a@test.com",
    )
    after = stored_extensions(client)["501"]
    assert after["last_name"] == "Smith"
    for column in (
        "first_name",
        "email",
        "web_password_ha1",
        "voicemail_pin_digest",
        "phone_password_ha1",
    ):
        assert after[column] == before[column]


def test_update_cell_of_spaces_blanks_the_field(client: TestClient) -> None:
    """On update a cell of only spaces blanks an optional field; an empty cell keeps it."""
    header = "ext,fname,lname,email,password,phone_password,title,location"
    upload(
        client,
        "ext,fname,lname,email,password,phone_password,title,location\n"
        "501,Ann,Lee,a@test.com,webpass1,sipsecret,Boss,HQ\n",
    )
    response = upload(client, f"{header}\n501,,,,,,   ,\n", dupe_process=3)
    assert section(response, "updated") == ["501"]
    extension = stored_extensions(client)["501"]
    assert (extension["title"], extension["location"]) == ("", "HQ")


def test_update_cannot_blank_a_required_field(client: TestClient) -> None:
    """Spaces in a required field on update fail the row with that field's rule."""
    upload(client, csv(row("501")))
    response = upload(client, "ext,fname,phone_password\n501,  ,  \n", dupe_process=3)
    assert section(response, "create_failed") == ["501"]
    assert errors_of(response, "501") == [
        RowMessage.FIRST_NAME.format(),
        RowMessage.PHONE_PASSWORD_REQUIRED.format(),
    ]
    assert stored_extensions(client)["501"]["first_name"] == "Ann"


def test_update_of_a_missing_extension_creates_it(client: TestClient) -> None:
    """Update creates an extension that does not exist yet."""
    response = upload(client, csv(row("501")), dupe_process=3)
    assert section(response, "created") == ["501"]


def test_report_only_reports_and_changes_nothing(client: TestClient) -> None:
    """report_only=1 returns the report the real call returns, and writes nothing."""
    upload(client, csv(row("501")))
    body = csv(
        row("501", "Bea,Ray,b@test.com,webpass2,4321,sipsecret2"), row("502"), row("503", ",,,,,")
    )
    before = stored_extensions(client)["501"]
    preview = upload(client, body, dupe_process=2, report_only=1)
    assert stored_count(client) == 1
    assert stored_extensions(client)["501"] == before
    real = upload(client, body, dupe_process=2)
    from tests.helpers import canonical

    assert canonical(preview) == canonical(real)
    assert stored_count(client) == 2


def test_every_row_lands_in_exactly_one_section_in_file_order(client: TestClient) -> None:
    """Each data row appears once, and rows keep file order within a section."""
    upload(client, csv(row("510"), row("520")))
    rows = [row("530"), row("510"), row("540", ",,,,,"), row("520"), row("550"), row("530")]
    response = upload(client, csv(*rows))
    reported = [
        number
        for name in ("create_failed", "created", "replaced", "updated", "skipped")
        for number in section(response, name)
    ]
    assert sorted(reported) == sorted(["530", "510", "540", "520", "550", "530"])
    assert section(response, "created") == ["530", "550"]
    assert section(response, "skipped") == ["510", "520"]
    assert section(response, "create_failed") == ["540", "530"]


@pytest.mark.parametrize(
    "encoded",
    [
        (
            "ext,fname,lname,email,password,phone_password\r\n501,Zoë,Müller,z@test.com,webpass1,sipsecret\r\n"
        ).encode(),
        (
            "ext,fname,lname,email,password,phone_password\n501,Zoë,Müller,z@test.com,webpass1,sipsecret\n"
        ).encode("utf-8-sig"),
        (
            "ext,fname,lname,email,password,phone_password\r501,Zoë,Müller,z@test.com,webpass1,sipsecret\r"
        ).encode("utf-16"),
        (
            "ext;fname;lname;email;password;phone_password\n501;Zoë;Müller;z@test.com;webpass1;sipsecret\n"
        ).encode("cp1252"),
        (
            "ext\tfname\tlname\temail\tpassword\tphone_password\n501\tZoë\tMüller\tz@test.com\twebpass1\tsipsecret\n"
        ).encode(),
    ],
    ids=["utf8-crlf", "utf8-bom", "utf16-cr", "cp1252-semicolon", "tab"],
)
def test_encodings_and_delimiters(client: TestClient, encoded: bytes) -> None:
    """Every supported encoding, line end and delimiter reads the same names."""
    response = upload(client, encoded)
    created = response.find(".//created/extension")
    assert created is not None
    assert created is not None
    assert (created.get("first_name"), created.get("last_name")) == ("Zoë", "Müller")


def test_quoted_cells_and_header_matching(client: TestClient) -> None:
    """Header labels match case-insensitively in any order; quoted cells keep commas."""
    body = (
        " Phone_Password ,EXT,Login_Email,LName,FName,Password,Notes\n"
        '"sip,secret",501,a@test.com,"Lee, Jr.","Ann ""Jo""",webpass1,ignored\n'
    )
    response = upload(client, body)
    created = response.find(".//created/extension")
    assert created is not None
    assert (created.get("first_name"), created.get("last_name")) == ('Ann "Jo"', "Lee, Jr.")


def test_ragged_row_of_an_existing_extension(client: TestClient) -> None:
    """A row with the wrong cell count is skipped like any row of an existing extension
    under dupe_process 1, and fails for its cell count alone under update."""
    upload(client, csv(row("501")))
    ragged = csv(row("501", GOOD + ",extra"))
    assert section(upload(client, ragged), "skipped") == ["501"]
    updated = upload(client, ragged, dupe_process=3)
    assert errors_of(updated, "501") == [RowMessage.CELL_COUNT.format(8, 7)]


# A password shifted into the name and email columns: one cell short (the first name is
# missing, so the password lands under `email`) and one cell long (under `fname`).
SHIFTED_SECRET = "Hunter2secret"
RAGGED_ROWS = (
    f"Lee,ann@test.com,{SHIFTED_SECRET},1234,sipsecret",
    f"{SHIFTED_SECRET},Ann,Lee,ann@test.com,webpass1,1234,sipsecret",
)


@pytest.mark.parametrize("cells", RAGGED_ROWS, ids=["short", "long"])
@pytest.mark.parametrize("dupe_process", [1, 2, 3])
@pytest.mark.parametrize("exists", [False, True], ids=["new", "existing"])
def test_a_ragged_row_is_reported_by_its_extension_only(
    client: TestClient, cells: str, dupe_process: int, exists: bool
) -> None:
    """A ragged row, new or existing under skip, replace and update, is reported with its
    number and empty names and email, and no cell of it but the number is echoed."""
    if exists:
        upload(client, csv(row("501")))
    response = upload(client, csv(row("501", cells), row("502")), dupe_process=dupe_process)
    skipped = exists and dupe_process == 1
    reported = response.find(f".//{'skipped' if skipped else 'create_failed'}/extension")
    assert reported is not None
    assert dict(reported.items()) == {
        "extension": "501",
        "first_name": "",
        "last_name": "",
        "email": "",
    }
    width = len(cells.split(",")) + 1
    expected = [] if skipped else [RowMessage.CELL_COUNT.format(width, 7)]
    assert [error.get("text") for error in reported.findall("error")] == expected
    assert SHIFTED_SECRET.encode() not in etree.tostring(response)
