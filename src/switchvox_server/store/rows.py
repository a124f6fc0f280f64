"""The shapes of the template and extension rows that travel between the row rules, the
upload, the writers and the history. They are TypedDicts: plain dicts at run time (the
upload builds one per CSV row), checked by mypy everywhere they are read or written.

An extension row goes through three stages:

- `ExtensionBase`: what a new extension starts from (its template's defaults, see
  `bulk.rules.template_base`), or a stored extension on update;
- `ExtensionValues`: the base with a row applied (`bulk.rules.evaluate`): the stored
  columns, plus each new secret in clear under its `new_*` key until the writer derives its
  stored form (`passwords.settle_secrets`), and, for a stored row being rewritten, its
  `stored_account_id`;
- `StoredExtension`: an extension read back from the table; a lookup may ask for only its
  identity (`queries.IDENTITY_COLUMNS`) or for every column.

Nothing here imports SQLAlchemy: the helper process that stores uploads reads these too.
"""

from __future__ import annotations

from typing import Any, NotRequired, Required, TypedDict


class TemplateRow(TypedDict):
    """A template, every column (store/models.py `Template`)."""

    id: int
    name: str
    lang_locale: str
    can_dial_from_ivr: bool
    status: str
    title: str
    location: str
    voicemail_enabled: bool
    voicemail_pin_rule: str


class ExtensionBase(TypedDict):
    """The columns a row's cells may keep, as a new extension starts them."""

    first_name: str
    last_name: str
    email: str
    title: str
    location: str
    web_password_ha1: str | None
    voicemail_pin_digest: str | None
    phone_password_ha1: str | None
    mac_address: str | None
    template_id: int
    status: str
    lang_locale: str
    can_dial_from_ivr: bool
    voicemail_enabled: bool


class ExtensionValues(ExtensionBase):
    """An extension as the rules leave it, and as the writers store it."""

    number: str
    extension_type: str
    account_id: NotRequired[int]  # present when the base was a stored extension
    new_web_password: NotRequired[str]
    new_phone_password: NotRequired[str]
    new_voicemail_pin: NotRequired[str]
    stored_account_id: NotRequired[int]  # a rewrite's target
    date_created: NotRequired[Any]  # set by the writer, in the driver's own form


class StoredExtension(TypedDict, total=False):
    """An extension read from the table: its identity, and whichever other columns the
    lookup asked for. An update asks for every column, and reads the row as its
    ExtensionBase; the keys named here are those read on their own."""

    account_id: Required[int]
    number: Required[str]
    extension_type: str
