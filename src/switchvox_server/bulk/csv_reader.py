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
from enum import Enum
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


# Excel's separator hint: a first line `sep=;` names the delimiter and is no part of the table.
_SEPARATOR_HINT = "sep="


class CsvProblem(Enum):
    """Why a file is not a CSV this server can read: every one is fault 94772 to the API,
    named precisely only where it cannot trip a client (the log, the CLI, the history)."""

    BINARY = "not a text file but binary data"
    ENCODING = "not valid text in its encoding"
    NO_HEADER = "no header line"
    MISSING_LABEL = "a required header label is missing"
    DUPLICATE_LABELS = "duplicate header labels"
    BROKEN_RECORD = "a record that cannot be read"


class CsvFormatError(Exception):
    """The file is not a CSV this server can read (the caller turns it into fault 94772);
    `problem` says which cause, the message says what and where."""

    def __init__(self, problem: CsvProblem, detail: str) -> None:
        super().__init__(f"{problem.value}: {detail}")
        self.problem = problem


# Not frozen: frozen dataclasses set each field through object.__setattr__, a cost paid
# for every row of the file.
@dataclass(slots=True)
class CsvRecord:
    """One non-blank data record of the file."""

    row_number: int
    """Spreadsheet row: the header's record is row 1 if nothing precedes it; blanks count too."""
    line: int
    """The file line the record starts on (a quoted cell may hold line breaks)."""
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
        header: _Header,
        pairs: list[tuple[int, str]],
    ) -> None:
        self.encoding = encoding
        self.delimiter = delimiter
        self.header_width = len(header.labels)
        self.labels = tuple(header.labels)
        """The header's labels as written."""
        self.columns: tuple[str, ...] = tuple(name for _, name in pairs)
        self.ignored_labels = tuple(
            label
            for index, raw in enumerate(header.labels)
            if (label := _clean_label(raw)) and index not in {i for i, _ in pairs}
        )
        """Non-empty labels that name no column: their cells are ignored."""
        self.skipped_records = header.skipped_records
        self._source = source
        self._header_row = header.row
        self._header_end_line = header.end_line
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
            records = islice(reader, self.skipped_records + self._header_row, None)
            row_number = self._header_row
            last_line = self._header_end_line
            try:
                for row_number, row in enumerate(records, self._header_row + 1):
                    line, last_line = last_line + 1, reader.line_num
                    if _is_blank(row):
                        continue
                    if len(row) >= reach:
                        cells = {name: row[index] for index, name in pairs}
                    else:
                        cells = {name: row[index] for index, name in pairs if index < len(row)}
                    yield CsvRecord(row_number, line, cells, len(row))
            except csv.Error as exc:
                raise _broken(row_number + 1, last_line + 1, exc) from exc

    def raw_records(self) -> Iterator[tuple[int, list[str]]]:
        """Every record after the header, blank ones too, as (row number, cells as read)."""
        with _decoded(self._source, self.encoding) as text:
            reader = csv.reader(text, delimiter=self.delimiter, strict=True)
            records = islice(reader, self.skipped_records + self._header_row, None)
            try:
                yield from enumerate(records, self._header_row + 1)
            except csv.Error as exc:
                raise _broken(0, reader.line_num, exc) from exc


def open_csv(source: IO[bytes]) -> CsvTable:
    """Check an uploaded CSV from its start and return a reader for its records.

    `source` stays open and owned by the caller, and must stay unchanged while the table is used.
    Raises CsvFormatError for a binary file, text that is not valid in its declared encoding, or
    a missing, unreadable or ambiguous header.
    """
    encoding = _detect_encoding(source)
    with _decoded(source, encoding) as text:
        hinted = _separator_hint(text.readline(_CHUNK))
    with _decoded(source, encoding) as text:
        delimiter = _sniff_delimiter(text) if hinted is None else hinted
    with _decoded(source, encoding) as text:
        header = _read_header(text, delimiter, skip=0 if hinted is None else 1)
    return CsvTable(
        source, encoding=encoding, delimiter=delimiter, header=header, pairs=_map_header(header)
    )


def _separator_hint(first_line: str) -> str | None:
    """The delimiter an Excel `sep=X` first line names, or None."""
    line = first_line.lstrip("\ufeff").rstrip("\r\n")
    if line[: len(_SEPARATOR_HINT)].lower() == _SEPARATOR_HINT and len(line) == 5:
        return line[-1]
    return None


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
        raise CsvFormatError(
            CsvProblem.BINARY,
            "line 1 holds a NUL byte (an image, an archive, or UTF-16 without a byte order mark)",
        )
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
        raise CsvFormatError(
            CsvProblem.ENCODING, f"the file has a byte order mark but is not valid {encoding}"
        ) from exc
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


@dataclass(frozen=True, slots=True)
class _Header:
    labels: list[str]
    row: int
    """The header's spreadsheet row (records before it, blank ones, count)."""
    line: int
    """The file line it starts on."""
    end_line: int
    skipped_records: int
    """Records before the table (Excel's `sep=` line), not counted as rows."""


def _read_header(text: TextIO, delimiter: str, skip: int) -> _Header:
    """The first non-blank record after the `skip` first ones, and where it is."""
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    row_number = last_line = 0
    try:
        for row_number, row in enumerate(islice(reader, skip, None), 1):
            line, last_line = last_line + 1, reader.line_num
            if not _is_blank(row):
                return _Header(row, row_number, line, last_line, skip)
    except csv.Error as exc:
        raise _broken(row_number + 1, last_line + 1, exc) from exc
    raise CsvFormatError(CsvProblem.NO_HEADER, "the file holds no line with any text")


def _clean_label(raw: str) -> str:
    return raw.replace("\ufeff", "").strip()


def _map_header(header: _Header) -> list[tuple[int, str]]:
    """Return (cell index, canonical name) for the known labels, in COLUMNS order."""
    seen: dict[str, str] = {}  # canonical name -> label as written
    pairs: list[tuple[int, str]] = []
    for index, raw in enumerate(header.labels):
        label = _clean_label(raw)
        name = HEADER_ALIASES.get(label.lower())
        if name is None:
            continue
        if name in seen:
            raise CsvFormatError(
                CsvProblem.DUPLICATE_LABELS,
                f"line {header.line}: the header labels {seen[name]!r} and {label!r} both name"
                f" the {name} column",
            )
        seen[name] = label
        pairs.append((index, name))
    if "ext" not in seen:
        found = ", ".join(repr(_clean_label(raw)) for raw in header.labels[:20])
        raise CsvFormatError(
            CsvProblem.MISSING_LABEL,
            f"line {header.line}: the header has no 'ext' label (it has {found}; the accepted"
            f" labels are {', '.join(HEADER_ALIASES)})",
        )
    return sorted(pairs, key=lambda pair: COLUMNS.index(pair[1]))


def _is_blank(row: list[str]) -> bool:
    """A record with no cells or only empty/whitespace cells (spreadsheets export ",,,,")."""
    return not "".join(row).strip()


def _broken(row_number: int, line: int, exc: csv.Error) -> CsvFormatError:
    return CsvFormatError(
        CsvProblem.BROKEN_RECORD, f"row {row_number}: {exc}, in the record from line {line}"
    )
