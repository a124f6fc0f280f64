"""`switchvox.extensions.phones.bulk.upload`: parameter checks, then the bulk pipeline."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from sqlalchemy.orm import Session

from switchvox_server.bulk.report import BulkReport, Section
from switchvox_server.bulk.rules import RowPolicy, usable_template
from switchvox_server.bulk.upload import (
    DupeProcess,
    ExtensionLimit,
    UploadOptions,
    bulk_upload,
)
from switchvox_server.faults import FAULTS, ApiError, Fault
from switchvox_server.methods.registry import Access, MethodContext, registry
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.protocol.tree import Element
from switchvox_server.settings import Settings
from switchvox_server.store import queries
from switchvox_server.store.database import Database, shared_between_processes
from switchvox_server.store.models import ExtensionType
from switchvox_server.store.writer import BatchWriter, HelperTimeouts, SessionWriter, WriterPool

logger = logging.getLogger(__name__)

METHOD = "switchvox.extensions.phones.bulk.upload"
REQUIRED = ("extension_type", "dupe_process", "template_account_id")
# An upload that writes this many rows refreshes the planner's statistics afterwards.
STATISTICS_REFRESH_ROWS = 1000
# Files from this size on (about 10,000 rows) are stored by a helper process, when the
# server keeps them: below it, handing batches over costs more than it saves.
HELPER_PROCESS_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class UploadParameters:
    """The method's parameters once parsed: what the API request or the CLI asked for."""

    extension_type: ExtensionType
    dupe_process: DupeProcess
    template_id: str
    """As given: anything but the digits of a stored template's id is fault 86173."""
    report_only: bool


@registry.register(METHOD, Access.ADMIN_WRITE)
def bulk_upload_method(request: ApiRequest, context: MethodContext) -> Element:
    for name in REQUIRED:
        if not (request.scalar(name) or "").strip():
            raise ApiError(FAULTS.MISSING_PARAMETER, name)
    parameters = UploadParameters(
        extension_type=_extension_type(request.scalar("extension_type") or ""),
        dupe_process=_dupe_process(request.scalar("dupe_process") or ""),
        template_id=(request.scalar("template_account_id") or "").strip(),
        report_only=_report_only(request.scalar("report_only")),
    )
    report = run_bulk_upload(
        context.database,
        context.settings,
        context.secret_key,
        request.upload,
        parameters,
        request.upload_problem,
        context.writers,
    )
    context.cleanup.callback(report.close)
    context.log_fields.update({section.value: report.count(section) for section in Section})
    return report.to_element()


def run_bulk_upload(
    database: Database,
    settings: Settings,
    secret_key: bytes,
    upload: IO[bytes] | None,
    parameters: UploadParameters,
    upload_problem: Fault | None = None,
    writers: WriterPool | None = None,
) -> BulkReport:
    """Run one upload in its own transaction, as the API method does, and return its report;
    raise ApiError for a method fault, having written nothing. `upload_problem` is the fault
    an upload whose file arrived unusable deserves, in its place in the order of checks.
    With `writers`, a large upload is stored by a helper process (see store.writer).

    The one code path of an upload, shared by the API and the `import` command. The caller
    closes the report once it has been rendered.
    """
    if writers is not None and _worth_a_helper(database, upload, parameters):
        helping = writers.transaction(database, secret_key, HelperTimeouts.from_settings(settings))
        with helping as helper, database.sessions() as session:
            report = _run(session, helper, settings, upload, parameters, upload_problem)
            _finish(report, lambda: helper.finish(commit=True))
    elif parameters.report_only:
        with database.sessions() as session:
            report = _run(session, None, settings, upload, parameters, upload_problem)
            _finish(report, session.rollback)
    else:
        # The writer lock is held for the whole transaction, from its first statement.
        with database.exclusive_sessions() as session:
            writer = SessionWriter(session, secret_key)
            report = _run(session, writer, settings, upload, parameters, upload_problem)
            _finish(report, session.commit)
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
) -> BulkReport:
    """The checks of the method, in their order, then the pipeline."""
    template_id = parameters.template_id
    template = queries.template_by_id(session, int(template_id)) if template_id.isdigit() else None
    if template is None:
        raise ApiError(FAULTS.INVALID_TEMPLATE, template_id)
    if not usable_template(template):
        raise ApiError(FAULTS.UNUSABLE_TEMPLATE, template_id)
    if upload_problem is not None:
        raise ApiError(upload_problem)
    if upload is None:
        raise ApiError(FAULTS.UPLOAD_PROBLEM)
    return bulk_upload(
        session,
        upload,
        UploadOptions(parameters.extension_type, parameters.dupe_process, template),
        RowPolicy.from_settings(settings),
        ExtensionLimit.from_settings(settings),
        writer,
    )


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


def _extension_type(raw: str) -> ExtensionType:
    try:
        return ExtensionType(raw.strip().lower())
    except ValueError:
        raise ApiError(FAULTS.INVALID_EXTENSION_TYPE) from None


def _dupe_process(raw: str) -> DupeProcess:
    value = raw.strip()
    if value in {"1", "2", "3"}:
        return DupeProcess(int(value))
    raise ApiError(FAULTS.INVALID_DUPE_PROCESS, value)


def _report_only(raw: str | None) -> bool:
    value = (raw or "0").strip() or "0"
    if value not in {"0", "1"}:
        raise ApiError(FAULTS.INVALID_PARAMETER_VALUE, "report_only", value)
    return value == "1"
