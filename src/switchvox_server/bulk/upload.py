"""The bulk upload pipeline: read the CSV in batches, decide each row's outcome against the
store with one lookup per batch, write each batch with bulk statements, fill the report.

Everything here runs inside the caller's transaction; a raised ApiError means the caller
rolls back, so a method fault never leaves anything written. The report is complete
(sealed) before this returns, so the caller commits only an upload whose report is whole.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from itertools import islice
from typing import IO, cast

from sqlalchemy.orm import Session

from switchvox_server.bulk.csv_reader import CsvFormatError, CsvRecord, CsvTable, open_csv
from switchvox_server.bulk.messages import RowMessage
from switchvox_server.bulk.report import BulkReport, Section
from switchvox_server.bulk.rules import (
    RowPolicy,
    check_extension,
    evaluate,
    normalise_mac,
    template_base,
)
from switchvox_server.faults import FAULTS, ApiError
from switchvox_server.history.diagnostics import header_notes
from switchvox_server.history.plans import PlanFingerprint
from switchvox_server.history.recorder import UploadRecorder
from switchvox_server.settings import Settings
from switchvox_server.store import queries
from switchvox_server.store.models import ExtensionType, VoicemailPinRule
from switchvox_server.store.rows import ExtensionBase, ExtensionValues, StoredExtension, TemplateRow
from switchvox_server.store.writer import BatchWriter

BATCH_SIZE = 2000
# Numbering plans of up to six digits fit a flat array of at most this many rows (about
# 4 MiB); longer ones are remembered in a dict.
FLAT_FIRST_ROWS_LIMIT = 2_000_000


class DupeProcess(IntEnum):
    SKIP = 1
    REPLACE = 2
    UPDATE = 3


@dataclass(frozen=True, slots=True)
class UploadOptions:
    extension_type: ExtensionType
    dupe_process: DupeProcess
    template: TemplateRow


@dataclass(frozen=True, slots=True)
class ExtensionLimit:
    """The most extensions the system may hold, and the fault to answer beyond it."""

    maximum: int
    registered: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtensionLimit | None:
        """The limit the settings impose, or None when extensions are unlimited."""
        if not settings.registered:
            return cls(settings.unregistered_limit, registered=False)
        if settings.max_extensions is not None:
            return cls(settings.max_extensions, registered=True)
        return None

    def fault(self) -> ApiError:
        if self.registered:
            return ApiError(FAULTS.LICENCE_EXCEEDED)
        return ApiError(FAULTS.UNREGISTERED_LIMIT, self.maximum)


def bulk_upload(
    session: Session,
    source: IO[bytes],
    options: UploadOptions,
    policy: RowPolicy,
    limit: ExtensionLimit | None,
    writer: BatchWriter | None,
    recorder: UploadRecorder | None = None,
    notes: list[str] | None = None,
    fingerprint: PlanFingerprint | None = None,
    rows_begin: Callable[[], None] | None = None,
) -> BulkReport:
    """Run the upload and return its report; raise ApiError on a method fault.

    Lookups run on `session`; batches are stored through `writer` (none for report_only),
    and every row is told to `recorder`, if any (docs/history.md). `notes` is given what the
    header deserves to be told about (ignored labels, labels new extensions need), and
    `fingerprint` every lookup the report depends on (history.plans); `rows_begin` is called
    once the file's encoding and header are checked, as the pass over the rows begins (a
    progress bar). The caller commits, or rolls back when this raises."""
    try:
        table = open_csv(source)
    except CsvFormatError as error:
        raise ApiError(FAULTS.CSV_FORMAT, detail=str(error)) from None
    if notes is not None:
        notes.extend(header_notes(table, options.extension_type))
    report = BulkReport(int(options.dupe_process), options.extension_type)
    try:
        stored_before = queries.count_extensions(session) if limit is not None else 0
        planner = _Planner(session, writer, table, options, policy, report, recorder, fingerprint)
        if rows_begin is not None:
            rows_begin()
        planner.run()
        if report.total == 0:
            raise ApiError(FAULTS.CSV_EMPTY)
        created = report.count(Section.CREATED)
        if limit is not None and created and stored_before + created > limit.maximum:
            raise limit.fault()
        report.seal()
    except BaseException:
        report.close()
        raise
    return report


class FirstRows:
    """The row where each well-formed extension number first appears in the file.

    Kept in one flat array indexed by number (by length, then value) rather than in a dict:
    a dict's hundred thousand small keys, allocated among each row's short-lived objects,
    pin that memory for the whole upload (30 MiB more for 100,000 rows). Numbering plans too
    long for a flat array fall back to the dict.
    """

    def __init__(self, min_length: int, max_length: int) -> None:
        self._offsets: dict[int, int] = {}
        size = 0
        for length in range(min_length, max_length + 1):
            self._offsets[length] = size
            size += 10**length
        self._rows = array("I", [0]) * size if size <= FLAT_FIRST_ROWS_LIMIT else None
        self._fallback: dict[str, int] = {}

    def first(self, number: str, row: int) -> int:
        """The first row of `number`: `row` itself, remembered, if it is the first."""
        if self._rows is None:
            return self._fallback.setdefault(number, row)
        index = self._offsets[len(number)] + int(number)
        first = self._rows[index]
        if first == 0:
            self._rows[index] = first = row
        return first


class _Planner:
    """Decides and writes one upload, batch by batch, remembering what the file repeats."""

    def __init__(
        self,
        session: Session,
        writer: BatchWriter | None,
        table: CsvTable,
        options: UploadOptions,
        policy: RowPolicy,
        report: BulkReport,
        recorder: UploadRecorder | None,
        fingerprint: PlanFingerprint | None,
    ) -> None:
        self.session = session
        self.writer = writer
        self.table = table
        self.options = options
        self.policy = policy
        self.report = report
        self.recorder = recorder
        self.fingerprint = fingerprint
        self.base = template_base(options.template)
        self.pin_rule = VoicemailPinRule(options.template["voicemail_pin_rule"])
        self.first_rows = FirstRows(policy.extension_min_length, policy.extension_max_length)
        self.first_row_of_mac: dict[str, int] = {}
        # Only an update merges the row into what is stored; skip and replace need only to
        # know which extensions exist (and, to replace, their account ids), unless the
        # history keeps what a replace overwrites, or a plan depends on the whole stored
        # state of the extensions the file names.
        keeps_states = recorder is not None and recorder.writes
        self.lookup_columns = (
            queries.STORED_COLUMNS
            if options.dupe_process is DupeProcess.UPDATE
            or fingerprint is not None
            or (keeps_states and options.dupe_process is DupeProcess.REPLACE)
            else queries.IDENTITY_COLUMNS
        )

    def run(self) -> None:
        try:
            for batch in _batches(self.table.records(), BATCH_SIZE):
                self._process(batch)
        except CsvFormatError as error:
            raise ApiError(FAULTS.CSV_FORMAT, detail=str(error)) from None

    def _process(self, batch: list[CsvRecord]) -> None:
        # Only well-formed numbers can exist; anything else (a NUL, say) never reaches SQL.
        numbers = {
            number
            for record in batch
            if check_extension(number := record.cells.get("ext", "").strip(), self.policy) is None
        }
        existing = queries.extensions_by_number(self.session, numbers, self.lookup_columns)
        macs = {
            mac
            for record in batch
            if (mac := normalise_mac(record.cells.get("digium_phone_mac_address", "")))
        }
        mac_owners = queries.owners_of_macs(self.session, macs)
        if self.fingerprint is not None:
            self.fingerprint.batch(existing, mac_owners)
        inserts: list[ExtensionValues] = []
        rewrites: list[ExtensionValues] = []
        for record in batch:
            self._plan(record, existing, mac_owners, inserts, rewrites)
        if self.writer is not None:
            self.writer.write(inserts, rewrites)
        if self.recorder is not None:
            self.recorder.batch_done()

    def _plan(
        self,
        record: CsvRecord,
        existing: Mapping[str, StoredExtension],
        mac_owners: Mapping[str, str],
        inserts: list[ExtensionValues],
        rewrites: list[ExtensionValues],
    ) -> None:
        cells = record.cells
        number = cells.get("ext", "").strip()
        if record.cell_count != self.table.header_width:
            self._plan_ragged(record, number, existing)
            return
        errors: list[str] = []
        if problem := check_extension(number, self.policy):
            errors.append(problem)
        elif (first := self.first_rows.first(number, record.row_number)) != record.row_number:
            errors.append(RowMessage.EXTENSION_REPEATED.format(number, first))
            self._fail(record, errors)
            return

        stored = existing.get(number) if problem is None else None
        dupe_process = self.options.dupe_process
        if stored is not None and dupe_process is DupeProcess.SKIP:
            self._report(Section.SKIPPED, record)
            return
        if stored is not None and dupe_process is DupeProcess.UPDATE:
            # An update looks up every stored column (lookup_columns).
            base: ExtensionBase = cast(ExtensionBase, stored)
            extension_type = ExtensionType(stored["extension_type"])
            pin_rule: VoicemailPinRule | None = None
        else:
            base, extension_type, pin_rule = self.base, self.options.extension_type, self.pin_rule
        evaluation = evaluate(
            cells, number, extension_type, base, self.policy, voicemail_pin_rule=pin_rule
        )
        errors.extend(evaluation.errors)
        values = evaluation.values
        self._check_mac(record, number, values.get("mac_address"), mac_owners, errors)
        if errors:
            self._fail(record, errors)
            return
        if stored is None:
            inserts.append(values)
            section = Section.CREATED
        else:
            values["stored_account_id"] = stored["account_id"]
            values.pop("account_id", None)
            rewrites.append(values)
            section = Section.REPLACED if dupe_process is DupeProcess.REPLACE else Section.UPDATED
        self.report.add(section, number, values["first_name"], values["last_name"], values["email"])
        if self.recorder is not None:
            self.recorder.row(record, section, (), stored, values)

    def _plan_ragged(
        self, record: CsvRecord, number: str, existing: Mapping[str, StoredExtension]
    ) -> None:
        """A row whose cell count differs from the header's: its cells may sit under the
        wrong labels, and a shifted cell can be a password, so only its extension cell is
        read and reported. It is still that extension's row: skip leaves an existing one
        alone; anything else fails it for its cell count (and a malformed or repeated number)."""
        errors = [RowMessage.CELL_COUNT.format(record.cell_count, self.table.header_width)]
        if problem := check_extension(number, self.policy):
            errors.append(problem)
        elif (first := self.first_rows.first(number, record.row_number)) != record.row_number:
            errors.append(RowMessage.EXTENSION_REPEATED.format(number, first))
        elif number in existing and self.options.dupe_process is DupeProcess.SKIP:
            self._report_number_only(Section.SKIPPED, record)
            return
        self._report_number_only(Section.CREATE_FAILED, record, tuple(errors))

    def _report_number_only(
        self, section: Section, record: CsvRecord, errors: tuple[str, ...] = ()
    ) -> None:
        if self.recorder is not None:
            self.recorder.row(record, section, errors, None)
        self.report.add(section, record.cells.get("ext", ""), "", "", "", errors)

    def _check_mac(
        self,
        record: CsvRecord,
        number: str,
        mac: str | None,
        mac_owners: Mapping[str, str],
        errors: list[str],
    ) -> None:
        if mac is None:
            return
        first = self.first_row_of_mac.setdefault(mac, record.row_number)
        if first != record.row_number:
            errors.append(RowMessage.MAC_ADDRESS_REPEATED.format(mac, first))
        elif (owner := mac_owners.get(mac)) is not None and owner != number:
            errors.append(RowMessage.MAC_ADDRESS_IN_USE.format(mac, owner))

    def _fail(self, record: CsvRecord, errors: list[str]) -> None:
        self._report(Section.CREATE_FAILED, record, tuple(errors))

    def _report(self, section: Section, record: CsvRecord, errors: tuple[str, ...] = ()) -> None:
        """Report a row with its cells as written (a failed or skipped row)."""
        if self.recorder is not None:
            self.recorder.row(record, section, errors, None)
        cells = record.cells
        self.report.add(
            section,
            cells.get("ext", ""),
            cells.get("fname", ""),
            cells.get("lname", ""),
            cells.get("email", ""),
            errors,
        )


def _batches(records: Iterator[CsvRecord], size: int) -> Iterator[list[CsvRecord]]:
    while batch := list(islice(records, size)):
        yield batch
