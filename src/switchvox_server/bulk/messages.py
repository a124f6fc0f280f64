"""Every message a report row can carry, with a stable identifier and its origin.

Three texts are Switchvox's own (documented); the others are this project's, written in
the same voice: a full sentence naming the field and stating the limit. A message never
contains a password.
"""

from __future__ import annotations

from enum import Enum

from switchvox_server.faults import Origin, fill


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
    FIRST_NAME = (
        "First name is required and must be 1 - 32 characters in length.",
        Origin.DOCUMENTED,
    )
    LAST_NAME = ("Last name is required and must be 1 - 32 characters in length.", Origin.OURS)
    EMAIL = (
        "Email address is required and must be a valid address of at most 254 characters.",
        Origin.OURS,
    )
    TITLE = ("Title must be at most 64 characters in length.", Origin.OURS)
    LOCATION = ("Location must be at most 64 characters in length.", Origin.OURS)
    WEB_PASSWORD = (
        "Web password is required and must be 4 - 32 characters in length.",
        Origin.OURS,
    )
    VOICEMAIL_PASSWORD = (
        "Voicemail password must contain only digits and be 4 - 16 digits in length.",
        Origin.OURS,
    )
    VOICEMAIL_PASSWORD_REQUIRED = (
        "Voicemail password is required by the extension template and must be 4 - 16 digits"
        " in length.",
        Origin.OURS,
    )
    # The `modern` profile's rules (profiles.VOICEMAIL_PASSWORD_REQUIRED, COMPLEX_PASSWORDS).
    VOICEMAIL_PASSWORD_REQUIRED_NEW = (
        "Voicemail password is required to create an extension and must be 4 - 16 digits in"
        " length.",
        Origin.OURS,
    )
    VOICEMAIL_PASSWORD_SIMPLE = (
        "Voicemail password must not be a run of consecutive digits (such as 1234 or 4321)"
        " or one digit repeated.",
        Origin.OURS,
    )
    WEB_PASSWORD_COMPLEX = (
        "Web password is required and must be 8 - 32 characters in length and contain both"
        " letters and digits.",
        Origin.OURS,
    )
    PHONE_PASSWORD_REQUIRED = (
        "Phone password is required to create a sip extension.",
        Origin.DOCUMENTED,
    )
    PHONE_PASSWORD_SAME = ("Phone password cannot be the same as the extension.", Origin.DOCUMENTED)
    PHONE_PASSWORD_LENGTH = ("Phone password must be at most 32 characters in length.", Origin.OURS)
    PHONE_PASSWORD_WEAK = (
        "Phone password must be at least 8 characters in length and contain both letters and"
        " digits.",
        Origin.OURS,
    )
    MAC_ADDRESS = (
        "Digium phone MAC address must be 12 hexadecimal digits, optionally separated by : or -.",
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
