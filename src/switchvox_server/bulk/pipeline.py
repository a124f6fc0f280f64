"""One upload from its parameters to its report: the transaction, the writer (this process or
a helper process), the history record and the plan, around the row pipeline of bulk/upload.py.

The one code path of an upload, shared by the API method (methods/bulk_upload.py) and the
`import` command.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy.orm import Session

from switchvox_server.bulk.report import BulkReport
from switchvox_server.bulk.rules import RowPolicy, usable_template
from switchvox_server.bulk.upload import (
    DupeProcess,
    ExtensionLimit,
    UploadOptions,
    bulk_upload,
)
from switchvox_server.faults import FAULTS, ApiError, Fault
from switchvox_server.history import plans
from switchvox_server.history.recorder import (
    FileDigest,
    ImportKind,
    Recording,
    UploadRecorder,
)
from switchvox_server.settings import Settings
from switchvox_server.store import queries
from switchvox_server.store.database import Database, shared_between_processes
from switchvox_server.store.history import insert_import, next_import_id
from switchvox_server.store.models import ExtensionType
from switchvox_server.store.writer import BatchWriter, HelperTimeouts, SessionWriter, WriterPool
from switchvox_server.values import ascii_integer

logger = logging.getLogger(__name__)

# An upload that writes this many rows refreshes the planner's statistics afterwards.
STATISTICS_REFRESH_ROWS = 1000
# Files from this size on (about 10,000 rows) are stored by a helper process, when the
# server keeps them: below it, handing batches over costs more than it saves.
HELPER_PROCESS_BYTES = 1024 * 1024
# templates.id is an INTEGER column, 32 bits on PostgreSQL: no stored id has more digits or
# is larger, so a longer one is an unknown template rather than an overflow in the query.
TEMPLATE_ID_MAX_DIGITS = 10
TEMPLATE_ID_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class UploadParameters:
    """The method's parameters once parsed: what the API request or the CLI asked for."""

    extension_type: ExtensionType
    dupe_process: DupeProcess
    template_id: str
    """As given: anything but the digits of a stored template's id is fault 86173."""
    report_only: bool
    plan: str | None = None
    """The `plan` parameter (ours): the Switchvox-Plan token of a report_only answer."""

    def recorded_options(self) -> dict[str, object]:
        """The options as the history shows them."""
        return {
            "extension_type": self.extension_type.value,
            "dupe_process": int(self.dupe_process),
            "template_id": self.template_id,
            "report_only": self.report_only,
        }


def run_bulk_upload(
    database: Database,
    settings: Settings,
    secret_key: bytes,
    upload: IO[bytes] | None,
    parameters: UploadParameters,
    upload_problem: Fault | None = None,
    writers: WriterPool | None = None,
    recording: Recording | None = None,
) -> BulkReport:
    """Run one upload in its own transaction, as the API method does, and return its report;
    raise ApiError for a method fault, having written nothing. `upload_problem` is the fault
    an upload whose file arrived unusable deserves, in its place in the order of checks.
    With `writers`, a large upload is stored by a helper process (see store.writer). With
    `recording`, the upload is recorded in the history when the settings keep one: in its
    own transaction when it writes, just after it when it is report_only (docs/history.md).

    The one code path of an upload, shared by the API and the `import` command. The caller
    closes the report once it has been rendered.
    """
    history = plan = None
    if upload is not None and (recording is not None or parameters.plan is not None):
        digest = recording.digest if recording and recording.digest else FileDigest.of(upload)
        if recording is not None and settings.history:
            history = _History(recording, parameters, digest)
        if parameters.report_only or parameters.plan is not None:
            plan = _Plan(secret_key, parameters, digest, settings)

    def run(session: Session, writer: BatchWriter | None) -> BulkReport:
        return _run(
            session,
            writer,
            settings,
            upload,
            parameters,
            upload_problem,
            history,
            plan,
            None if recording is None else recording.rows_begin,
        )

    if writers is not None and _worth_a_helper(database, upload, parameters):
        helping = writers.transaction(database, secret_key, HelperTimeouts.from_settings(settings))
        with helping as helper, database.sessions() as session:
            report = run(session, helper)
            _finish(report, lambda: helper.finish(commit=True))
    elif parameters.report_only:
        with database.sessions() as session:
            report = run(session, None)
            _finish(report, session.rollback)
        if history is not None:
            _finish(report, lambda: history.store_evaluation(database))
    else:
        # The writer lock is held for the whole transaction, from its first statement.
        with database.exclusive_sessions() as session:
            writer = SessionWriter(session, secret_key)
            report = run(session, writer)
            _finish(report, session.commit)
    if recording is not None and history is not None:
        recording.import_id = history.import_id
    if not parameters.report_only and report.written >= STATISTICS_REFRESH_ROWS:
        _refresh_statistics(database)
    return report


def _run(
    session: Session,
    writer: BatchWriter | None,
    settings: Settings,
    upload: IO[bytes] | None,
    parameters: UploadParameters,
    upload_problem: Fault | None,
    history: _History | None = None,
    plan: _Plan | None = None,
    rows_begin: Callable[[], None] | None = None,
) -> BulkReport:
    """The checks of the method, in their order, then the pipeline (and its record)."""
    template_id = parameters.template_id
    number = ascii_integer(template_id, TEMPLATE_ID_MAX_DIGITS)
    template = None
    if number is not None and number <= TEMPLATE_ID_MAX:
        template = queries.template_by_id(session, number)
    if template is None:
        raise ApiError(FAULTS.INVALID_TEMPLATE, template_id)
    if not usable_template(template):
        raise ApiError(FAULTS.UNUSABLE_TEMPLATE, template_id)
    if upload_problem is not None:
        raise ApiError(upload_problem)
    if upload is None:
        raise ApiError(FAULTS.UPLOAD_PROBLEM)
    recorder = None if history is None else history.recorder(session, writer)
    fingerprint = None if plan is None else plan.fingerprint(template)
    report = bulk_upload(
        session,
        upload,
        UploadOptions(parameters.extension_type, parameters.dupe_process, template),
        RowPolicy.from_settings(settings),
        ExtensionLimit.from_settings(settings),
        writer,
        recorder,
        None if history is None else history.recording.notes,
        fingerprint,
        rows_begin,
    )
    if plan is not None:
        token = plan.finish(report)
        if history is not None:
            history.recording.plan_token = token
    if history is not None:
        _finish(report, lambda: history.close(report))
    return report


class _Plan:
    """A plan made by a report_only upload, or checked by the upload that applies it."""

    def __init__(
        self,
        secret_key: bytes,
        parameters: UploadParameters,
        digest: FileDigest,
        settings: Settings,
    ) -> None:
        self.secret_key = secret_key
        self.parameters = parameters
        self.digest = digest
        self.settings = settings
        self._fingerprint: plans.PlanFingerprint | None = None
        self._expected: bytes | None = None

    def fingerprint(self, template: Mapping[str, Any]) -> plans.PlanFingerprint:
        """The fingerprint to build while the upload runs; a forged plan is refused here,
        after the documented checks."""
        if self.parameters.plan is not None and not self.parameters.report_only:
            self._expected = plans.planned_digest(self.secret_key, self.parameters.plan)
        options = self.parameters.recorded_options()
        options.pop("report_only")
        self._fingerprint = plans.PlanFingerprint(
            self.digest.sha256,
            sorted(options.items()),
            sorted(template.items()),
            RowPolicy.from_settings(self.settings),
            ExtensionLimit.from_settings(self.settings),
        )
        return self._fingerprint

    def finish(self, report: BulkReport) -> str | None:
        """Check an applied plan (the stale-plan fault rolls the upload back); give a
        report_only upload its token."""
        fingerprint, expected = self._fingerprint, self._expected
        assert fingerprint is not None
        if expected is not None:
            _finish(report, lambda: plans.check_plan(expected, fingerprint))
        if self.parameters.report_only:
            return plans.make_token(self.secret_key, fingerprint.digest())
        return None


class _History:
    """The record of one upload: begun once the upload may run, stored in its transaction
    when it writes, or after it when it is an evaluation."""

    def __init__(
        self, recording: Recording, parameters: UploadParameters, digest: FileDigest
    ) -> None:
        self.recording = recording
        self.parameters = parameters
        self.digest = digest
        self.import_id: int | None = None
        self._recorder: UploadRecorder | None = None
        self._values: dict[str, Any] | None = None

    def recorder(self, session: Session, writer: BatchWriter | None) -> UploadRecorder:
        if writer is not None:
            # The writer lock is held (by this session or by the helper): the id is ours.
            self.import_id = next_import_id(session)
        self._recorder = UploadRecorder(session, writer, self.import_id)
        self._recorder.rows_checked = self.recording.rows_checked
        return self._recorder

    def close(self, report: BulkReport) -> None:
        """Build the record; a writing upload stores it now, in its transaction."""
        assert self._recorder is not None
        kind = ImportKind.UPLOAD if self._recorder.writes else ImportKind.EVALUATION
        self._values = self._recorder.values(
            kind,
            report,
            self.recording.source,
            self.digest,
            self.parameters.recorded_options(),
            self.recording.notes,
        )
        self.recording.rows = self._values["rows"]
        self.recording.unchanged = self._recorder.unchanged
        if self._recorder.writes:
            self._recorder.store(self._values)

    def store_evaluation(self, database: Database) -> None:
        """Store a report_only upload's record, in a short transaction of its own."""
        if self._values is None:
            return
        with database.exclusive_sessions.begin() as session:
            self.import_id = next_import_id(session)
            insert_import(session, self._values | {"id": self.import_id})


def _finish(report: BulkReport, step: Callable[[], object]) -> None:
    """Run a last step of the upload; if it fails, the report is never sent, so close it."""
    try:
        step()
    except BaseException:
        report.close()
        raise


def _refresh_statistics(database: Database) -> None:
    """After the commit: the upload is stored, so it keeps its report whatever happens
    here; statistics that could not be refreshed are only a slower next lookup."""
    try:
        with database.sessions.begin() as session:
            queries.refresh_statistics(session)
    except Exception as error:
        logger.warning("refreshing the statistics after an upload failed: %s", error)


def _worth_a_helper(
    database: Database, upload: IO[bytes] | None, parameters: UploadParameters
) -> bool:
    """A real upload, large enough, to a store another process can reach."""
    if upload is None or parameters.report_only or not shared_between_processes(database):
        return False
    size = upload.seek(0, io.SEEK_END)
    upload.seek(0)
    return size >= HELPER_PROCESS_BYTES
