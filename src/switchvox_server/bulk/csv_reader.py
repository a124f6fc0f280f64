"""Streaming reader for the bulk upload CSV (docs/csv.md).

The upload is spooled to a seekable temporary file that may hold close to a million rows, so
the file is never read into memory: one pass checks the encoding, a short look at the start
finds the delimiter and the header, and every call to `CsvTable.records` streams the file again.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from types import MappingProxyType
from typing import IO, TextIO

COLUMNS: tuple[str, ...] = (
    "ext",
    "fname",
    "lname",
    "email",
    "title",
    "location",
    "password",
    "voicemail_password",
    "phone_password",
    "digium_phone_mac_address",
)

HEADER_ALIASES: Mapping[str, str] = MappingProxyType(
    {**{name: name for name in COLUMNS}, "login_email": "email"}
)

MAX_CELL_CHARS = 1024 * 1024
"""The longest cell, in characters, that the reader accepts."""

# The csv module's field limit is process-wide and its default (128 KiB) would refuse a long
# cell as a broken file, where the row rules should report it as a too-long field. Raise it once,
# here; never lower it, as other code in the process may rely on a larger one (cells up to that
# larger limit then read too).
csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))

_CHUNK = 1024 * 1024  # bytes read at a time while checking the encoding
# A NUL byte in the first line (looked for this far) means a binary file: an image, a zip,
# UTF-16 without a byte order mark. NULs inside later cells are the row rules' business.
_BINARY_PROBE = 8 * 1024
_DELIMITERS = (",", ";", "\t")
_DROP_DELIMITERS = str.maketrans("", "", "".join(_DELIMITERS))
_LINE_ENDS = ("\r", "\n")


class CsvFormatError(Exception):
    """The file is not a CSV this server can read (the caller turns it into fault 94772)."""


# Not frozen: frozen dataclasses set each field through object.__setattr__, a cost paid
# for every row of the file.
@dataclass(slots=True)
class CsvRecord:
    """One non-blank data record of the file."""

    row_number: int
    """Spreadsheet row: the header's record is row 1 if nothing precedes it; blanks count too."""
    cells: dict[str, str]
    """Canonical column name -> cell text as written, for the header's known columns that this
    record reaches."""
    cell_count: int
    """How many cells the record had (compare with `CsvTable.header_width`)."""


class CsvTable:
    """A CSV upload whose encoding, delimiter and header have been checked."""

    def __init__(
        self,
        source: IO[bytes],
        *,
        encoding: str,
        delimiter: str,
        header_row: int,
        header_width: int,
        pairs: list[tuple[int, str]],
    ) -> None:
        self.encoding = encoding
        self.delimiter = delimiter
        self.header_width = header_width
        self.columns: tuple[str, ...] = tuple(name for _, name in pairs)
        self._source = source
        self._header_row = header_row
        self._pairs = pairs
        self._reach = max(index for index, _ in pairs) + 1  # cells a record needs to fill all

    def records(self) -> Iterator[CsvRecord]:
        """Yield the data records in file order, skipping blank ones.

        Raises CsvFormatError when the file breaks further down (an unterminated quote, an
        oversized cell), possibly after many records: the caller must have written nothing yet.
        """
        pairs, reach = self._pairs, self._reach
        with _decoded(self._source, self.encoding) as text:
            reader = csv.reader(text, delimiter=self.delimiter, strict=True)
            row_number = self._header_row
            try:
                for row_number, row in enumerate(
                    islice(reader, self._header_row, None), self._header_row + 1
                ):
                    if _is_blank(row):
                        continue
                    if len(row) >= reach:
                        cells = {name: row[index] for index, name in pairs}
                    else:
                        cells = {name: row[index] for index, name in pairs if index < len(row)}
                    yield CsvRecord(row_number, cells, len(row))
            except csv.Error as exc:
                raise _broken(row_number + 1, exc) from exc


def open_csv(source: IO[bytes]) -> CsvTable:
    """Check an uploaded CSV from its start and return a reader for its records.

    `source` stays open and owned by the caller, and must stay unchanged while the table is used.
    Raises CsvFormatError for a binary file, text that is not valid in its declared encoding, or
    a missing, unreadable or ambiguous header.
    """
    encoding = _detect_encoding(source)
    with _decoded(source, encoding) as text:
        delimiter = _sniff_delimiter(text)
    with _decoded(source, encoding) as text:
        header_row, labels = _read_header(text, delimiter)
    return CsvTable(
        source,
        encoding=encoding,
        delimiter=delimiter,
        header_row=header_row,
        header_width=len(labels),
        pairs=_map_header(labels),
    )


class _Borrowed(io.BufferedIOBase):
    """A read-only view of the caller's file for TextIOWrapper.

    Closing a TextIOWrapper (explicitly or when it is garbage-collected) closes the file under
    it; under this view that closes only the view, never the caller's file.
    """

    def __init__(self, source: IO[bytes]) -> None:
        super().__init__()
        self._source = source

    @property
    def name(self) -> str:  # TextIOWrapper shows it in its repr; BytesIO sources have none
        return "<csv upload>"

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._source.read(-1 if size is None else size)

    def read1(self, size: int = -1) -> bytes:
        return self._source.read(size)


@contextmanager
def _decoded(source: IO[bytes], encoding: str) -> Iterator[TextIO]:
    """Decode `source` from its start, with line ends left for the csv module to handle."""
    source.seek(0)
    # The encoding was checked against the whole file, so only cp1252's five undefined bytes
    # can still fail to decode; they become U+FFFD rather than refusing the file.
    errors = "replace" if encoding == "cp1252" else "strict"
    text = io.TextIOWrapper(_Borrowed(source), encoding=encoding, errors=errors, newline="")
    try:
        yield text
    finally:
        text.close()


def _first_line(head: bytes) -> bytes:
    ends = [index for index in (head.find(b"\n"), head.find(b"\r")) if index >= 0]
    return head[: min(ends)] if ends else head


def _detect_encoding(source: IO[bytes]) -> str:
    """Pick the file's encoding: a BOM decides, else UTF-8 if it all decodes, else cp1252."""
    source.seek(0)
    head = source.read(_CHUNK)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in _first_line(head[:_BINARY_PROBE]):
        raise CsvFormatError("the file is binary, not text")
    elif head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    decoder = codecs.getincrementaldecoder(encoding)()
    chunk = head
    try:
        while chunk:
            decoder.decode(chunk)
            chunk = source.read(_CHUNK)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        if encoding == "utf-8":
            return "cp1252"  # no BOM and not UTF-8: the usual Windows spreadsheet export
        raise CsvFormatError(f"the file has a byte order mark but is not valid {encoding}") from exc
    return encoding


def _sniff_delimiter(text: TextIO) -> str:
    """Return the delimiter used most outside quotes in the first non-blank record, or ','."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False  # inside a quoted cell at the end of the text read so far
    content = False  # the current record has a non-blank cell
    while line := text.readline(_CHUNK):
        # Splitting at quotes alternates outside/inside; a doubled quote toggles twice.
        for position, part in enumerate(line.split('"')):
            if position:
                quoted = not quoted
            if quoted:
                content = content or bool(part.strip())
            else:
                for delimiter in _DELIMITERS:
                    counts[delimiter] += part.count(delimiter)
                content = content or bool(part.translate(_DROP_DELIMITERS).strip())
        if not quoted and line.endswith(_LINE_ENDS):
            if content:
                break
            counts = dict.fromkeys(_DELIMITERS, 0)  # a blank record such as ",,,,"
    most = max(counts.values())
    winners = [delimiter for delimiter, count in counts.items() if count == most]
    return winners[0] if content and most and len(winners) == 1 else ","


def _read_header(text: TextIO, delimiter: str) -> tuple[int, list[str]]:
    """Return the first non-blank record and its row number."""
    row_number = 0
    try:
        for row_number, row in enumerate(csv.reader(text, delimiter=delimiter, strict=True), 1):
            if not _is_blank(row):
                return row_number, row
    except csv.Error as exc:
        raise _broken(row_number + 1, exc) from exc
    raise CsvFormatError("the file has no header line")


def _map_header(labels: list[str]) -> list[tuple[int, str]]:
    """Return (cell index, canonical name) for the known labels, in COLUMNS order."""
    seen: dict[str, str] = {}  # canonical name -> label as written
    pairs: list[tuple[int, str]] = []
    for index, raw in enumerate(labels):
        label = raw.replace("\ufeff", "").strip()
        name = HEADER_ALIASES.get(label.lower())
        if name is None:
            continue
        if name in seen:
            raise CsvFormatError(
                f"the header labels {seen[name]!r} and {label!r} both name the {name} column"
            )
        seen[name] = label
        pairs.append((index, name))
    if "ext" not in seen:
        raise CsvFormatError("the header has no 'ext' label")
    return sorted(pairs, key=lambda pair: COLUMNS.index(pair[1]))


def _is_blank(row: list[str]) -> bool:
    """A record with no cells or only empty/whitespace cells (spreadsheets export ",,,,")."""
    return not "".join(row).strip()


def _broken(row_number: int, exc: csv.Error) -> CsvFormatError:
    return CsvFormatError(f"row {row_number}: {exc}")
