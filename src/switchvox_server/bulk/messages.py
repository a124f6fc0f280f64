"""Every message a report row can carry, with a stable identifier and its origin.

Three texts are Switchvox's own (documented); the others are this project's, written in
the same voice: a full sentence naming the field and stating the limit. A message never
contains a password. The limits in the texts are those of store/fields.py, the table the
rules check against.
"""

from __future__ import annotations

from enum import Enum

from switchvox_server.faults import Origin, fill
from switchvox_server.store import fields
from switchvox_server.store.fields import FieldLimit


def _required_length(field: FieldLimit) -> str:
    return (
        f"{field.label} is required and must be {field.shortest} - {field.longest}"
        " characters in length."
    )


def _at_most(field: FieldLimit) -> str:
    return f"{field.label} must be at most {field.longest} characters in length."


_PIN_DIGITS = f"{fields.VOICEMAIL_PIN.shortest} - {fields.VOICEMAIL_PIN.longest} digits"


class RowMessage(Enum):
    """A row-level validation message; `%1`, `%2`… are filled with values."""

    def __init__(self, template: str, origin: Origin) -> None:
        self.template = template
        self.origin = origin

    def format(self, *values: object) -> str:
        return fill(self.template, values)

    CELL_COUNT = ("This row has %1 cells but the header has %2.", Origin.OURS)
    EXTENSION_REQUIRED = ("Extension is required.", Origin.OURS)
    EXTENSION_DIGITS = ("Extension may only contain the digits 0 to 9.", Origin.OURS)
    EXTENSION_LENGTH = ("Extension must be %1 - %2 digits in length.", Origin.OURS)
    EXTENSION_REPEATED = (
        "Extension %1 appears more than once in this file; its first occurrence is on row %2.",
        Origin.OURS,
    )
    FIRST_NAME = (_required_length(fields.FIRST_NAME), Origin.DOCUMENTED)
    LAST_NAME = (_required_length(fields.LAST_NAME), Origin.OURS)
    EMAIL = (
        f"{fields.EMAIL.label} is required and must be a valid address of at most"
        f" {fields.EMAIL.longest} characters.",
        Origin.OURS,
    )
    TITLE = (_at_most(fields.TITLE), Origin.OURS)
    LOCATION = (_at_most(fields.LOCATION), Origin.OURS)
    WEB_PASSWORD = (_required_length(fields.WEB_PASSWORD), Origin.OURS)
    VOICEMAIL_PASSWORD = (
        f"{fields.VOICEMAIL_PIN.label} must contain only digits and be {_PIN_DIGITS} in length.",
        Origin.OURS,
    )
    VOICEMAIL_PASSWORD_REQUIRED = (
        f"{fields.VOICEMAIL_PIN.label} is required by the extension template and must be"
        f" {_PIN_DIGITS} in length.",
        Origin.OURS,
    )
    # The `modern` profile's rules (profiles.VOICEMAIL_PASSWORD_REQUIRED, COMPLEX_PASSWORDS).
    VOICEMAIL_PASSWORD_REQUIRED_NEW = (
        f"{fields.VOICEMAIL_PIN.label} is required to create an extension and must be"
        f" {_PIN_DIGITS} in length.",
        Origin.OURS,
    )
    VOICEMAIL_PASSWORD_SIMPLE = (
        "Voicemail password must not be a run of consecutive digits (such as 1234 or 4321)"
        " or one digit repeated.",
        Origin.OURS,
    )
    WEB_PASSWORD_COMPLEX = (
        _required_length(fields.COMPLEX_WEB_PASSWORD).removesuffix(".")
        + " and contain both letters and digits.",
        Origin.OURS,
    )
    PHONE_PASSWORD_REQUIRED = (
        "Phone password is required to create a sip extension.",
        Origin.DOCUMENTED,
    )
    PHONE_PASSWORD_SAME = ("Phone password cannot be the same as the extension.", Origin.DOCUMENTED)
    PHONE_PASSWORD_LENGTH = (_at_most(fields.PHONE_PASSWORD), Origin.OURS)
    PHONE_PASSWORD_WEAK = (
        f"{fields.STRONG_PHONE_PASSWORD.label} must be at least"
        f" {fields.STRONG_PHONE_PASSWORD.shortest} characters in length and contain both"
        " letters and digits.",
        Origin.OURS,
    )
    MAC_ADDRESS = (
        f"{fields.MAC_ADDRESS.label} must be {fields.MAC_ADDRESS.longest} hexadecimal digits,"
        " optionally separated by : or -.",
        Origin.OURS,
    )
    MAC_ADDRESS_IN_USE = (
        "Digium phone MAC address %1 is already assigned to extension %2.",
        Origin.OURS,
    )
    MAC_ADDRESS_REPEATED = (
        "Digium phone MAC address %1 appears more than once in this file; its first occurrence"
        " is on row %2.",
        Origin.OURS,
    )
    CONTROL_CHARACTER = ("%1 must not contain control characters.", Origin.OURS)
