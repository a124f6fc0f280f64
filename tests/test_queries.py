"""Store queries and bulk writes, on whichever database the suite runs against."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from starlette.testclient import TestClient

from switchvox_server.passwords import digest_ha1, sip_ha1, voicemail_pin_digest
from switchvox_server.store import queries
from switchvox_server.store.writer import SessionWriter, creation_time
from tests.helpers import extension_row, section, upload


def test_bulk_insert_keeps_every_value_exactly(client: TestClient) -> None:
    """Inserted rows read back unchanged (quotes, tabs, backslashes, NULL, booleans), all
    stamped with the upload's creation time."""
    database = client.app.state.database  # type: ignore[attr-defined]
    rows = [
        extension_row("801"),
        extension_row("802", mac_address="000FD3AABB01", can_dial_from_ivr=True),
    ]
    expected = [dict(row) for row in rows]
    before = creation_time()
    with database.sessions.begin() as session:
        SessionWriter(session, b"key").write(rows, [])
    with database.sessions() as session:
        stored = queries.extensions_by_number(session, {"801", "802"})
    for row in expected:
        number = str(row["number"])
        kept = {name: stored[number][name] for name in row if name != "date_created"}
        assert kept == {name: value for name, value in row.items() if name != "date_created"}
    with database.engine.connect() as connection:
        dates = connection.execute(select(queries.EXTENSIONS.c.date_created)).scalars().all()
    assert dates[0] == dates[1]
    assert before <= dates[0] <= creation_time()


def test_new_secrets_are_stored_only_in_their_derived_forms(client: TestClient) -> None:
    """A row's new clear secrets become the HA1s and the keyed PIN digest; no clear value
    is stored."""
    database = client.app.state.database  # type: ignore[attr-defined]
    row = extension_row(
        "801",
        new_web_password="webpass1",
        new_phone_password="sipsecret",
        new_voicemail_pin="1234",
    )
    with database.sessions.begin() as session:
        SessionWriter(session, b"key").write([row], [])
    with database.sessions() as session:
        stored = queries.extensions_by_number(session, {"801"})["801"]
    assert stored["web_password_ha1"] == digest_ha1("801", "webpass1")
    assert stored["phone_password_ha1"] == sip_ha1("801", "sipsecret")
    assert stored["voicemail_pin_digest"] == voicemail_pin_digest(b"key", "801", "1234")
    assert not {"webpass1", "sipsecret", "1234"} & {str(value) for value in stored.values()}


def test_identity_lookup_returns_only_identity(client: TestClient) -> None:
    """A lookup with the identity columns carries the number and account id, nothing else."""
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.sessions.begin() as session:
        SessionWriter(session, b"key").write([extension_row("801")], [])
    with database.sessions() as session:
        found = queries.extensions_by_number(session, {"801", "999"}, queries.IDENTITY_COLUMNS)
    assert list(found) == ["801"]
    assert set(found["801"]) == {"account_id", "number"}


@pytest.mark.postgres
def test_large_upload_refreshes_statistics(client: TestClient) -> None:
    """After an upload of a thousand rows or more, PostgreSQL has analysed the table."""
    rows = "".join(f"{100000 + n},Ann,Lee,a{n}@test.com,webpass1,sipsecret\n" for n in range(1000))
    response = upload(client, "ext,fname,lname,email,password,phone_password\n" + rows)
    assert len(section(response, "created")) == 1000
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.engine.connect() as connection:
        analysed = connection.execute(
            text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'extensions'")
        ).scalar_one()
    assert analysed is not None
