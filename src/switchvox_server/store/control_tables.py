"""The control API's tables: the request journal, injected faults, run-time setting
overrides and the reset point. Kept in the database so that every server process on one
database agrees. Functions take a Session and never commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    DateTime,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from switchvox_server.store.models import Base

RESET_POINT_KEY = "reset_point"


class JournalEntry(Base):
    """One API call as the control API's journal shows it; secrets already redacted."""

    __tablename__ = "control_journal"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    method: Mapped[str] = mapped_column(String(128))
    caller: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[str] = mapped_column(Text)  # JSON
    file: Mapped[str | None] = mapped_column(Text)  # JSON
    outcome: Mapped[str] = mapped_column(String(32))
    fault_code: Mapped[int | None]
    http_status: Mapped[int | None]
    duration_ms: Mapped[int]


class InjectedFault(Base):
    """What the next calls of a method answer instead of their result; `remaining` None
    means until removed."""

    __tablename__ = "control_faults"

    id: Mapped[int] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(String(128), index=True)
    code: Mapped[int | None]
    values: Mapped[str | None] = mapped_column(Text)  # JSON: the fault's %1, %2… if given
    remaining: Mapped[int | None]
    http_status: Mapped[int | None]
    delay_ms: Mapped[int]
    drop: Mapped[bool]


class ControlValue(Base):
    """A named JSON value: a run-time setting override, or the reset point."""

    __tablename__ = "control_values"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON


# Core tables: the per-call reads and the journal writes skip the ORM's object mapping.
JOURNAL = cast(Table, JournalEntry.__table__)
FAULTS = cast(Table, InjectedFault.__table__)
VALUES = cast(Table, ControlValue.__table__)
JOURNAL_COLUMNS = tuple(column.name for column in JOURNAL.columns)
FAULT_COLUMNS = tuple(column.name for column in FAULTS.columns)


# --- journal -----------------------------------------------------------------------------


def add_journal_entries(session: Session, rows: Sequence[Mapping[str, Any]], keep: int) -> None:
    """Append entries, then drop the oldest beyond the newest `keep`."""
    session.execute(insert(JOURNAL), list(rows))
    newest = select(func.max(JOURNAL.c.id)).scalar_subquery()
    session.execute(delete(JOURNAL).where(JOURNAL.c.id <= newest - keep))


def journal_entries(
    session: Session, *, method: str | None, since: int | None, limit: int
) -> list[dict[str, Any]]:
    """Entries oldest first, after the entry `since`, of `method`, at most `limit`."""
    query = select(JournalEntry).order_by(JournalEntry.id).limit(limit)
    if method is not None:
        query = query.where(JournalEntry.method == method)
    if since is not None:
        query = query.where(JournalEntry.id > since)
    return [
        {name: getattr(entry, name) for name in JOURNAL_COLUMNS} for entry in session.scalars(query)
    ]


def clear_journal(session: Session) -> None:
    session.execute(delete(JournalEntry))


# --- injected faults ---------------------------------------------------------------------


def add_fault(session: Session, values: Mapping[str, Any]) -> int:
    fault = InjectedFault(**values)
    session.add(fault)
    session.flush()
    return fault.id


def list_faults(session: Session) -> list[dict[str, Any]]:
    return [
        {name: getattr(fault, name) for name in FAULT_COLUMNS}
        for fault in session.scalars(select(InjectedFault).order_by(InjectedFault.id))
    ]


def remove_faults(session: Session, fault_id: int | None = None) -> int:
    """Remove one fault, or all when `fault_id` is None; the number removed."""
    statement = delete(InjectedFault)
    if fault_id is not None:
        statement = statement.where(InjectedFault.id == fault_id)
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def faults_for(session: Session, method: str) -> list[dict[str, Any]]:
    """The live faults of `method`, oldest first (a read: no lock is taken)."""
    query = (
        select(FAULTS)
        .where(FAULTS.c.method == method)
        .where(FAULTS.c.remaining.is_(None) | (FAULTS.c.remaining > 0))
        .order_by(FAULTS.c.id)
    )
    return [dict(row) for row in session.execute(query).mappings()]


def take_one_time(session: Session, fault_id: int) -> bool:
    """Use up one of a counted fault's times; False when another call took the last one.
    A single conditional UPDATE, so two processes never both take the last time."""
    result = session.execute(
        update(InjectedFault)
        .where(InjectedFault.id == fault_id, InjectedFault.remaining > 0)
        .values(remaining=InjectedFault.remaining - 1)
    )
    if not cast(CursorResult[Any], result).rowcount:
        return False
    session.execute(
        delete(InjectedFault).where(InjectedFault.id == fault_id, InjectedFault.remaining <= 0)
    )
    return True


# --- named values ------------------------------------------------------------------------


def values_named(session: Session, names: Sequence[str]) -> dict[str, str]:
    rows = session.execute(select(VALUES.c.name, VALUES.c.value).where(VALUES.c.name.in_(names)))
    return {row.name: row.value for row in rows}


def set_value(session: Session, name: str, value: str) -> None:
    stored = session.get(ControlValue, name)
    if stored is None:
        session.add(ControlValue(name=name, value=value))
    else:
        stored.value = value


def remove_value(session: Session, name: str) -> None:
    session.execute(delete(ControlValue).where(ControlValue.name == name))
