"""Queries and bulk writes. Each takes a Session and never commits: the caller frames the
transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Column, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from switchvox_server.store.models import Extension, Template

EXTENSIONS = cast(Table, Extension.__table__)
# What a stored extension contributes to an update: every column the row rules may keep.
STORED_COLUMNS = tuple(
    column for column in EXTENSIONS.columns if column.name not in {"date_created"}
)


def template_by_id(session: Session, template_id: int) -> Mapping[str, Any] | None:
    """The template's columns as a mapping, or None when there is no such template."""
    row = session.execute(
        select(Template.__table__).where(Template.__table__.c.id == template_id)
    ).first()
    return None if row is None else dict(row._mapping)


def count_extensions(session: Session) -> int:
    return session.execute(select(func.count()).select_from(EXTENSIONS)).scalar_one()


IDENTITY_COLUMNS = (EXTENSIONS.c.account_id, EXTENSIONS.c.number)


def extensions_by_number(
    session: Session,
    numbers: Collection[str],
    columns: Sequence[Column[Any]] = STORED_COLUMNS,
) -> dict[str, dict[str, Any]]:
    """The stored extensions among `numbers`, keyed by number, in one query; each holds
    `columns` (which must include `number`), by name."""
    if not numbers:
        return {}
    names = [column.name for column in columns]
    at = names.index("number")
    rows = session.execute(select(*columns).where(EXTENSIONS.c.number.in_(list(numbers))))
    return {row[at]: dict(zip(names, row, strict=True)) for row in rows.all()}


def owners_of_macs(session: Session, macs: Collection[str]) -> dict[str, str]:
    """The extension number holding each of `macs` that is in use, in one query."""
    if not macs:
        return {}
    rows = session.execute(
        select(EXTENSIONS.c.mac_address, EXTENSIONS.c.number).where(
            EXTENSIONS.c.mac_address.in_(list(macs))
        )
    )
    return dict(rows.all())


def insert_extensions(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert new extensions with one executemany statement."""
    if rows:
        session.execute(insert(EXTENSIONS), rows)


_UPDATE_BY_ACCOUNT = (
    update(EXTENSIONS)
    .where(EXTENSIONS.c.account_id == bindparam("stored_account_id"))
    .values({column.name: bindparam(column.name) for column in STORED_COLUMNS[1:]})
)


def update_extensions(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rewrite stored extensions by account id with one executemany statement.

    Each row carries `stored_account_id` and every column of STORED_COLUMNS but the key.
    """
    if rows:
        session.connection().execute(_UPDATE_BY_ACCOUNT, list(rows))
