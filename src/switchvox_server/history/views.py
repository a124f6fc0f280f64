"""Imports as the API and the command line show them: plain mappings of text and numbers."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from switchvox_server.history.records import RowRecord, read_blob
from switchvox_server.store import history as store
from switchvox_server.store.database import Database

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 1000


def summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """An import without its rows: who, when, which file, the options and the counts."""
    return {
        "id": row["id"],
        "kind": row["kind"],
        "created_at": row["created_at"].strftime(DATE_FORMAT),
        "caller": row["caller"],
        "address": row["address"],
        "file_name": row["file_name"],
        "file_size": row["file_size"],
        "sha256": row["file_sha256"],
        "options": json.loads(row["options"]),
        "counts": json.loads(row["counts"]),
        "notes": json.loads(row["notes"]),
        "undoes": row["undoes"],
        "undone_by": row["undone_by"],
    }


def row_records(row: Mapping[str, Any]) -> Iterator[RowRecord]:
    return read_blob(row["rows"])


def row_view(record: RowRecord) -> dict[str, Any]:
    row_number, line, section, extension, errors = record
    return {
        "row": row_number,
        "line": line,
        "section": section,
        "extension": extension,
        "errors": list(errors),
    }


def list_imports(database: Database, limit: int = DEFAULT_LIST_LIMIT) -> list[dict[str, Any]]:
    with database.sessions.begin() as session:
        return [summary(row) for row in store.list_imports(session, limit)]


def load_import(database: Database, import_id: int) -> dict[str, Any] | None:
    """The whole stored import, blobs included, or None."""
    with database.sessions.begin() as session:
        return store.import_by_id(session, import_id)
