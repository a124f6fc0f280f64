"""The store's own tables (templates, admin accounts, extensions) read and replaced whole,
for the control API's state document (control/state.py). Functions take a Session and
never commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, text
from sqlalchemy.orm import Session

from switchvox_server.store.models import AdminAccount, Extension, Template

# Sections in the order they are written and restored (extensions refer to templates).
SECTIONS: tuple[tuple[str, Table], ...] = (
    ("templates", cast(Table, Template.__table__)),
    ("admins", cast(Table, AdminAccount.__table__)),
    ("extensions", cast(Table, Extension.__table__)),
)


def read_sections(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every row of each section's table, by primary key, every column by name."""
    return {
        name: [
            dict(row)
            for row in session.execute(
                select(table).order_by(*table.primary_key.columns)
            ).mappings()
        ]
        for name, table in SECTIONS
    }


def replace_sections(session: Session, sections: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Replace the rows of every section's table by `sections`' (checked) rows; an
    inconsistent set raises IntegrityError."""
    for _name, table in reversed(SECTIONS):
        session.execute(delete(table))
    for name, table in SECTIONS:
        if sections[name]:
            session.execute(insert(table), sections[name])
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        _advance_sequences(session)


def _advance_sequences(session: Session) -> None:
    # Rows went in with their own ids: move each id sequence past them, so the next
    # template or extension created gets a fresh id. Names are the models' own.
    for _name, table in SECTIONS:
        (key,) = table.primary_key.columns
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key.name}'),"
                f" COALESCE((SELECT MAX({key.name}) FROM {table.name}), 0) + 1, false)"
            )
        )
