"""Bulk writes at the driver level: statements compiled once per upload (see
`queries.bulk_statements`) run with the DB-API's own bulk calls.

SQLAlchemy's per-row parameter processing costs as much as the database's own work for
bulk writes, and these values need none. Nothing here imports SQLAlchemy, so the helper
process that stores large uploads stays small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from switchvox_server.passwords import settle_secrets
from switchvox_server.store.rows import ExtensionValues

# An upload's extension rows, new and rewritten.
Rows = Sequence[ExtensionValues]
# The parameters of a PlainStatement, one mapping per run.
StatementRows = Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class BulkStatements:
    """The statements of one upload's writes, for one driver."""

    copy: bool
    """True: new rows go in with COPY (PostgreSQL), several times faster than any INSERT."""
    insert_sql: str
    insert_columns: tuple[str, ...]
    rewrite_sql: str
    rewrite_order: tuple[str, ...] | None
    """The parameter order of positional drivers; None when parameters are named."""
    created_at: Any
    """The upload's creation time, as the driver takes it; every new row gets it."""


@dataclass(frozen=True, slots=True)
class PlainStatement:
    """Any other statement of an upload's transaction (its history record), compiled for
    one driver and run once per row with executemany."""

    sql: str
    order: tuple[str, ...] | None
    """The parameter order of positional drivers; None when parameters are named."""


def execute_rows(dbapi_connection: Any, statement: PlainStatement, rows: StatementRows) -> None:
    """Run `statement` for each of `rows` (mappings of its parameters) in one call."""
    order = statement.order
    parameters = rows if order is None else [[row[name] for name in order] for row in rows]
    cursor = dbapi_connection.cursor()
    try:
        cursor.executemany(statement.sql, parameters)
    finally:
        cursor.close()


def write_rows(
    dbapi_connection: Any,
    statements: BulkStatements,
    inserts: Rows,
    rewrites: Rows,
    secret_key: bytes,
) -> None:
    """Store one batch in the connection's transaction: derive the stored forms of the rows'
    new secrets, insert the new rows, rewrite the stored ones by account id."""
    for row in inserts:
        settle_secrets(row, secret_key)
        row["date_created"] = statements.created_at
    for row in rewrites:
        settle_secrets(row, secret_key)
    # The statements name their columns from the table; the rows are read by those names.
    new_rows: StatementRows = inserts
    stored_rows: StatementRows = rewrites
    cursor = dbapi_connection.cursor()
    try:
        if new_rows:
            columns = statements.insert_columns
            values = [[row[name] for name in columns] for row in new_rows]
            if statements.copy:
                with cursor.copy(statements.insert_sql) as copy:
                    for cells in values:
                        copy.write_row(cells)
            else:
                cursor.executemany(statements.insert_sql, values)
        if stored_rows:
            order = statements.rewrite_order
            parameters = (
                stored_rows if order is None else [[row[n] for n in order] for row in stored_rows]
            )
            cursor.executemany(statements.rewrite_sql, parameters)
    finally:
        cursor.close()
