"""The stored extensions as a bulk upload CSV, the file an import reads back unchanged.

The columns are the import's header labels in their usual order. The password columns are
there, always empty: on import an empty cell keeps the stored secret, and no secret, clear
or hashed, ever leaves the store through here. Rows are streamed from the database in
chunks, ordered by number (numerically: by length, then by text).

A cell a spreadsheet would run as a formula gets a leading quote (OWASP's advice on CSV
injection); the import takes it off again, see `rules.unquote_formula`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import IO

from sqlalchemy.orm import Session

from switchvox_server.bulk.csv_reader import COLUMNS
from switchvox_server.bulk.rules import FORMULA_STARTS
from switchvox_server.store.exports import stream_fields
from switchvox_server.store.models import ExtensionType

# How often a long export reports how far it has come.
PROGRESS_ROWS = 1000
# Rows fetched from the database at a time: memory stays flat whatever the table holds.
CHUNK_ROWS = 2000
# Spreadsheets read a UTF-8 file as UTF-8 only when it starts with a byte order mark; the
# import accepts one.
ENCODING = "utf-8-sig"

# Column -> stored field, for the columns the export fills; the others stay empty.
_STORED = {
    "ext": "number",
    "fname": "first_name",
    "lname": "last_name",
    "email": "email",
    "title": "title",
    "location": "location",
    "digium_phone_mac_address": "mac_address",
}
_FIELDS = tuple(_STORED.values())
# For each CSV column, the index of its value in a selected row, or None for an empty cell.
_SOURCE = tuple(list(_STORED).index(column) if column in _STORED else None for column in COLUMNS)


def neutralise(cell: str) -> str:
    """The cell with a leading quote if a spreadsheet would run it as a formula.

    A cell that already starts with quotes before a formula character gets one more, so
    the import (which removes exactly one) gives back what is stored.
    """
    if cell.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def export_rows(
    session: Session, extension_type: ExtensionType | None = None
) -> Iterator[list[str]]:
    """The export's data rows, cells in COLUMNS order, fetched CHUNK_ROWS at a time."""
    for row in stream_fields(session, _FIELDS, extension_type, CHUNK_ROWS):
        yield [
            "" if index is None or row[index] is None else neutralise(str(row[index]))
            for index in _SOURCE
        ]


def write_export(
    session: Session,
    out: IO[bytes],
    extension_type: ExtensionType | None = None,
    written: Callable[[int], None] | None = None,
) -> int:
    """Write the export to a binary file; return how many extensions it holds. `written` is
    told the number of rows written so far, every PROGRESS_ROWS rows.

    `out` stays open; the text layer over it is flushed and detached, not closed.
    """
    text = io.TextIOWrapper(out, encoding=ENCODING, newline="", write_through=False)
    try:
        writer = csv.writer(text)  # RFC 4180: CRLF line ends, quotes only where needed
        writer.writerow(COLUMNS)
        count = 0
        for row in export_rows(session, extension_type):
            writer.writerow(row)
            count += 1
            if written is not None and count % PROGRESS_ROWS == 0:
                written(count)
        text.flush()
    finally:
        text.detach()
    return count
