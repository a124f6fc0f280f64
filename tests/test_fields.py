"""The field limits table (store/fields.py) is the one source of the model's column sizes,
the row rules' limits and the row messages' texts."""

from __future__ import annotations

import re
from typing import cast

import pytest
from sqlalchemy import String, Table

from switchvox_server.bulk.messages import RowMessage
from switchvox_server.bulk.rules import RowPolicy, evaluate, template_base
from switchvox_server.store import fields
from switchvox_server.store.fields import FieldLimit
from switchvox_server.store.models import (
    AdminAccount,
    Extension,
    ExtensionType,
    Template,
    VoicemailPinRule,
)
from switchvox_server.store.rows import TemplateRow

# Each message that states a limit, with the field whose limits it must state.
MESSAGE_FIELDS: tuple[tuple[RowMessage, FieldLimit], ...] = (
    (RowMessage.FIRST_NAME, fields.FIRST_NAME),
    (RowMessage.LAST_NAME, fields.LAST_NAME),
    (RowMessage.EMAIL, fields.EMAIL),
    (RowMessage.TITLE, fields.TITLE),
    (RowMessage.LOCATION, fields.LOCATION),
    (RowMessage.WEB_PASSWORD, fields.WEB_PASSWORD),
    (RowMessage.WEB_PASSWORD_COMPLEX, fields.COMPLEX_WEB_PASSWORD),
    (RowMessage.VOICEMAIL_PASSWORD, fields.VOICEMAIL_PIN),
    (RowMessage.VOICEMAIL_PASSWORD_REQUIRED, fields.VOICEMAIL_PIN),
    (RowMessage.VOICEMAIL_PASSWORD_REQUIRED_NEW, fields.VOICEMAIL_PIN),
    (RowMessage.PHONE_PASSWORD_LENGTH, fields.PHONE_PASSWORD),
    (RowMessage.PHONE_PASSWORD_WEAK, fields.STRONG_PHONE_PASSWORD),
    (RowMessage.MAC_ADDRESS, fields.MAC_ADDRESS),
)

# Each model column a user writes, with the field whose longest value it must hold.
COLUMN_FIELDS: tuple[tuple[Table, str, FieldLimit], ...] = (
    (cast(Table, Extension.__table__), "number", fields.EXTENSION_NUMBER),
    (cast(Table, Extension.__table__), "first_name", fields.FIRST_NAME),
    (cast(Table, Extension.__table__), "last_name", fields.LAST_NAME),
    (cast(Table, Extension.__table__), "email", fields.EMAIL),
    (cast(Table, Extension.__table__), "title", fields.TITLE),
    (cast(Table, Extension.__table__), "location", fields.LOCATION),
    (cast(Table, Extension.__table__), "mac_address", fields.MAC_ADDRESS),
    (cast(Table, Extension.__table__), "status", fields.STATUS),
    (cast(Table, Extension.__table__), "lang_locale", fields.LANG_LOCALE),
    (cast(Table, Template.__table__), "name", fields.TEMPLATE_NAME),
    (cast(Table, Template.__table__), "title", fields.TITLE),
    (cast(Table, Template.__table__), "location", fields.LOCATION),
    (cast(Table, Template.__table__), "status", fields.STATUS),
    (cast(Table, Template.__table__), "lang_locale", fields.LANG_LOCALE),
    (cast(Table, AdminAccount.__table__), "name", fields.ADMIN_NAME),
)

TEMPLATE: TemplateRow = {
    "id": 1,
    "title": "",
    "location": "",
    "status": "1",
    "lang_locale": "en_us",
    "can_dial_from_ivr": True,
    "voicemail_enabled": True,
}
POLICY = RowPolicy(extension_min_length=3, extension_max_length=6, strong_phone_passwords=False)


def test_documented_messages_are_byte_for_byte_switchvox() -> None:
    """The three documented row messages render exactly as Switchvox writes them."""
    assert RowMessage.FIRST_NAME.format() == (
        "First name is required and must be 1 - 32 characters in length."
    )
    assert RowMessage.PHONE_PASSWORD_REQUIRED.format() == (
        "Phone password is required to create a sip extension."
    )
    assert RowMessage.PHONE_PASSWORD_SAME.format() == (
        "Phone password cannot be the same as the extension."
    )


@pytest.mark.parametrize(("message", "field"), MESSAGE_FIELDS, ids=lambda item: str(item))
def test_message_states_the_limits_of_its_field(message: RowMessage, field: FieldLimit) -> None:
    """Every number a limit message states is one of its field's limits, and the message
    names the field and states its longest length."""
    text = message.format()
    assert field.label in text
    numbers = {int(number) for number in re.findall(r"\d+", text)}
    assert field.longest in numbers or message is RowMessage.PHONE_PASSWORD_WEAK
    assert numbers <= {field.shortest, field.longest}
    if field.shortest > 0 and f"{field.shortest} - " in text:
        assert f"{field.shortest} - {field.longest}" in text


@pytest.mark.parametrize(("table", "column", "field"), COLUMN_FIELDS, ids=lambda item: str(item))
def test_column_size_is_the_fields_longest(table: Table, column: str, field: FieldLimit) -> None:
    """Each column a user writes holds exactly the longest value its field allows."""
    kind = table.c[column].type
    assert isinstance(kind, String)
    assert kind.length == field.longest


@pytest.mark.parametrize(
    ("column", "field", "message"),
    [
        ("fname", fields.FIRST_NAME, RowMessage.FIRST_NAME),
        ("lname", fields.LAST_NAME, RowMessage.LAST_NAME),
        ("title", fields.TITLE, RowMessage.TITLE),
        ("location", fields.LOCATION, RowMessage.LOCATION),
        ("password", fields.WEB_PASSWORD, RowMessage.WEB_PASSWORD),
        ("phone_password", fields.PHONE_PASSWORD, RowMessage.PHONE_PASSWORD_LENGTH),
    ],
)
def test_rules_accept_up_to_the_fields_longest(
    column: str, field: FieldLimit, message: RowMessage
) -> None:
    """A text cell of the field's longest length passes the rules; one character more
    gets the field's message."""
    cells = {
        "fname": "Ada",
        "lname": "Lovelace",
        "email": "ada@example.com",
        "password": "web-pass",
        "phone_password": "sip-pass-201",
    }

    def errors(length: int) -> list[str]:
        row = cells | {column: "a" * length}
        base = template_base(TEMPLATE)
        return evaluate(
            row,
            "201",
            ExtensionType.SIP,
            base,
            POLICY,
            voicemail_pin_rule=VoicemailPinRule.NONE,
        ).errors

    assert errors(field.longest) == []
    assert errors(field.longest + 1) == [message.format()]
