"""The two profiles of Switchvox behaviour, and the one table of what differs between them.

`classic` (the default) answers as the published method page and the 2009-2012 captures
do; `modern` as 6.4+/6.6+ firmware does. Every branch of the code that depends on the
profile asks `profile.takes(ROW)` for one row of DIFFERENCES, so the table below is the
whole list by construction. `python -m switchvox_server.profiles` prints it as the Markdown
of docs/profiles.md, and a test keeps that file in step.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Difference:
    """One behaviour that differs between the profiles, with the evidence for each side."""

    behaviour: str
    classic: str
    modern: str
    evidence: str


JSON_STRINGS = Difference(
    "JSON scalar types",
    "Values that are numbers by nature (codes, ids, counts, flags, extension numbers without"
    ' a leading zero) are JSON numbers: `"code": 10011`, `"template_id": 1`.',
    'Every value is a JSON string: `"account_id": "1122"`, `"page_number": "1"`,'
    ' `"code": "10011"`.',
    "JSON answers captured from 2009-2012 systems carry numbers; those captured from"
    " 2013-2017 systems (6.x firmware) quote every value. XML is the same in both.",
)
VOICEMAIL_PASSWORD_REQUIRED = Difference(
    "`voicemail_password` of a new extension",
    "Optional: an empty cell follows the template's voicemail PIN rule.",
    "Required for a new (or replaced) SIP or Virtual extension.",
    "The method page lists `voicemail_password` as optional; the 6.4+ bulk import table"
    " marks it required. `phone_password` stays required for SIP in both: the API's own"
    " example requires it.",
)
COMPLEX_PASSWORDS = Difference(
    "Password strength",
    "The minimums of docs/csv.md: web password 4-32 characters, voicemail PIN 4-16 digits,"
    " phone password strong only with SWITCHVOX_STRONG_PHONE_PASSWORDS.",
    "Complex: web password 8-32 characters with letters and digits; phone password at least"
    " 8 characters mixing letters and digits; voicemail PIN neither a run (`1234`, `4321`)"
    " nor one digit repeated (`1111`).",
    'The 6.6+ import documents: "Switchvox requires complex passwords for passwords,'
    ' numeric PINs, and phone-registrations". The thresholds are ours.',
)

DIFFERENCES: tuple[Difference, ...] = (JSON_STRINGS, VOICEMAIL_PASSWORD_REQUIRED, COMPLEX_PASSWORDS)


class Profile(enum.StrEnum):
    """Which firmware generation the server answers as (SWITCHVOX_PROFILE)."""

    CLASSIC = "classic"
    MODERN = "modern"

    def takes(self, difference: Difference) -> bool:
        """True when this profile follows the `modern` side of `difference`."""
        if difference not in DIFFERENCES:
            raise ValueError(f"{difference.behaviour!r} is not a row of the profiles table")
        return self is Profile.MODERN


def as_markdown() -> str:
    """The Markdown of docs/profiles.md."""
    lines = [
        "# Profiles",
        "",
        "`SWITCHVOX_PROFILE` chooses which generation of Switchvox the server answers as:"
        " `classic` (the default: the published method page, byte for byte on its example)"
        " or `modern` (6.4+/6.6+ firmware). This table is every behaviour that differs;"
        " everything else is the same under both. It is generated from the code"
        " (`python -m switchvox_server.profiles`).",
        "",
        "| behaviour | `classic` | `modern` | evidence |",
        "| --- | --- | --- | --- |",
        *(
            f"| {row.behaviour} | {row.classic} | {row.modern} | {row.evidence} |"
            for row in DIFFERENCES
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(as_markdown(), end="")
