"""The store's writes of admin accounts and templates, the ones the command line, the seed
and the control API all call."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from switchvox_server.passwords import verify_ha1, verify_password
from switchvox_server.store import accounts, queries, templates
from switchvox_server.store.models import AccessLevel, AdminAccount


def _stored(session: Session, name: str) -> AdminAccount:
    return session.scalars(select(AdminAccount).where(AdminAccount.name == name)).one()


def _add(session: Session, name: str, password: str) -> None:
    accounts.add_admin(session, name, password, AccessLevel.FULL)


def _set(session: Session, name: str, password: str) -> None:
    accounts.add_admin(session, name, "first-password", AccessLevel.FULL)
    session.flush()
    assert accounts.set_admin_password(session, name, password)


def _put_new(session: Session, name: str, password: str) -> None:
    assert accounts.put_admin(session, name, password, AccessLevel.FULL)


def _put_changed(session: Session, name: str, password: str) -> None:
    accounts.add_admin(session, name, "first-password", AccessLevel.FULL)
    session.flush()
    assert not accounts.put_admin(session, name, password, AccessLevel.READ_ONLY)


@pytest.mark.parametrize("write", [_add, _set, _put_new, _put_changed], ids=lambda f: f.__name__)
def test_every_admin_password_write_stores_both_forms(
    client: TestClient, write: Callable[[Session, str, str], None]
) -> None:
    """However an admin's password is written, its scrypt hash and its Digest HA1 both
    verify the new password and neither verifies the old one."""
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.sessions.begin() as session:
        write(session, "ops", "new-password")
    with database.sessions() as session:
        stored = _stored(session, "ops")
        assert verify_password("new-password", stored.password_hash)
        assert verify_ha1("ops", "new-password", stored.digest_ha1)
        assert not verify_password("first-password", stored.password_hash)


def test_put_admin_keeps_an_unchanged_password_and_sets_the_access(client: TestClient) -> None:
    """Putting an admin again with the same password keeps its stored hash (no new scrypt
    hash) and changes only its access."""
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.sessions.begin() as session:
        assert accounts.put_admin(session, "ops", "same-password", AccessLevel.FULL)
    with database.sessions() as session:
        before = _stored(session, "ops").password_hash
    with database.sessions.begin() as session:
        assert not accounts.put_admin(session, "ops", "same-password", AccessLevel.READ_ONLY)
    with database.sessions() as session:
        stored = _stored(session, "ops")
        assert stored.password_hash == before
        assert stored.access == AccessLevel.READ_ONLY.value


def test_put_template_creates_once_then_changes_in_place(client: TestClient) -> None:
    """Putting a template creates it under a new id, and putting it again changes that
    template's settings and keeps its id."""
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.sessions.begin() as session:
        created_id, created = templates.put_template(session, "Sales", {"title": "Sales"})
    with database.sessions.begin() as session:
        same_id, again = templates.put_template(session, "Sales", {"title": "Field sales"})
    with database.sessions() as session:
        stored = queries.template_by_id(session, created_id)
    assert (created, again, same_id) == (True, False, created_id)
    assert stored is not None
    assert stored["title"] == "Field sales"
    assert stored["name"] == "Sales"
