"""The row rules on their own: evaluate() and check_extension() for every rule, without a
server. tests/test_bulk_rows.py keeps a handful of them over HTTP and with curl."""

from __future__ import annotations

from typing import cast

import pytest

from switchvox_server.bulk.messages import RowMessage
from switchvox_server.bulk.rules import (
    Evaluation,
    RowPolicy,
    check_extension,
    evaluate,
    template_base,
)
from switchvox_server.settings import Settings
from switchvox_server.store.models import ExtensionType, VoicemailPinRule
from switchvox_server.store.rows import TemplateRow
from switchvox_server.store.templates import default_settings

HEADER = "ext,fname,lname,email,password,voicemail_password,phone_password"
# The settings and the template (`Default`) of a fresh database.
POLICY = RowPolicy.from_settings(Settings())
DEFAULT_TEMPLATE = cast(TemplateRow, {"id": 1, "name": "Default", **default_settings()})

# (the cells after the extension number 501, the one message the row gets)
ROW_RULES = [
    (",Lee,ann@test.com,webpass1,1234,sipsecret", RowMessage.FIRST_NAME.format()),
    ("A" * 33 + ",Lee,ann@test.com,webpass1,1234,sipsecret", RowMessage.FIRST_NAME.format()),
    ("Ann,,ann@test.com,webpass1,1234,sipsecret", RowMessage.LAST_NAME.format()),
    (
        "Ann," + "L" * 33 + ",ann@test.com,webpass1,1234,sipsecret",
        RowMessage.LAST_NAME.format(),
    ),
    ("Ann,Lee,,webpass1,1234,sipsecret", RowMessage.EMAIL.format()),
    ("Ann,Lee,not-an-address,webpass1,1234,sipsecret", RowMessage.EMAIL.format()),
    ("Ann,Lee,ann@localhost,webpass1,1234,sipsecret", RowMessage.EMAIL.format()),
    ("Ann,Lee,ann@test.com,,1234,sipsecret", RowMessage.WEB_PASSWORD.format()),
    ("Ann,Lee,ann@test.com,abc,1234,sipsecret", RowMessage.WEB_PASSWORD.format()),
    ("Ann,Lee,ann@test.com," + "p" * 33 + ",1234,sipsecret", RowMessage.WEB_PASSWORD.format()),
    ("Ann,Lee,ann@test.com,webpass1,12a4,sipsecret", RowMessage.VOICEMAIL_PASSWORD.format()),
    ("Ann,Lee,ann@test.com,webpass1,123,sipsecret", RowMessage.VOICEMAIL_PASSWORD.format()),
    (
        "Ann,Lee,ann@test.com,webpass1," + "1" * 17 + ",sip",
        RowMessage.VOICEMAIL_PASSWORD.format(),
    ),
    ("Ann,Lee,ann@test.com,webpass1,1234,", RowMessage.PHONE_PASSWORD_REQUIRED.format()),
    (
        "Ann,Lee,ann@test.com,webpass1,1234," + "s" * 33,
        RowMessage.PHONE_PASSWORD_LENGTH.format(),
    ),
    ("Ann,Lee,ann@test.com,webpass1,1234,501", RowMessage.PHONE_PASSWORD_SAME.format()),
    (
        "Ann\x00,Lee,ann@test.com,webpass1,1234,sipsecret",
        "First name must not contain control characters.",
    ),
    (
        "Ann,Lee\x0b,ann@test.com,webpass1,1234,sipsecret",
        "Last name must not contain control characters.",
    ),
    (
        "Ann,Lee,ann@test.com,web\x7fpass,1234,sipsecret",
        "Web password must not contain control characters.",
    ),
]

# (an extension number, its message)
EXTENSION_RULES = [
    ("", RowMessage.EXTENSION_REQUIRED.format()),
    ("12a", RowMessage.EXTENSION_DIGITS.format()),
    ("1.01E+05", RowMessage.EXTENSION_DIGITS.format()),
    ("\u0661\u0662\u0663", RowMessage.EXTENSION_DIGITS.format()),
    ("12", RowMessage.EXTENSION_LENGTH.format(3, 6)),
    ("1234567", RowMessage.EXTENSION_LENGTH.format(3, 6)),
]


def evaluate_row(cells: str, number: str = "501") -> Evaluation:
    """The rules applied to one CSV row of HEADER, for a new sip extension of the default
    template."""
    values = dict(zip(HEADER.split(","), [number, *cells.split(",")], strict=True))
    return evaluate(
        values,
        number,
        ExtensionType.SIP,
        template_base(DEFAULT_TEMPLATE),
        POLICY,
        voicemail_pin_rule=VoicemailPinRule(DEFAULT_TEMPLATE["voicemail_pin_rule"]),
    )


@pytest.mark.parametrize(("cells", "message"), ROW_RULES)
def test_each_row_rule_fails_the_row(cells: str, message: str) -> None:
    """A row breaking one rule gets exactly that rule's message."""
    assert evaluate_row(cells).errors == [message]


def test_a_row_keeping_every_rule_has_no_errors() -> None:
    """The row that each rule case breaks in one field passes every rule as it is."""
    evaluation = evaluate_row("Ann,Lee,ann@test.com,webpass1,1234,sipsecret")
    assert evaluation.errors == []
    assert (evaluation.values["first_name"], evaluation.values["email"]) == ("Ann", "ann@test.com")


@pytest.mark.parametrize(("number", "message"), EXTENSION_RULES)
def test_extension_number_rules(number: str, message: str) -> None:
    """Extension numbers must be ASCII digits within the configured length bounds."""
    assert check_extension(number, POLICY) == message


@pytest.mark.parametrize("number", ["123", "501", "123456"])
def test_well_formed_extension_numbers_pass(number: str) -> None:
    """ASCII digits within the default bounds of 3 to 6 are a well-formed number."""
    assert check_extension(number, POLICY) is None
