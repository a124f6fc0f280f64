"""The queries of the export: the stored extensions' fields, numerically by number.

The export (bulk/export.py) says which fields fill which CSV column; this module only reads
them, streaming, and never selects a secret unless asked for one by name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast

from sqlalchemy import Row, Select, Table, func, select
from sqlalchemy.orm import Session

from switchvox_server.store.models import Extension, ExtensionType

EXTENSIONS = cast(Table, Extension.__table__)


def _query(
    fields: Sequence[str], extension_type: ExtensionType | None
) -> Select[tuple[object, ...]]:
    query = select(*(EXTENSIONS.c[name] for name in fields)).order_by(
        func.length(EXTENSIONS.c.number), EXTENSIONS.c.number
    )
    if extension_type is not None:
        query = query.where(EXTENSIONS.c.extension_type == extension_type.value)
    return query


def count_extensions(session: Session, extension_type: ExtensionType | None = None) -> int:
    """How many extensions are stored (of one type, or all)."""
    counted = select(func.count()).select_from(_query(("number",), extension_type).subquery())
    return session.execute(counted).scalar_one()


def stream_fields(
    session: Session,
    fields: Sequence[str],
    extension_type: ExtensionType | None,
    chunk_rows: int,
) -> Iterator[Row[tuple[object, ...]]]:
    """The named fields of the stored extensions (of one type, or all), numerically by
    number (by length, then by text), fetched `chunk_rows` at a time."""
    # yield_per streams: a server-side cursor on PostgreSQL, chunked fetches elsewhere.
    query = _query(fields, extension_type).execution_options(yield_per=chunk_rows)
    yield from session.execute(query)
