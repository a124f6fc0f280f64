"""Queries and bulk writes. Each takes a Session and never commits: the caller frames the
transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Column, Table, bindparam, func, insert, select, text, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from switchvox_server.store.bulk_writes import BulkStatements
from switchvox_server.store.models import Extension, Template
from switchvox_server.store.rows import StoredExtension, TemplateRow

EXTENSIONS = cast(Table, Extension.__table__)
# What a stored extension contributes to an update: every column the row rules may keep.
STORED_COLUMNS = tuple(
    column for column in EXTENSIONS.columns if column.name not in {"date_created"}
)


def template_by_id(session: Session, template_id: int) -> TemplateRow | None:
    """The template's columns, or None when there is no such template."""
    row = session.execute(
        select(Template.__table__).where(Template.__table__.c.id == template_id)
    ).first()
    return None if row is None else cast(TemplateRow, dict(row._mapping))


def count_extensions(session: Session) -> int:
    return session.execute(select(func.count()).select_from(EXTENSIONS)).scalar_one()


IDENTITY_COLUMNS = (EXTENSIONS.c.account_id, EXTENSIONS.c.number)


def extensions_by_number(
    session: Session,
    numbers: Collection[str],
    columns: Sequence[Column[Any]] = STORED_COLUMNS,
) -> dict[str, StoredExtension]:
    """The stored extensions among `numbers`, keyed by number, in one query; each holds
    `columns` (which must include `number`), by name."""
    if not numbers:
        return {}
    names = [column.name for column in columns]
    at = names.index("number")
    rows = session.execute(select(*columns).where(EXTENSIONS.c.number.in_(list(numbers))))
    return {
        row[at]: cast(StoredExtension, dict(zip(names, row, strict=True))) for row in rows.all()
    }


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
# The number never changes on replace or update, and leaving it out of the SET list spares
# its unique index a rewrite per row.
REWRITTEN_COLUMNS = tuple(
    column for column in STORED_COLUMNS if column.name not in {"account_id", "number"}
)
_REWRITE_BY_ACCOUNT = (
    update(EXTENSIONS)
    .where(EXTENSIONS.c.account_id == bindparam("stored_account_id"))
    .values({column.name: bindparam(column.name) for column in REWRITTEN_COLUMNS})
)


def bulk_statements(dialect: Dialect, created_at: datetime) -> BulkStatements:
    """The statements of an upload's bulk writes, compiled for `dialect`; new rows are
    created at `created_at`. Rewritten rows carry `stored_account_id` and every column of
    REWRITTEN_COLUMNS."""
    date_type = EXTENSIONS.c.date_created.type.dialect_impl(dialect)
    to_driver = date_type.bind_processor(dialect)
    rewrite = _REWRITE_BY_ACCOUNT.compile(dialect=dialect)
    if dialect.name == "postgresql":
        insert_sql = f"COPY extensions ({', '.join(INSERTED_COLUMNS)}) FROM STDIN"
    else:
        compiled = insert(EXTENSIONS).compile(dialect=dialect, column_keys=list(INSERTED_COLUMNS))
        assert compiled.positiontup == list(INSERTED_COLUMNS), "a positional driver is expected"
        insert_sql = str(compiled)
    return BulkStatements(
        copy=dialect.name == "postgresql",
        insert_sql=insert_sql,
        insert_columns=INSERTED_COLUMNS,
        rewrite_sql=str(rewrite),
        rewrite_order=tuple(rewrite.positiontup or ()) if rewrite.positional else None,
        created_at=created_at if to_driver is None else to_driver(created_at),
    )


def refresh_statistics(session: Session) -> None:
    """Let PostgreSQL's planner see the table as it is now; after a bulk load its
    statistics still describe the table before it, and lookups would plan as if for a
    handful of rows. Elsewhere there is nothing to do."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("ANALYZE extensions"))
