"""The import history's tables and queries (docs/history.md). Functions take a Session and
never commit; statements that run through an upload's writer are compiled here.

`imports` holds one row per recorded import: its metadata, its counts, and two compressed
blobs (see `history.records`): the per-row report, and the changes an undo needs (dropped
once the import is undone). `extension_versions` names, for every extension number any
recorded import wrote, the last import that wrote it: an undo compares it with its own id
to find extensions a later change touched.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, Session, mapped_column

from switchvox_server.store.bulk_writes import PlainStatement
from switchvox_server.store.models import Base, Extension
from switchvox_server.store.queries import REWRITTEN_COLUMNS

# Numbers per IN (...) list: well under SQLite's variable limit.
CHUNK = 2000


class ImportRecord(Base):
    """One recorded import: an upload that wrote, an evaluation, an undo or a removal."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    caller: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255))
    file_size: Mapped[int] = mapped_column(BigInteger)
    file_sha256: Mapped[str] = mapped_column(String(64))
    options: Mapped[str] = mapped_column(Text)
    counts: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text)
    undoes: Mapped[int | None]
    undone_by: Mapped[int | None]
    rows: Mapped[bytes] = mapped_column(LargeBinary)
    changes: Mapped[bytes | None] = mapped_column(LargeBinary)


class ExtensionVersion(Base):
    """The last recorded import that wrote an extension number."""

    __tablename__ = "extension_versions"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    import_id: Mapped[int]


IMPORTS = cast(Table, ImportRecord.__table__)
VERSIONS = cast(Table, ExtensionVersion.__table__)
EXTENSIONS = cast(Table, Extension.__table__)
# Everything of an import but its blobs, for listings.
SUMMARY_COLUMNS = tuple(
    column for column in IMPORTS.columns if column.name not in {"rows", "changes"}
)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def forget_all(session: Session) -> None:
    """Drop the whole history: for a store replaced wholesale, which it no longer describes."""
    session.execute(delete(ExtensionVersion))
    session.execute(delete(ImportRecord))


def next_import_id(session: Session) -> int:
    """The id the next import takes. Every import is recorded by a transaction holding the
    writer lock, so no other can take the same id before this one commits."""
    highest = session.execute(select(func.max(IMPORTS.c.id))).scalar_one()
    return 1 if highest is None else int(highest) + 1


def insert_import(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(insert(IMPORTS), [dict(values)])


def list_imports(session: Session, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` imports, newest first, without their blobs."""
    query = select(*SUMMARY_COLUMNS).order_by(IMPORTS.c.id.desc()).limit(limit)
    return [dict(row._mapping) for row in session.execute(query)]


def import_by_id(session: Session, import_id: int) -> dict[str, Any] | None:
    row = session.execute(select(IMPORTS).where(IMPORTS.c.id == import_id)).first()
    return None if row is None else dict(row._mapping)


def mark_undone(session: Session, import_id: int, undone_by: int) -> None:
    """Record the undo of an import and drop the states only its undo needed."""
    session.execute(
        update(IMPORTS).where(IMPORTS.c.id == import_id).values(undone_by=undone_by, changes=None)
    )


def versions_of(session: Session, numbers: Collection[str]) -> dict[str, int]:
    """The last import that wrote each of `numbers` (those any import wrote)."""
    found: dict[str, int] = {}
    for chunk in chunks(list(numbers)):
        query = select(VERSIONS.c.number, VERSIONS.c.import_id).where(VERSIONS.c.number.in_(chunk))
        found.update((number, import_id) for number, import_id in session.execute(query))
    return found


def stored_extensions(session: Session, numbers: Collection[str]) -> dict[str, dict[str, Any]]:
    """The whole stored rows of `numbers`, keyed by number, a chunk of numbers per query."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunks(list(numbers)):
        query = select(EXTENSIONS).where(EXTENSIONS.c.number.in_(chunk))
        found.update((row.number, dict(row._mapping)) for row in session.execute(query))
    return found


_RESTORE_BY_ACCOUNT = (
    update(EXTENSIONS)
    .where(EXTENSIONS.c.account_id == bindparam("restored_account_id"))
    .values({column.name: bindparam(column.name) for column in REWRITTEN_COLUMNS})
)


def put_back_extensions(
    session: Session,
    removals: Sequence[str],
    rewrites: Sequence[Mapping[str, Any]],
    inserts: Sequence[Mapping[str, Any]],
) -> None:
    """Put extensions into the states an undo or a removal chose: remove the numbers of
    `removals`, rewrite stored ones (by their `restored_account_id`), insert the others."""
    for chunk in chunks(removals):
        session.execute(delete(EXTENSIONS).where(EXTENSIONS.c.number.in_(chunk)))
    if rewrites:
        session.execute(_RESTORE_BY_ACCOUNT, rewrites)
    if inserts:
        session.execute(insert(EXTENSIONS), inserts)


def _upsert_versions(dialect: Dialect) -> Any:
    module: Any = postgresql if dialect.name == "postgresql" else sqlite
    statement = module.insert(VERSIONS)
    return statement.on_conflict_do_update(
        index_elements=[VERSIONS.c.number], set_={"import_id": statement.excluded.import_id}
    )


def set_versions(session: Session, versions: Sequence[tuple[str, int]]) -> None:
    """Set the version of each (number, version) given."""
    statement = _upsert_versions(session.connection().dialect)
    for chunk in chunks(versions):
        session.execute(statement, [{"number": number, "import_id": id_} for number, id_ in chunk])


def plain(statement: Any, dialect: Dialect) -> PlainStatement:
    """A Core statement compiled for the driver of `dialect`, to run with executemany."""
    compiled = statement.compile(dialect=dialect)
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    return PlainStatement(str(compiled), order)


def version_statement(dialect: Dialect) -> PlainStatement:
    """Sets the version of many numbers in one statement: its parameters are `numbers`, a
    JSON array of numbers, and `import_id`, their version."""
    elements = (
        "json_array_elements_text(CAST(:numbers AS json)) AS value"
        if dialect.name == "postgresql"
        else "json_each(:numbers)"
    )
    # `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT.
    statement = text(
        f"INSERT INTO {VERSIONS.name} (number, import_id) SELECT value, :import_id"
        f" FROM {elements} WHERE true"
        " ON CONFLICT (number) DO UPDATE SET import_id = excluded.import_id"
    )
    return plain(statement, dialect)


def import_statement(dialect: Dialect) -> PlainStatement:
    """Inserts one imports row given as a mapping of every column."""
    statement = insert(IMPORTS).values(
        {column.name: bindparam(column.name) for column in IMPORTS.columns}
    )
    return plain(statement, dialect)


def driver_values(values: Mapping[str, Any], dialect: Dialect) -> dict[str, Any]:
    """An imports row as the DB-API driver of `dialect` takes it (dates as that dialect
    stores them)."""
    to_driver = IMPORTS.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    converted = dict(values)
    if to_driver is not None:
        converted["created_at"] = to_driver(values["created_at"])
    return converted
