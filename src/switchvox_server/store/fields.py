"""The length limits of every field a user writes: one table that the model's column sizes,
the row rules, the row messages, the seed loader and the command line all read.

A field's `longest` is also its column's size, so what the rules accept always fits (and
PostgreSQL, unlike SQLite, would refuse more). `shortest` is 0 for an optional field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldLimit:
    """How long a field may be, and its name in messages."""

    label: str
    longest: int
    shortest: int = 0


# Extension fields, as a bulk upload row gives them (docs/csv.md).
FIRST_NAME = FieldLimit("First name", 32, 1)
LAST_NAME = FieldLimit("Last name", 32, 1)
EMAIL = FieldLimit("Email address", 254, 1)
TITLE = FieldLimit("Title", 64)
LOCATION = FieldLimit("Location", 64)
WEB_PASSWORD = FieldLimit("Web password", 32, 4)
# The `modern` profile's complex web passwords (profiles.COMPLEX_PASSWORDS).
COMPLEX_WEB_PASSWORD = FieldLimit("Web password", 32, 8)
VOICEMAIL_PIN = FieldLimit("Voicemail password", 16, 4)
PHONE_PASSWORD = FieldLimit("Phone password", 32)
# A strong phone password (settings.strong_phone_passwords) is at least this long.
STRONG_PHONE_PASSWORD = FieldLimit("Phone password", 32, 8)
# Twelve hexadecimal digits once the separators are taken out.
MAC_ADDRESS = FieldLimit("Digium phone MAC address", 12, 12)
# Extension numbers: settings bound the length further (SWITCHVOX_EXTENSION_MAX_LENGTH).
EXTENSION_NUMBER = FieldLimit("Extension", 32, 1)

# Names: of templates and of admin accounts.
TEMPLATE_NAME = FieldLimit("template name", 64, 1)
ADMIN_NAME = FieldLimit("admin name", 64, 1)
# Short codes: a template's language and status, and the stored choices of enums.
LANG_LOCALE = FieldLimit("lang_locale", 16, 1)
STATUS = FieldLimit("status", 16, 1)
CHOICE_LENGTH = 16

# Stored forms of secrets (passwords.py): hex MD5 and SHA-256 digests, an scrypt encoding.
HA1_LENGTH = 32
PIN_DIGEST_LENGTH = 64
PASSWORD_HASH_LENGTH = 200
