"""The compact forms of an import's per-row records: blocks of marshalled tuples, compressed
as the upload goes, so that memory holds one block at a time, not one object per row.

A row record is `(row, line, section, extension, errors)`: the spreadsheet row, the file
line it starts on, the section it ended in, the extension cell as written and its messages.
A change is `(number, state, version_before, version_after)`: an extension the import
wrote, its stored row before (None when it did not exist), which is what an undo puts back,
and its version (`store.history`) before and after the import: an undo may put the row
back only while the version is still the one the import left, and puts the one before back.
"""

from __future__ import annotations

import marshal
import zlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

RowRecord = tuple[int, int, str, str, tuple[str, ...]]
Change = tuple[str, dict[str, Any] | None, int, int]
NO_VERSION = 0
"""The version of an extension no recorded import wrote, and of every absent extension."""

_SIZE_BYTES = 4
# Fast compression: the blobs are written while the upload runs.
_LEVEL = 1


class BlobWriter:
    """Compresses blocks of records into one blob."""

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(_LEVEL)
        self._parts: list[bytes] = []

    def add(self, block: list[Any]) -> None:
        if not block:
            return
        data = marshal.dumps(block)
        self._parts.append(self._compressor.compress(len(data).to_bytes(_SIZE_BYTES, "big")))
        self._parts.append(self._compressor.compress(data))

    def finish(self) -> bytes:
        self._parts.append(self._compressor.flush())
        return b"".join(self._parts)


def read_blob(blob: bytes) -> Iterator[Any]:
    """The records of a blob, in the order written."""
    data = zlib.decompress(blob)
    position = 0
    while position < len(data):
        size = int.from_bytes(data[position : position + _SIZE_BYTES], "big")
        position += _SIZE_BYTES
        yield from marshal.loads(data[position : position + size])
        position += size


def storable_state(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored extension row in a form marshal keeps (its date as ISO text)."""
    state = dict(row)
    created = state.get("date_created")
    if isinstance(created, datetime):
        state["date_created"] = created.isoformat(sep=" ")
    return state


def restored_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The row of `storable_state` as the extensions table takes it again."""
    row = dict(state)
    created = row.get("date_created")
    if isinstance(created, str):
        row["date_created"] = datetime.fromisoformat(created)
    return row
