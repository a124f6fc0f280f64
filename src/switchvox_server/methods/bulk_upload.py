"""`switchvox.extensions.phones.bulk.upload`: parameter checks, then the bulk pipeline."""

from __future__ import annotations

from switchvox_server.bulk.rules import RowPolicy, usable_template
from switchvox_server.bulk.upload import (
    DupeProcess,
    ExtensionLimit,
    UploadOptions,
    bulk_upload,
)
from switchvox_server.faults import FAULTS, ApiError
from switchvox_server.methods.registry import Access, MethodContext, registry
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.protocol.tree import Element
from switchvox_server.settings import Settings
from switchvox_server.store import queries
from switchvox_server.store.models import ExtensionType

METHOD = "switchvox.extensions.phones.bulk.upload"
REQUIRED = ("extension_type", "dupe_process", "template_account_id")
# An upload that writes this many rows refreshes the planner's statistics afterwards.
STATISTICS_REFRESH_ROWS = 1000


@registry.register(METHOD, Access.ADMIN_WRITE)
def bulk_upload_method(request: ApiRequest, context: MethodContext) -> Element:
    for name in REQUIRED:
        if not (request.scalar(name) or "").strip():
            raise ApiError(FAULTS.MISSING_PARAMETER, name)
    extension_type = _extension_type(request.scalar("extension_type") or "")
    dupe_process = _dupe_process(request.scalar("dupe_process") or "")
    template_id = (request.scalar("template_account_id") or "").strip()
    report_only = _report_only(request.scalar("report_only"))

    database = context.database
    # A real upload holds the writer lock for its whole transaction; a report-only one
    # reads a consistent snapshot and changes nothing.
    factory = database.sessions if report_only else database.exclusive_sessions
    with factory() as session:
        template = (
            queries.template_by_id(session, int(template_id)) if template_id.isdigit() else None
        )
        if template is None:
            raise ApiError(FAULTS.INVALID_TEMPLATE, template_id)
        if not usable_template(template):
            raise ApiError(FAULTS.UNUSABLE_TEMPLATE, template_id)
        if request.upload_problem is not None:
            raise ApiError(request.upload_problem)
        if request.upload is None:
            raise ApiError(FAULTS.UPLOAD_PROBLEM)
        options = UploadOptions(extension_type, dupe_process, template, report_only)
        report = bulk_upload(
            session,
            request.upload,
            options,
            _row_policy(context.settings, context.secret_key),
            _extension_limit(context.settings),
        )
        context.cleanup.callback(report.close)
        if report_only:
            session.rollback()
            return report.to_element()
        session.commit()
    if report.written >= STATISTICS_REFRESH_ROWS:
        with database.sessions.begin() as session:
            queries.refresh_statistics(session)
    return report.to_element()


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


def _row_policy(settings: Settings, secret_key: bytes) -> RowPolicy:
    return RowPolicy(
        extension_min_length=settings.extension_min_length,
        extension_max_length=settings.extension_max_length,
        strong_phone_passwords=settings.strong_phone_passwords,
        secret_key=secret_key,
    )


def _extension_limit(settings: Settings) -> ExtensionLimit | None:
    if not settings.registered:
        return ExtensionLimit(settings.unregistered_limit, registered=False)
    if settings.max_extensions is not None:
        return ExtensionLimit(settings.max_extensions, registered=True)
    return None
