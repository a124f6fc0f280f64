"""Recording an upload while it runs: one call per row and one per batch from the pipeline,
and at the end one imports row, written in the upload's own transaction through its writer
(see `store.writer`), so an upload and its record commit or vanish together."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from switchvox_server.bulk.csv_reader import CsvRecord
from switchvox_server.bulk.report import BulkReport, Section
from switchvox_server.history.records import (
    NO_VERSION,
    BlobWriter,
    Change,
    RowRecord,
    storable_state,
)
from switchvox_server.passwords import NEW_PHONE_PASSWORD, NEW_VOICEMAIL_PIN, NEW_WEB_PASSWORD
from switchvox_server.store.history import (
    driver_values,
    import_statement,
    version_statement,
    versions_of,
)
from switchvox_server.store.queries import REWRITTEN_COLUMNS
from switchvox_server.store.rows import ExtensionValues, StoredExtension
from switchvox_server.store.writer import BatchWriter

_HASH_CHUNK = 1024 * 1024
_REWRITTEN = (Section.REPLACED, Section.UPDATED)
_CREATED = Section.CREATED.value
REWRITTEN_NAMES = tuple(column.name for column in REWRITTEN_COLUMNS)


class ImportKind:
    """What a recorded import was."""

    UPLOAD = "upload"
    EVALUATION = "evaluation"  # a report_only upload: nothing written, nothing to undo
    UNDO = "undo"
    REMOVE = "remove"
    TEMPLATE = "template"  # a template added, changed or removed: recorded, not undone


@dataclass(frozen=True, slots=True)
class ImportSource:
    """Who asked for an import, from where, and the file's name as sent."""

    caller: str
    address: str
    file_name: str = ""


@dataclass(frozen=True, slots=True)
class FileDigest:
    size: int
    sha256: str

    @classmethod
    def of(cls, source: IO[bytes]) -> FileDigest:
        """The size and SHA-256 of a seekable file, read from its start; left at its start."""
        digest = hashlib.sha256()
        source.seek(0)
        size = 0
        while chunk := source.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
        source.seek(0, io.SEEK_SET)
        return cls(size, digest.hexdigest())


_NEW_SECRETS = (NEW_WEB_PASSWORD, NEW_PHONE_PASSWORD, NEW_VOICEMAIL_PIN)


def _changes_nothing(stored: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether an update leaves every stored field as it was (a new secret counts as a
    change, even one equal to the stored)."""
    if any(name in values for name in _NEW_SECRETS):
        return False
    return all(values[name] == stored[name] for name in REWRITTEN_NAMES if name in values)


def created_changes(kind: str, rows: Iterable[RowRecord], import_id: int) -> Iterator[Change]:
    """The changes of an upload's created extensions, from its row records: each did not
    exist before (and had no version)."""
    if kind != ImportKind.UPLOAD:
        return
    for _, _, section, number, _ in rows:
        if section == _CREATED:
            yield number.strip(), None, NO_VERSION, import_id


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


class UploadRecorder:
    """Collects one upload's row records and, for a writing upload, the changes an undo
    needs (the stored state of every replaced or updated extension, and which were created);
    names the upload as the last writer of each extension it writes, batch by batch."""

    def __init__(self, session: Session, writer: BatchWriter | None, import_id: int | None) -> None:
        self.session = session
        self.writer = writer
        self.import_id = import_id
        self.dialect = dialect = session.connection().dialect
        self._rows = BlobWriter()
        self._changes = BlobWriter()
        self._row_block: list[RowRecord] = []
        self._rewritten: list[tuple[str, dict[str, Any]]] = []
        self._versions = version_statement(dialect) if writer is not None else None
        self.unchanged = 0
        self.rows = 0
        self.rows_checked: Callable[[int], None] | None = None

    @property
    def writes(self) -> bool:
        return self.writer is not None

    def row(
        self,
        record: CsvRecord,
        section: Section,
        errors: tuple[str, ...],
        stored: StoredExtension | None,
        values: ExtensionValues | None = None,
    ) -> None:
        """Record one row's outcome; `stored` is what a rewritten extension held before and
        `values` what it holds now."""
        # Kept lean: this runs for every row of the file.
        number = record.cells.get("ext", "")
        self._row_block.append((record.row_number, record.line, section.value, number, errors))
        if stored is not None and section in _REWRITTEN:
            if values is not None and section is Section.UPDATED:
                self.unchanged += _changes_nothing(stored, values)
            if self.writer is not None:
                self._rewritten.append((number.strip(), storable_state(stored)))

    def batch_done(self) -> None:
        """Compress the batch's records; name this upload as the writer of its extensions.

        Created extensions need no change of their own: their row records say which they
        are (`created_changes`), and an absent extension has no version to keep."""
        block, self._row_block = self._row_block, []
        rewritten, self._rewritten = self._rewritten, []
        self._rows.add(block)
        self.rows += len(block)
        if self.rows_checked is not None:
            self.rows_checked(self.rows)
        if self.writer is None or self._versions is None:
            return
        import_id = self.import_id
        assert import_id is not None
        numbers = [number.strip() for _, _, section, number, _ in block if section == _CREATED]
        if rewritten:
            before = versions_of(self.session, [number for number, _ in rewritten])
            changes: list[Change] = [
                (number, state, before.get(number, NO_VERSION), import_id)
                for number, state in rewritten
            ]
            self._changes.add(changes)
            numbers += [number for number, _ in rewritten]
        if numbers:
            # One statement per batch: the numbers travel as one JSON array.
            self.writer.execute(
                self._versions, [{"numbers": json.dumps(numbers), "import_id": import_id}]
            )

    def values(
        self,
        kind: str,
        report: BulkReport,
        source: ImportSource,
        digest: FileDigest,
        options: Mapping[str, object],
        notes: list[str],
    ) -> dict[str, Any]:
        """The imports row of this upload (its id is None until an evaluation is stored)."""
        self.batch_done()
        return {
            "id": self.import_id,
            "kind": kind,
            "created_at": now(),
            "caller": source.caller[:64],
            "address": source.address[:64],
            "file_name": source.file_name[:255],
            "file_size": digest.size,
            "file_sha256": digest.sha256,
            "options": json.dumps(dict(options)),
            "counts": json.dumps({section.value: report.count(section) for section in Section}),
            "notes": json.dumps(notes),
            "undoes": None,
            "undone_by": None,
            "rows": self._rows.finish(),
            "changes": self._changes.finish() if self.writes else None,
        }

    def store(self, values: Mapping[str, Any]) -> None:
        """Write the imports row through the upload's writer, in its transaction."""
        assert self.writer is not None
        self.writer.execute(import_statement(self.dialect), [driver_values(values, self.dialect)])


@dataclass(slots=True)
class Recording:
    """Asks for an upload to be recorded (when the history is on) and tells what came of
    it: the header's notes and the id the import was recorded under."""

    source: ImportSource
    notes: list[str] = field(default_factory=list)
    import_id: int | None = None
    rows: bytes | None = None
    """The compressed row records (`records.read_blob`), once the upload has run."""
    unchanged: int = 0
    """Updated extensions whose update changed nothing."""
    plan_token: str | None = None
    """The Switchvox-Plan token of a report_only upload (history.plans)."""
    rows_begin: Callable[[], None] | None = None
    """Told when the pass over the rows begins, the file's encoding and header checked (a
    progress bar), whether or not the history is kept."""
    rows_checked: Callable[[int], None] | None = None
    """Told how many rows have been checked, after each batch (a progress bar)."""
    digest: FileDigest | None = None
    """The file's digest, when the caller has it already (it need not be read again)."""
