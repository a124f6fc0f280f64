"""Reading extensions for `getInfo` and `search`. Functions take a Session and never commit.

Only the columns in PUBLIC_COLUMNS are ever selected: no password, PIN or hash leaves the
store through here.

Extension numbers are strings. They are ordered by (length, text), which for numbers of
digits without a leading zero is numeric order ("999" before "1000"). Text comparisons use
byte order on every database (PostgreSQL's "C" collation, SQLite's BINARY), so sorting and
ranges give the same answer on both.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, and_, func, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from switchvox_server.store.models import Extension, Template

EXTENSIONS = cast(Table, Extension.__table__)
TEMPLATES = cast(Table, Template.__table__)

PUBLIC_COLUMNS = tuple(
    EXTENSIONS.c[name]
    for name in (
        "account_id",
        "number",
        "extension_type",
        "first_name",
        "last_name",
        "email",
        "title",
        "location",
        "template_id",
        "status",
        "lang_locale",
        "can_dial_from_ivr",
        "date_created",
    )
)
_SELECT = select(*PUBLIC_COLUMNS, TEMPLATES.c.name.label("template_name")).join_from(
    EXTENSIONS, TEMPLATES, EXTENSIONS.c.template_id == TEMPLATES.c.id
)
# Rows fetched from the database at a time while a page streams.
PAGE_BATCH = 500
# Keys per query, well under the bound-parameter limits of SQLite (32766) and psycopg (65535).
KEYS_PER_QUERY = 5000


_LAST_SECOND = datetime.max.replace(microsecond=0)


class SortField(enum.StrEnum):
    NUMBER = "number"
    DISPLAY = "display"
    ACCOUNT_ID = "account_id"
    EXTENSION_TYPE = "extension_type"
    DATE_CREATED = "date_created"


@dataclass(frozen=True, slots=True)
class ExtensionFilter:
    """What `search` narrows by; None or empty means no limit. Both dates are inclusive to
    the second."""

    min_number: str | None = None
    max_number: str | None = None
    types: Collection[str] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None


def extensions_by_keys(
    session: Session, numbers: Sequence[str], account_ids: Sequence[int]
) -> list[Mapping[str, Any]]:
    """The stored extensions having any of `numbers` or `account_ids`, unordered.

    One query covers KEYS_PER_QUERY of each list; an extension matched by both lists
    in different batches comes back twice.
    """
    rows: list[Mapping[str, Any]] = []
    for start in range(0, max(len(numbers), len(account_ids)), KEYS_PER_QUERY):
        batch_numbers = numbers[start : start + KEYS_PER_QUERY]
        batch_ids = account_ids[start : start + KEYS_PER_QUERY]
        condition = or_(
            EXTENSIONS.c.number.in_(batch_numbers), EXTENSIONS.c.account_id.in_(batch_ids)
        )
        rows.extend(dict(row) for row in session.execute(_SELECT.where(condition)).mappings())
    return rows


def read_snapshot(session: Session) -> None:
    """Let every query of the session's transaction see the same snapshot, so that a page
    holds exactly as many rows as counted before it streams. SQLite's transaction (begun
    with BEGIN, see database.py) already reads one snapshot; PostgreSQL needs REPEATABLE
    READ. Call it before the session's first query."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def count_matching(session: Session, where: ExtensionFilter) -> int:
    query = select(func.count()).select_from(EXTENSIONS).where(*_conditions(session, where))
    return session.execute(query).scalar_one()


def search_page(
    session: Session,
    where: ExtensionFilter,
    sort: SortField,
    *,
    descending: bool,
    limit: int,
    offset: int,
) -> Iterator[RowMapping]:
    """One page of the matching extensions; DESC is the exact reverse of ASC. Rows arrive
    PAGE_BATCH at a time while the caller iterates (a server-side cursor on PostgreSQL), so
    a page of thousands is never held whole."""
    keys = _sort_keys(session, sort)
    query: Select[Any] = (
        _SELECT.where(*_conditions(session, where))
        .order_by(*(key.desc() if descending else key.asc() for key in keys))
        .limit(limit)
        .offset(offset)
    )
    return iter(session.execute(query.execution_options(yield_per=PAGE_BATCH)).mappings())


def _byte_order(session: Session, expression: ColumnElement[str]) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return expression.self_group().collate("C")
    return expression  # SQLite compares text with BINARY unless told otherwise


def _number_keys(session: Session) -> list[ColumnElement[Any]]:
    return [func.length(EXTENSIONS.c.number), _byte_order(session, EXTENSIONS.c.number)]


def _sort_keys(session: Session, sort: SortField) -> list[ColumnElement[Any]]:
    # Every order ends with the unique account id, so pages never overlap or skip rows.
    ties = [*_number_keys(session), EXTENSIONS.c.account_id]
    if sort is SortField.NUMBER:
        return ties
    if sort is SortField.ACCOUNT_ID:
        return [EXTENSIONS.c.account_id]
    if sort is SortField.DISPLAY:
        display = EXTENSIONS.c.first_name + " " + EXTENSIONS.c.last_name
        return [_byte_order(session, display), *ties]
    if sort is SortField.EXTENSION_TYPE:
        return [EXTENSIONS.c.extension_type, *ties]
    return [EXTENSIONS.c.date_created, *ties]


def _conditions(session: Session, where: ExtensionFilter) -> list[ColumnElement[bool]]:
    length = func.length(EXTENSIONS.c.number)
    number = _byte_order(session, EXTENSIONS.c.number)
    conditions: list[ColumnElement[bool]] = []
    if where.min_number is not None:
        size = len(where.min_number)
        conditions.append(or_(length > size, and_(length == size, number >= where.min_number)))
    if where.max_number is not None:
        size = len(where.max_number)
        conditions.append(or_(length < size, and_(length == size, number <= where.max_number)))
    if where.types:
        conditions.append(EXTENSIONS.c.extension_type.in_(list(where.types)))
    if where.created_from is not None:
        conditions.append(EXTENSIONS.c.date_created >= where.created_from)
    if where.created_to is not None and where.created_to < _LAST_SECOND:
        # Stored times have whole seconds; "up to the next second" includes the bound itself.
        # The last second of the calendar has no next one, and bounds nothing.
        conditions.append(EXTENSIONS.c.date_created < where.created_to + timedelta(seconds=1))
    return conditions
