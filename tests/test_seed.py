"""Seed files: reading TOML and JSON, the messages for mistakes, and applying them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select
from starlette.testclient import TestClient

from switchvox_server.app import prepare_database
from switchvox_server.seed.apply import Counts, apply_seed, reset_to_seed
from switchvox_server.seed.declaration import Seed, SeedError, load_seed, parse_seed
from switchvox_server.settings import Settings
from switchvox_server.store.database import Database
from switchvox_server.store.models import (
    AccessLevel,
    AdminAccount,
    Extension,
    ExtensionType,
    Template,
    VoicemailPinRule,
)
from tests.conftest import FIXTURES
from tests.helpers import fault, request_xml, section, upload

SEED_TOML = FIXTURES / "seed.toml"
SEED_JSON = FIXTURES / "seed.json"
EXTENSION = {
    "ext": "401",
    "fname": "Kay",
    "lname": "Nygaard",
    "email": "kay@example.com",
    "password": "kay-web-1",
    "phone_password": "kay-sip-401",
}


@pytest.fixture
def store(settings: Settings) -> Iterator[tuple[Database, bytes]]:
    """The migrated test database and its server secret."""
    database, secret_key = prepare_database(settings)
    yield database, secret_key
    database.dispose()


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the seeded tables, in key order."""
    with database.sessions() as session:
        return {
            model.__tablename__: [
                tuple(row)
                for row in session.execute(
                    select(model.__table__).order_by(*model.__table__.primary_key)
                )
            ]
            for model in (Template, AdminAccount, Extension)
        }


def write(tmp_path: Path, text: str, name: str = "seed.toml") -> Path:
    """Write `text` to a file `name` in `tmp_path`."""
    path = tmp_path / name
    path.write_text(text)
    return path


def test_toml_and_json_read_alike() -> None:
    """The TOML and JSON fixtures, holding the same declarations, give equal seeds."""
    seed = load_seed(SEED_TOML)
    assert seed == load_seed(SEED_JSON)
    assert [template.name for template in seed.templates] == ["Sales", "Support"]
    assert seed.templates[0].voicemail_pin_rule is VoicemailPinRule.REQUIRED
    assert seed.templates[1].can_dial_from_ivr is False
    assert [(admin.name, admin.access) for admin in seed.admins] == [
        ("ci", AccessLevel.READ_ONLY),
        ("ops", AccessLevel.FULL),
    ]
    assert [(e.number, e.extension_type, e.template) for e in seed.extensions] == [
        ("201", ExtensionType.SIP, "Default"),
        ("202", ExtensionType.SIP, "Sales"),
        ("301", ExtensionType.VIRTUAL, "Support"),
    ]
    assert seed.extensions[0].cells["voicemail_password"] == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"extension": []}, r"^seed: unknown key 'extension' \(known keys: templates, admins,"),
        ({"templates": {"name": "x"}}, r"'templates' must be an array of tables, not a table"),
        ({"templates": ["Sales"]}, r"templates entry 1: must be a table, not a string"),
        (
            {"templates": [{"name": "Sales", "titel": "x"}]},
            r"templates entry 1 \('Sales'\): unknown key 'titel' \(known keys: name, id,",
        ),
        ({"templates": [{"title": "x"}]}, r"templates entry 1: 'name' is required"),
        ({"templates": [{"name": 5}]}, r"'name' must be a string, not a whole number"),
        ({"templates": [{"name": " Sales"}]}, r"must not be empty nor start or end with spaces"),
        ({"templates": [{"name": "S", "title": "x" * 65}]}, r"'title' must be at most 64 char"),
        ({"templates": [{"name": "S", "id": "2"}]}, r"'id' must be a whole number, not a string"),
        ({"templates": [{"name": "S", "voicemail_enabled": 1}]}, r"must be true or false"),
        (
            {"templates": [{"name": "S", "voicemail_pin_rule": "always"}]},
            r"'voicemail_pin_rule' must be 'extension' or 'required' or 'none', not 'always'",
        ),
        (
            {"admins": [{"name": "ci", "password": "p", "access": "root"}]},
            r"admins entry 1 \('ci'\): 'access' must be 'full' or 'read_only', not 'root'",
        ),
        ({"admins": [{"name": "ci", "password": "p"}]}, r"'access' is required"),
        ({"admins": [{"name": "ci", "access": "full"}]}, r"'password' is required"),
        ({"admins": [{"name": "a:b", "password": "p", "access": "full"}]}, r"must not contain"),
        ({"extensions": [{"fname": "Ada"}]}, r"extensions entry 1: 'ext' is required"),
        ({"extensions": [{"ext": True}]}, r"'ext' must be a string or a whole number, not true"),
        ({"extensions": [{"ext": "201", "fname": 7}]}, r"'fname' must be a string, not a whole"),
        ({"extensions": [{"ext": "201", "type": "iax"}]}, r"'type' must be 'sip' or 'virtual'"),
        ({"extensions": [{"ext": "201", "ext_": "x"}]}, r"unknown key 'ext_'"),
        (
            {"extensions": [{"ext": "201"}, {"ext": 201}]},
            r"^seed: the extension '201' is declared twice$",
        ),
    ],
)
def test_mistakes_are_named(data: dict[str, Any], message: str) -> None:
    """Each kind of mistake in a seed is a SeedError saying where it is and what is wrong."""
    with pytest.raises(SeedError, match=message):
        parse_seed(data)


def test_file_mistakes_are_messages(tmp_path: Path) -> None:
    """Unreadable, misnamed and malformed files are SeedErrors naming the file."""
    with pytest.raises(SeedError, match=r"cannot read the seed file .*missing\.toml"):
        load_seed(tmp_path / "missing.toml")
    with pytest.raises(SeedError, match=r"must end in \.toml or \.json"):
        load_seed(write(tmp_path, "", "seed.yaml"))
    with pytest.raises(SeedError, match=r"seed\.toml: not valid TOML: "):
        load_seed(write(tmp_path, "[[templates]\n"))
    with pytest.raises(SeedError, match=r"seed\.json: not valid JSON: "):
        load_seed(write(tmp_path, "{", "seed.json"))
    with pytest.raises(SeedError, match=r"seed\.json: must be a table, not an array"):
        load_seed(write(tmp_path, "[]", "seed.json"))
    path = tmp_path / "latin1.toml"
    path.write_bytes('[[templates]]\nname = "Caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(SeedError, match="must be UTF-8"):
        load_seed(path)
    bad_key = write(tmp_path, '[[admins]]\nname = "x"\npassword = "p"\naccess = "full"\nx = 1\n')
    with pytest.raises(SeedError, match=r"seed\.toml: admins entry 1 \('x'\): unknown key 'x'"):
        load_seed(bad_key)


def test_applying_twice_changes_nothing(store: tuple[Database, bytes], settings: Settings) -> None:
    """A second application of the same seed leaves every row exactly as the first did."""
    database, secret_key = store
    seed = load_seed(SEED_TOML)
    first = apply_seed(database, seed, secret_key, settings)
    assert (first.templates, first.admins, first.extensions) == (
        Counts(2, 0),
        Counts(2, 0),
        Counts(3, 0),
    )
    assert first.template_ids == {"Sales": 2, "Support": 3}
    before = snapshot(database)
    second = apply_seed(database, seed, secret_key, settings)
    assert (second.templates, second.admins, second.extensions) == (
        Counts(0, 2),
        Counts(0, 2),
        Counts(0, 3),
    )
    assert second.template_ids == first.template_ids
    assert snapshot(database) == before
    assert str(second) == (
        "templates: 0 created, 2 updated; admins: 0 created, 2 updated;"
        " extensions: 0 created, 3 updated"
    )


def test_seed_sets_records_to_what_it_declares(
    store: tuple[Database, bytes], settings: Settings
) -> None:
    """Re-seeding puts back a changed template, admin and extension, keeping their ids."""
    database, secret_key = store
    seed = load_seed(SEED_TOML)
    apply_seed(database, seed, secret_key, settings)
    before = snapshot(database)
    with database.sessions.begin() as session:
        sales = session.scalars(select(Template).where(Template.name == "Sales")).one()
        sales.title = "Changed"
        ops = session.scalars(select(AdminAccount).where(AdminAccount.name == "ops")).one()
        ops.access, ops.digest_ha1 = AccessLevel.READ_ONLY.value, "0" * 32
        ada = session.scalars(select(Extension).where(Extension.number == "201")).one()
        ada.first_name, ada.mac_address, ada.extension_type = "Changed", "000FD3000201", "virtual"
    apply_seed(database, seed, secret_key, settings)
    after = snapshot(database)
    # The admin's scrypt hash is salted anew when its password is set again.
    assert after["admin_accounts"] != before["admin_accounts"]
    for name in ("templates", "extensions"):
        assert after[name] == before[name]
    with database.sessions() as session:
        ops = session.scalars(select(AdminAccount).where(AdminAccount.name == "ops")).one()
    assert (ops.access, ops.digest_ha1) == (AccessLevel.FULL.value, before_ha1(before, "ops"))


def before_ha1(rows: dict[str, list[tuple[Any, ...]]], name: str) -> str:
    """The stored Digest HA1 of one admin in a snapshot."""
    (ha1,) = (row[4] for row in rows["admin_accounts"] if row[1] == name)
    return str(ha1)


def test_seeded_extensions_are_what_the_api_sees(
    store: tuple[Database, bytes], settings: Settings, client: TestClient
) -> None:
    """Seeded extensions exist for the API: a skip upload skips them, getInfo shows them."""
    database, secret_key = store
    apply_seed(database, load_seed(SEED_JSON), secret_key, settings)
    csv = "ext,fname,lname,email,password,phone_password\n201,,,,,\n202,,,,,\n301,,,,,\n"
    response = upload(client, csv, dupe_process=1, report_only=1)
    assert section(response, "skipped") == ["201", "202", "301"]
    envelope = request_xml(
        "switchvox.extensions.getInfo",
        extensions="<extension>202</extension><extension>301</extension>",
    )
    reply = etree.fromstring(client.post("/xml", content=envelope).content)
    shown = {
        node.get("number"): (
            node.get("type"),
            node.get("template_name"),
            node.get("title"),
            node.get("location"),
            node.get("lang_locale"),
            node.get("can_dial_from_ivr"),
        )
        for node in reply.iterfind("result/extensions/extension")
    }
    assert shown == {
        "202": ("sip", "Sales", "Sales", "Head office", "en_us", "1"),
        "301": ("virtual", "Support", "", "", "en_gb", "0"),
    }


def test_invalid_rows_roll_everything_back(
    store: tuple[Database, bytes], settings: Settings
) -> None:
    """A row the upload rules refuse fails the seed with its messages, and nothing is kept."""
    database, secret_key = store
    before = snapshot(database)
    seed = parse_seed(
        {
            "templates": [{"name": "Sales"}],
            "admins": [{"name": "ci", "password": "p", "access": "full"}],
            "extensions": [
                EXTENSION,
                {**EXTENSION, "ext": "304", "fname": "", "phone_password": "304"},
            ],
        }
    )
    with pytest.raises(SeedError) as caught:
        apply_seed(database, seed, secret_key, settings)
    assert str(caught.value) == (
        "the seed's extensions are not valid:\n"
        "  extension 304: First name is required and must be 1 - 32 characters in length."
        " Phone password cannot be the same as the extension."
    )
    assert snapshot(database) == before


def test_unknown_template_and_limits_are_seed_errors(
    store: tuple[Database, bytes], settings: Settings
) -> None:
    """A missing template, an exceeded licence or a wrong template id fail the whole seed."""
    database, secret_key = store
    before = snapshot(database)
    missing = parse_seed({"extensions": [{**EXTENSION, "template": "Nope"}]})
    with pytest.raises(SeedError, match="there is no template named 'Nope'"):
        apply_seed(database, missing, secret_key, settings)
    two = parse_seed({"extensions": [EXTENSION, {**EXTENSION, "ext": "402"}]})
    with pytest.raises(SeedError, match=r"SIP Extensions .* 'Default' cannot be loaded: You have"):
        apply_seed(database, two, secret_key, Settings(settings.database_url, max_extensions=1))
    assert snapshot(database) == before
    sales_only = parse_seed({"templates": [{"name": "Sales"}]})
    sales_id = apply_seed(database, sales_only, secret_key, settings).template_ids["Sales"]
    wrong_id = parse_seed({"templates": [{"name": "Sales", "id": sales_id + 5}]})
    with pytest.raises(SeedError, match=f"'Sales' has the id {sales_id}, not {sales_id + 5} as"):
        apply_seed(database, wrong_id, secret_key, settings)
    right_id = parse_seed({"templates": [{"name": "Sales", "id": sales_id}]})
    assert apply_seed(database, right_id, secret_key, settings).template_ids == {"Sales": sales_id}


def test_reset_returns_to_the_seed(store: tuple[Database, bytes], settings: Settings) -> None:
    """reset_to_seed drops what others added and restores template 1 and the admin."""
    database, secret_key = store
    seed = load_seed(SEED_TOML)
    apply_seed(database, seed, secret_key, settings)
    before = snapshot(database)
    extra = parse_seed(
        {
            "templates": [{"name": "Extra"}, {"name": "Sales", "title": "Other"}],
            "admins": [
                {"name": "someone", "password": "p", "access": "full"},
                {"name": "admin", "password": "changed", "access": "read_only"},
            ],
            "extensions": [{**EXTENSION, "template": "Extra"}],
        }
    )
    apply_seed(database, extra, secret_key, settings)
    with database.sessions.begin() as session:
        default = session.get(Template, 1)
        assert default is not None
        default.name, default.title = "Renamed", "Changed"
    summary = reset_to_seed(database, seed, secret_key, settings)
    assert summary.extensions == Counts(3, 0)
    after = snapshot(database)
    assert after["templates"] == before["templates"]
    assert [row[:3] for row in after["admin_accounts"]] == [
        row[:3] for row in before["admin_accounts"]
    ]
    assert before_ha1(after, "admin") == before_ha1(before, "admin")
    # Rows made again: the same but for their new account ids and creation times.
    assert [row[1:-1] for row in after["extensions"]] == [row[1:-1] for row in before["extensions"]]


def test_empty_seed_is_valid(store: tuple[Database, bytes], settings: Settings) -> None:
    """An empty seed parses and applies, changing nothing."""
    database, secret_key = store
    assert parse_seed({}) == Seed()
    before = snapshot(database)
    summary = apply_seed(database, Seed(), secret_key, settings)
    assert summary.extensions == Counts()
    assert snapshot(database) == before


def test_seeded_admins_sign_in(
    store: tuple[Database, bytes], settings: Settings, client: TestClient
) -> None:
    """Seeded admins sign in with their passwords and get the declared access."""
    database, secret_key = store
    apply_seed(database, load_seed(SEED_TOML), secret_key, settings)
    client.auth = ("ci", "ci-password")
    assert fault(upload(client, "ext\n201\n", report_only=1))[0] == 27168
    client.auth = ("ops", "ops-password")
    assert section(upload(client, "ext\n201\n", report_only=1), "skipped") == ["201"]
