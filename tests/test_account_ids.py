"""Extension account ids start at 1101 on a new store (migration 0002), on SQLite and on
PostgreSQL, for every way rows are inserted; templates keep their own ids."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from starlette.testclient import TestClient

from switchvox_server.store.database import alembic_config, migrate, open_database
from tests.helpers import stored_extensions, upload

CSV_HEADER = "ext,fname,lname,email,password,phone_password\n"


def csv_of(*numbers: int) -> str:
    """A CSV file of valid sip rows for `numbers`."""
    return CSV_HEADER + "".join(
        f"{n},Ann,Lee,u{n}@test.com,webpass{n},sipsecret{n}\n" for n in numbers
    )


def account_ids(database_url: str) -> dict[str, int]:
    """The account id of every stored extension, by number."""
    stored = stored_extensions(database_url, "account_id")
    return {number: row["account_id"] for number, row in stored.items()}


def test_the_first_extension_of_a_new_store_is_1101(client: TestClient) -> None:
    """A bulk upload into a new store numbers its extensions 1101, 1102, … in file order,
    and they still name template 1."""
    report = upload(client, csv_of(301, 302, 303))
    assert [node.get("extension") for node in report.iterfind(".//created/extension")] == [
        "301",
        "302",
        "303",
    ]
    url = client.app.state.settings.database_url  # type: ignore[attr-defined]
    assert account_ids(url) == {"301": 1101, "302": 1102, "303": 1103}
    response = client.post(
        "/xml",
        content=b'<request method="switchvox.extensions.getInfo"><parameters>'
        b"<account_ids><account_id>1101</account_id><account_id>1</account_id></account_ids>"
        b"</parameters></request>",
    )
    assert response.status_code == 200
    assert b'number="301"' in response.content
    assert b'account_id="1101"' in response.content
    assert b'template_id="1"' in response.content
    assert response.content.count(b"<extension ") == 1  # account id 1 is no extension


def test_later_uploads_carry_on_from_the_last_id(client: TestClient) -> None:
    """A second upload continues the sequence; a replaced extension keeps its id."""
    upload(client, csv_of(301, 302))
    upload(client, csv_of(302, 303), dupe_process=2)
    url = client.app.state.settings.database_url  # type: ignore[attr-defined]
    assert account_ids(url) == {"301": 1101, "302": 1102, "303": 1103}


@pytest.mark.parametrize(("stored", "next_id"), [((1, 2), 1101), ((1, 5000), 5001)])
def test_upgrading_a_store_keeps_its_ids(
    empty_database_url: str, stored: tuple[int, ...], next_id: int
) -> None:
    """A store migrated at 0001 keeps its extensions' ids; the next is 1101, or one past the
    largest when that is larger."""
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0001")
    database = open_database(empty_database_url)
    columns = (
        "number, extension_type, first_name, last_name, email, title, location,"
        " web_password_ha1, template_id, status, lang_locale, can_dial_from_ivr,"
        " voicemail_enabled"
    )
    values = "'sip', 'A', 'B', 'a@b.c', '', '', 'x', 1, '1', 'en_us', true, true"
    try:
        with database.engine.begin() as connection:
            for account_id in stored:
                connection.execute(
                    text(
                        f"INSERT INTO extensions (account_id, {columns}) VALUES (:id, :n, {values})"
                    ),
                    {"id": account_id, "n": str(account_id + 200)},
                )
        migrate(database)
        with database.engine.begin() as connection:
            connection.execute(text(f"INSERT INTO extensions ({columns}) VALUES ('999', {values})"))
    finally:
        database.dispose()
    expected = {str(account_id + 200): account_id for account_id in stored}
    assert account_ids(empty_database_url) == {**expected, "999": next_id}


def test_templates_keep_their_own_ids(client: TestClient) -> None:
    """Template 1 is still Default after the migration, and a new template is 2, not 1101."""
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO templates (name, lang_locale, can_dial_from_ivr, status, title,"
                " location, voicemail_enabled, voicemail_pin_rule)"
                " VALUES ('Staff', 'en_us', true, '1', '', '', true, 'extension')"
            )
        )
        rows = connection.execute(text("SELECT id, name FROM templates ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(1, "Default"), (2, "Staff")]
