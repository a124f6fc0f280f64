"""The tables: extension templates, extensions, admin accounts and server secrets."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, MetaData, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from switchvox_server.store import fields

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ExtensionType(enum.StrEnum):
    SIP = "sip"
    VIRTUAL = "virtual"

    @property
    def display(self) -> str:
        return "SIP Extension" if self is ExtensionType.SIP else "Virtual Extension"


class VoicemailPinRule(enum.StrEnum):
    """What a new extension's voicemail PIN is when its row leaves the cell empty."""

    EXTENSION = "extension"  # the PIN starts as the extension number, as on many PBXs
    REQUIRED = "required"  # the row must supply a PIN
    NONE = "none"  # no PIN until the user sets one


class AccessLevel(enum.StrEnum):
    FULL = "full"
    READ_ONLY = "read_only"


class Template(Base):
    """An extension template: the defaults a new extension takes."""

    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(fields.TEMPLATE_NAME.longest), unique=True)
    lang_locale: Mapped[str] = mapped_column(String(fields.LANG_LOCALE.longest), default="en_us")
    can_dial_from_ivr: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(fields.STATUS.longest), default="1")
    title: Mapped[str] = mapped_column(String(fields.TITLE.longest), default="")
    location: Mapped[str] = mapped_column(String(fields.LOCATION.longest), default="")
    voicemail_enabled: Mapped[bool] = mapped_column(default=True)
    voicemail_pin_rule: Mapped[str] = mapped_column(
        String(fields.CHOICE_LENGTH), default=VoicemailPinRule.EXTENSION.value
    )


class Extension(Base):
    """A phone extension. Secrets are stored only in the forms described in `passwords`."""

    __tablename__ = "extensions"
    # Account ids start at 1101 (ours, migration 0002); on SQLite that needs AUTOINCREMENT.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy's own name)

    account_id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(fields.EXTENSION_NUMBER.longest), unique=True)
    extension_type: Mapped[str] = mapped_column(String(fields.CHOICE_LENGTH))
    first_name: Mapped[str] = mapped_column(String(fields.FIRST_NAME.longest))
    last_name: Mapped[str] = mapped_column(String(fields.LAST_NAME.longest))
    email: Mapped[str] = mapped_column(String(fields.EMAIL.longest))
    title: Mapped[str] = mapped_column(String(fields.TITLE.longest), default="")
    location: Mapped[str] = mapped_column(String(fields.LOCATION.longest), default="")
    web_password_ha1: Mapped[str] = mapped_column(String(fields.HA1_LENGTH))
    voicemail_pin_digest: Mapped[str | None] = mapped_column(String(fields.PIN_DIGEST_LENGTH))
    phone_password_ha1: Mapped[str | None] = mapped_column(String(fields.HA1_LENGTH))
    mac_address: Mapped[str | None] = mapped_column(String(fields.MAC_ADDRESS.longest), unique=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"))
    status: Mapped[str] = mapped_column(String(fields.STATUS.longest))
    lang_locale: Mapped[str] = mapped_column(String(fields.LANG_LOCALE.longest))
    can_dial_from_ivr: Mapped[bool]
    voicemail_enabled: Mapped[bool]
    date_created: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class AdminAccount(Base):
    """An administrator who may call the API with Basic or Digest credentials."""

    __tablename__ = "admin_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(fields.ADMIN_NAME.longest), unique=True)
    access: Mapped[str] = mapped_column(
        String(fields.CHOICE_LENGTH), default=AccessLevel.FULL.value
    )
    password_hash: Mapped[str] = mapped_column(String(fields.PASSWORD_HASH_LENGTH))
    digest_ha1: Mapped[str] = mapped_column(String(fields.HA1_LENGTH))


class ServerSecret(Base):
    """Named secrets generated once and shared by every process on this database."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
