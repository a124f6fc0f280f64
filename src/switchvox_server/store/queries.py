"""Queries and bulk writes. Each takes a Session and never commits: the caller frames the
transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Column, Table, bindparam, func, insert, select, text, update
from sqlalchemy.engine import Connection
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


# Every column an inserted row supplies: all but the generated account id.
INSERTED_COLUMNS = tuple(column.name for column in EXTENSIONS.columns)[1:]
_DATE_INDEX = INSERTED_COLUMNS.index("date_created")


def insert_extensions(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert new extensions in one bulk operation: COPY on PostgreSQL, several times faster
    than any INSERT, and the driver's executemany elsewhere."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    date_processor = EXTENSIONS.c.date_created.type.dialect_impl(dialect).bind_processor(dialect)
    dates: dict[Any, Any] = {}

    def values(row: Mapping[str, Any]) -> list[Any]:
        cells = [row[name] for name in INSERTED_COLUMNS]
        if date_processor is not None:
            # Every row of an upload shares its date: convert it once.
            date = cells[_DATE_INDEX]
            if date not in dates:
                dates[date] = date_processor(date)
            cells[_DATE_INDEX] = dates[date]
        return cells

    if dialect.name == "postgresql":
        columns = ", ".join(INSERTED_COLUMNS)
        with (
            _driver(connection).cursor() as cursor,
            cursor.copy(f"COPY extensions ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(values(row))
        return
    statement = insert(EXTENSIONS).compile(dialect=dialect, column_keys=list(INSERTED_COLUMNS))
    assert statement.positiontup == list(INSERTED_COLUMNS), "a positional driver is expected"
    _executemany(connection, str(statement), [values(row) for row in rows])


# The number never changes on replace or update, and leaving it out of the SET list spares
# its unique index a rewrite per row.
REWRITTEN_COLUMNS = tuple(
    column for column in STORED_COLUMNS if column.name not in {"account_id", "number"}
)
_UPDATE_BY_ACCOUNT = (
    update(EXTENSIONS)
    .where(EXTENSIONS.c.account_id == bindparam("stored_account_id"))
    .values({column.name: bindparam(column.name) for column in REWRITTEN_COLUMNS})
)


def update_extensions(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rewrite stored extensions by account id with the driver's executemany.

    Each row carries `stored_account_id` and every column of REWRITTEN_COLUMNS, all plain
    values that any driver takes as they are.
    """
    if not rows:
        return
    connection = session.connection()
    statement = _UPDATE_BY_ACCOUNT.compile(dialect=connection.dialect)
    if statement.positional:
        order = statement.positiontup or []
        _executemany(connection, str(statement), [[row[name] for name in order] for row in rows])
    else:
        _executemany(connection, str(statement), rows)


def _driver(connection: Connection) -> Any:
    driver = connection.connection.driver_connection
    assert driver is not None
    return driver


def _executemany(connection: Connection, sql: str, parameters: Sequence[Any]) -> None:
    """Run `sql` once per parameter set through the driver itself, in the connection's
    transaction. For bulk writes SQLAlchemy's per-row parameter processing costs as much as
    the database's own work, and these values need none."""
    cursor = _driver(connection).cursor()
    try:
        cursor.executemany(sql, parameters)
    finally:
        cursor.close()


def refresh_statistics(session: Session) -> None:
    """Let PostgreSQL's planner see the table as it is now; after a bulk load its
    statistics still describe the table before it, and lookups would plan as if for a
    handful of rows. Elsewhere there is nothing to do."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("ANALYZE extensions"))
