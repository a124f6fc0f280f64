"""The row rules: from one CSV row (and a template or a stored extension) to the values to
store, or to the list of what is wrong with the row, in column order.

Cells follow Switchvox's update rule: an empty cell keeps the base value (the template's
default for a new extension, the stored value on update); a cell of only spaces blanks the
field; any other cell is the new value, trimmed (passwords are taken as written).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, cast

from switchvox_server import profiles
from switchvox_server.bulk.messages import RowMessage
from switchvox_server.passwords import NEW_PHONE_PASSWORD, NEW_VOICEMAIL_PIN, NEW_WEB_PASSWORD
from switchvox_server.settings import Settings
from switchvox_server.store import fields
from switchvox_server.store.fields import FieldLimit
from switchvox_server.store.models import ExtensionType, VoicemailPinRule
from switchvox_server.store.rows import ExtensionBase, ExtensionValues, TemplateRow

CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
EMAIL_ADDRESS = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
MAC_SEPARATORS = str.maketrans("", "", ":-")
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# What makes a spreadsheet run a cell as a formula (OWASP "CSV injection"). The export
# prefixes such cells with a quote; the import takes that quote off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# CSV column -> its field (for its name in messages and its limits).
COLUMN_FIELDS: Mapping[str, FieldLimit] = {
    "ext": fields.EXTENSION_NUMBER,
    "fname": fields.FIRST_NAME,
    "lname": fields.LAST_NAME,
    "email": fields.EMAIL,
    "title": fields.TITLE,
    "location": fields.LOCATION,
    "password": fields.WEB_PASSWORD,
    "voicemail_password": fields.VOICEMAIL_PIN,
    "phone_password": fields.PHONE_PASSWORD,
    "digium_phone_mac_address": fields.MAC_ADDRESS,
}
FIELD_NAMES = {column: field.label for column, field in COLUMN_FIELDS.items()}

TextColumn = Literal["first_name", "last_name", "email", "title", "location"]
_TEXT_COLUMNS: tuple[tuple[str, TextColumn, RowMessage], ...] = (
    ("fname", "first_name", RowMessage.FIRST_NAME),
    ("lname", "last_name", RowMessage.LAST_NAME),
    ("email", "email", RowMessage.EMAIL),
    ("title", "title", RowMessage.TITLE),
    ("location", "location", RowMessage.LOCATION),
)
# column -> (stored field, maximum length, required, message)
TEXT_FIELDS: tuple[tuple[str, TextColumn, int, bool, RowMessage], ...] = tuple(
    (column, stored, COLUMN_FIELDS[column].longest, COLUMN_FIELDS[column].shortest > 0, message)
    for column, stored, message in _TEXT_COLUMNS
)
# Read per row, so kept as plain ints.
_PIN_SHORTEST, _PIN_LONGEST = fields.VOICEMAIL_PIN.shortest, fields.VOICEMAIL_PIN.longest
# A template's texts that a new extension takes, and their limits.
TEMPLATE_TEXTS: tuple[tuple[Literal["title", "location"], FieldLimit], ...] = (
    ("title", fields.TITLE),
    ("location", fields.LOCATION),
)


class Cell(Enum):
    """What a secret's cell does when it holds no new value."""

    KEEP = "keep"  # empty: the base value stays
    BLANK = "blank"  # only spaces: the field is cleared
    INVALID = "invalid"  # unusable, already reported


@dataclass(frozen=True, slots=True)
class RowPolicy:
    """The system settings that the row rules depend on."""

    extension_min_length: int
    extension_max_length: int
    strong_phone_passwords: bool
    voicemail_password_required: bool = False
    """A new or replaced extension needs a PIN (profiles.VOICEMAIL_PASSWORD_REQUIRED)."""
    complex_passwords: bool = False
    """Web, phone and voicemail secrets must be complex (profiles.COMPLEX_PASSWORDS)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> RowPolicy:
        complex_passwords = settings.profile.takes(profiles.COMPLEX_PASSWORDS)
        return cls(
            extension_min_length=settings.extension_min_length,
            extension_max_length=settings.extension_max_length,
            strong_phone_passwords=settings.strong_phone_passwords or complex_passwords,
            voicemail_password_required=settings.profile.takes(
                profiles.VOICEMAIL_PASSWORD_REQUIRED
            ),
            complex_passwords=complex_passwords,
        )


@dataclass(slots=True)
class Evaluation:
    """The outcome of the rules for one row: the values to store, or the errors."""

    values: ExtensionValues
    errors: list[str] = field(default_factory=list)


def check_extension(cell: str, policy: RowPolicy) -> str | None:
    """The message for a malformed extension number, or None when it is well formed."""
    if not cell:
        return RowMessage.EXTENSION_REQUIRED.format()
    if not (cell.isascii() and cell.isdigit()):
        return RowMessage.EXTENSION_DIGITS.format()
    if not policy.extension_min_length <= len(cell) <= policy.extension_max_length:
        return RowMessage.EXTENSION_LENGTH.format(
            policy.extension_min_length, policy.extension_max_length
        )
    return None


def normalise_mac(cell: str) -> str | None:
    """Twelve hex digits in upper case, or None when the cell is not a MAC address."""
    compact = cell.strip().translate(MAC_SEPARATORS)
    if len(compact) != fields.MAC_ADDRESS.longest or not HEX_DIGITS.issuperset(compact):
        return None
    return compact.upper()


def unquote_formula(text: str) -> str:
    """Undo the export's neutralising quote: `'=x` is read as `=x`.

    One quote goes for any run of quotes before a formula character, so that `''=x` (the
    export of a stored `'=x`) reads back as `'=x` and an export re-imports unchanged.
    """
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS):
        return text[1:]
    return text


def usable_template(template: TemplateRow) -> bool:
    """Whether a template's defaults can make a valid extension (fault 38297 otherwise)."""
    texts_fit = all(
        isinstance(template[name], str)
        and len(template[name]) <= field.longest
        and not CONTROL_CHARACTER.search(template[name])
        for name, field in TEMPLATE_TEXTS
    )
    return (
        texts_fit
        and template["voicemail_pin_rule"] in {rule.value for rule in VoicemailPinRule}
        and bool(template["lang_locale"])
        and bool(template["status"])
    )


def template_base(template: TemplateRow) -> ExtensionBase:
    """The stored values a new extension starts from before its row is applied."""
    return {
        "first_name": "",
        "last_name": "",
        "email": "",
        "title": template["title"],
        "location": template["location"],
        "web_password_ha1": None,
        "voicemail_pin_digest": None,
        "phone_password_ha1": None,
        "mac_address": None,
        "template_id": template["id"],
        "status": template["status"],
        "lang_locale": template["lang_locale"],
        "can_dial_from_ivr": template["can_dial_from_ivr"],
        "voicemail_enabled": template["voicemail_enabled"],
    }


def evaluate(
    cells: Mapping[str, str],
    number: str,
    extension_type: ExtensionType,
    base: ExtensionBase,
    policy: RowPolicy,
    *,
    voicemail_pin_rule: VoicemailPinRule | None,
) -> Evaluation:
    """Apply a row to `base` and check the result.

    `voicemail_pin_rule` is the template's rule for a new (or replaced) extension, and None
    on update, where an empty voicemail cell keeps the stored PIN.
    """
    values = cast(ExtensionValues, dict(base))
    values["number"] = number
    values["extension_type"] = extension_type.value
    errors: list[str] = []

    for column, stored, maximum, required, message in TEXT_FIELDS:
        cell = cells.get(column, "")
        if cell:
            if CONTROL_CHARACTER.search(cell):
                errors.append(_control_character(column))
                continue
            values[stored] = unquote_formula(cell.strip())
        text = values[stored]
        malformed = column == "email" and text and not EMAIL_ADDRESS.fullmatch(text)
        if len(text) > maximum or (required and not text) or malformed:
            errors.append(message.format())

    _apply_web_password(cells, values, errors, policy)
    _apply_voicemail_pin(cells, number, values, errors, voicemail_pin_rule, policy)
    _apply_phone_password(cells, number, extension_type, values, errors, policy)

    mac_cell = cells.get("digium_phone_mac_address", "")
    if mac_cell.strip():
        mac = normalise_mac(mac_cell)
        if mac is None:
            errors.append(RowMessage.MAC_ADDRESS.format())
        values["mac_address"] = mac
    elif mac_cell:
        values["mac_address"] = None
    return Evaluation(values, errors)


def _apply_web_password(
    cells: Mapping[str, str], values: ExtensionValues, errors: list[str], policy: RowPolicy
) -> None:
    if policy.complex_passwords:
        message, limit, usable = (
            RowMessage.WEB_PASSWORD_COMPLEX,
            fields.COMPLEX_WEB_PASSWORD,
            _is_strong,
        )
    else:
        message, limit, usable = RowMessage.WEB_PASSWORD, fields.WEB_PASSWORD, _any_secret
    password = _secret(cells, "password", errors)
    if isinstance(password, str):
        if limit.shortest <= len(password) <= limit.longest and usable(password):
            values[NEW_WEB_PASSWORD] = password
        else:
            errors.append(message.format())
        return
    if password is Cell.BLANK:
        values["web_password_ha1"] = None
    if password is not Cell.INVALID and values["web_password_ha1"] is None:
        errors.append(message.format())


def _apply_voicemail_pin(
    cells: Mapping[str, str],
    number: str,
    values: ExtensionValues,
    errors: list[str],
    rule: VoicemailPinRule | None,
    policy: RowPolicy,
) -> None:
    pin = _secret(cells, "voicemail_password", errors)
    if isinstance(pin, str):
        if not (pin.isascii() and pin.isdigit() and _PIN_SHORTEST <= len(pin) <= _PIN_LONGEST):
            errors.append(RowMessage.VOICEMAIL_PASSWORD.format())
        elif policy.complex_passwords and _is_simple_pin(pin):
            errors.append(RowMessage.VOICEMAIL_PASSWORD_SIMPLE.format())
        else:
            values[NEW_VOICEMAIL_PIN] = pin
        return
    if pin is Cell.INVALID:
        return
    if pin is Cell.BLANK:
        values["voicemail_pin_digest"] = None
    if rule is None or values["voicemail_pin_digest"] is not None:
        return
    if policy.voicemail_password_required:
        errors.append(RowMessage.VOICEMAIL_PASSWORD_REQUIRED_NEW.format())
    elif rule is VoicemailPinRule.REQUIRED:
        errors.append(RowMessage.VOICEMAIL_PASSWORD_REQUIRED.format())
    elif rule is VoicemailPinRule.EXTENSION and values["voicemail_enabled"]:
        values[NEW_VOICEMAIL_PIN] = number


def _apply_phone_password(
    cells: Mapping[str, str],
    number: str,
    extension_type: ExtensionType,
    values: ExtensionValues,
    errors: list[str],
    policy: RowPolicy,
) -> None:
    if extension_type is not ExtensionType.SIP:
        # A virtual extension has no phone to register, so the column means nothing.
        values["phone_password_ha1"] = None
        return
    secret = _secret(cells, "phone_password", errors)
    if not isinstance(secret, str):
        if secret is Cell.BLANK:
            values["phone_password_ha1"] = None
        if secret is not Cell.INVALID and values["phone_password_ha1"] is None:
            errors.append(RowMessage.PHONE_PASSWORD_REQUIRED.format())
        return
    problems = len(errors)
    if len(secret) > fields.PHONE_PASSWORD.longest:
        errors.append(RowMessage.PHONE_PASSWORD_LENGTH.format())
    elif policy.strong_phone_passwords and not _is_strong(secret):
        errors.append(RowMessage.PHONE_PASSWORD_WEAK.format())
    if secret == number:
        errors.append(RowMessage.PHONE_PASSWORD_SAME.format())
    if len(errors) == problems:
        values[NEW_PHONE_PASSWORD] = secret


def _secret(cells: Mapping[str, str], column: str, errors: list[str]) -> str | Cell:
    """The new clear secret of a cell, or what the cell does instead of setting one."""
    cell = cells.get(column, "")
    if not cell:
        return Cell.KEEP
    if not cell.strip():
        return Cell.BLANK
    if CONTROL_CHARACTER.search(cell):
        errors.append(_control_character(column))
        return Cell.INVALID
    return cell


def _any_secret(secret: str) -> bool:
    return True


def _is_simple_pin(pin: str) -> bool:
    """One digit repeated (1111), or a run up or down by one (1234, 4321)."""
    steps = {int(after) - int(before) for before, after in itertools.pairwise(pin)}
    return steps <= {0} or steps == {1} or steps == {-1}


def _is_strong(secret: str) -> bool:
    return (
        len(secret) >= fields.STRONG_PHONE_PASSWORD.shortest
        and any(char.isalpha() for char in secret)
        and any(char.isdigit() for char in secret)
    )


def _control_character(column: str) -> str:
    return RowMessage.CONTROL_CHARACTER.format(FIELD_NAMES[column])
