"""Admin accounts, extension credentials and the server secret. Functions take a Session
and never commit."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from switchvox_server.passwords import digest_ha1, hash_password, verify_ha1
from switchvox_server.store.fields import ADMIN_NAME
from switchvox_server.store.models import AccessLevel, AdminAccount, Extension, ServerSecret

DEFAULT_ADMIN = "admin"
MAX_ADMIN_NAME_LENGTH = ADMIN_NAME.longest
SECRET_KEY_NAME = "secret_key"


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    """What authentication needs of an account; `password_hash` is None for extensions,
    whose web password is kept only as its Digest HA1."""

    access: AccessLevel | None
    digest_ha1: str
    password_hash: str | None


def admin_name_problem(name: str) -> str | None:
    """Why `name` cannot name an admin account, or None when it can."""
    if not name:
        return "an admin name must not be empty"
    if len(name) > MAX_ADMIN_NAME_LENGTH:
        return f"an admin name must be at most {MAX_ADMIN_NAME_LENGTH} characters"
    if name != name.strip() or any(not character.isprintable() for character in name):
        return "an admin name must not contain control characters or start or end with spaces"
    if any(character in name for character in ':"\\'):
        # Basic credentials end the name at the first colon; many Digest clients do not
        # escape quotes or backslashes in the username.
        return "an admin name must not contain a colon, a double quote or a backslash"
    if name.isascii() and name.isdigit():
        # Digits-only names are how extensions sign in; an extension would shadow the admin.
        return "an admin name must not be all digits (extensions sign in so)"
    return None


def admin_credentials(session: Session, name: str) -> StoredCredentials | None:
    # Columns, not the mapped object: a found name then costs no more than a missing one.
    row = session.execute(
        select(AdminAccount.access, AdminAccount.digest_ha1, AdminAccount.password_hash).where(
            AdminAccount.name == name
        )
    ).first()
    if row is None:
        return None
    access, ha1, password_hash = row
    return StoredCredentials(AccessLevel(access), ha1, password_hash)


def extension_credentials(session: Session, number: str) -> StoredCredentials | None:
    ha1 = session.scalars(
        select(Extension.web_password_ha1).where(Extension.number == number)
    ).first()
    return None if ha1 is None else StoredCredentials(None, ha1, None)


def _stored_password(name: str, password: str) -> dict[str, str]:
    """The two forms an admin's password is kept in, always written together: the scrypt
    hash for Basic and the HA1 for Digest (which binds the name too)."""
    return {"password_hash": hash_password(password), "digest_ha1": digest_ha1(name, password)}


def add_admin(session: Session, name: str, password: str, access: AccessLevel) -> None:
    session.add(AdminAccount(name=name, access=access.value, **_stored_password(name, password)))


def set_admin_password(session: Session, name: str, password: str) -> bool:
    """Replace an admin's password (both stored forms); False when there is no such admin."""
    result = session.execute(
        update(AdminAccount)
        .where(AdminAccount.name == name)
        .values(_stored_password(name, password))
    )
    return bool(cast(CursorResult[Any], result).rowcount)


def put_admin(session: Session, name: str, password: str, access: AccessLevel) -> bool:
    """Make the admin `name` exist with this password and access; True when it was created.

    An unchanged password is not hashed again: the cheap HA1 tells, and it saves an scrypt
    hash per admin each time a seed that declares it is applied.
    """
    stored = session.execute(
        select(AdminAccount.digest_ha1).where(AdminAccount.name == name)
    ).scalar_one_or_none()
    if stored is None:
        add_admin(session, name, password, access)
        return True
    values: dict[str, str] = {"access": access.value}
    if not verify_ha1(name, password, stored):
        values |= _stored_password(name, password)
    session.execute(update(AdminAccount).where(AdminAccount.name == name).values(values))
    return False


def remove_all_extensions(session: Session) -> None:
    session.execute(delete(Extension))


def remove_admins_except(session: Session, names: Collection[str]) -> None:
    session.execute(delete(AdminAccount).where(AdminAccount.name.not_in(names)))


def remove_admin(session: Session, name: str) -> bool:
    result = session.execute(delete(AdminAccount).where(AdminAccount.name == name))
    return bool(cast(CursorResult[Any], result).rowcount)


def list_admins(session: Session) -> list[tuple[str, AccessLevel]]:
    rows = session.execute(select(AdminAccount.name, AdminAccount.access).order_by("name"))
    return [(name, AccessLevel(access)) for name, access in rows]


def ensure_default_admin(session: Session, password: str | None) -> str | None:
    """Create the `admin` account on a system that has no admin yet.

    Returns the password when this call generated it (so the caller can show it once).
    """
    if session.scalars(select(AdminAccount.id).limit(1)).first() is not None:
        return None
    generated = password is None
    chosen = password if password is not None else secrets.token_urlsafe(12)
    add_admin(session, DEFAULT_ADMIN, chosen, AccessLevel.FULL)
    return chosen if generated else None


def ensure_secret_key(session: Session) -> bytes:
    """The server secret kept in the database, generated on first use."""
    value = session.scalars(
        select(ServerSecret.value).where(ServerSecret.name == SECRET_KEY_NAME)
    ).first()
    if value is None:
        value = secrets.token_hex(32)
        session.add(ServerSecret(name=SECRET_KEY_NAME, value=value))
    return value.encode()
