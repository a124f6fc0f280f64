"""`switchvox.extensions.phones.bulk.upload`: parameter checks, then the bulk pipeline
(bulk/pipeline.py)."""

from __future__ import annotations

from switchvox_server.bulk.pipeline import UploadParameters, run_bulk_upload
from switchvox_server.bulk.report import Section
from switchvox_server.bulk.upload import DupeProcess
from switchvox_server.faults import FAULTS, ApiError
from switchvox_server.history import plans
from switchvox_server.history.recorder import ImportSource, Recording
from switchvox_server.methods.registry import Access, Method, MethodContext
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.store.models import ExtensionType
from switchvox_server.tree import Element
from switchvox_server.values import ascii_integer

METHOD = "switchvox.extensions.phones.bulk.upload"
REQUIRED = ("extension_type", "dupe_process", "template_account_id")
_DUPE_PROCESSES = frozenset(process.value for process in DupeProcess)


def bulk_upload_method(request: ApiRequest, context: MethodContext) -> Element:
    for name in REQUIRED:
        if not (request.scalar(name) or "").strip():
            raise ApiError(FAULTS.MISSING_PARAMETER, name)
    parameters = UploadParameters(
        extension_type=_extension_type(request.scalar("extension_type") or ""),
        dupe_process=_dupe_process(request.scalar("dupe_process") or ""),
        template_id=(request.scalar("template_account_id") or "").strip(),
        report_only=_report_only(request.scalar("report_only")),
        plan=request.scalar(plans.PARAMETER),
    )
    recording = Recording(ImportSource(context.caller, context.address, request.upload_name or ""))
    try:
        report = run_bulk_upload(
            context.database,
            context.settings,
            context.secret_key,
            request.upload,
            parameters,
            request.upload_problem,
            context.writers,
            recording,
        )
    except ApiError as error:
        if error.detail is not None:
            context.log_fields["cause"] = error.detail
        raise
    context.cleanup.callback(report.close)
    context.log_fields.update({section.value: report.count(section) for section in Section})
    if recording.notes:
        context.log_fields["csv_notes"] = " ".join(recording.notes)
    if recording.import_id is not None:
        context.log_fields["import_id"] = recording.import_id
    if recording.plan_token is not None:
        context.response_headers[plans.HEADER] = recording.plan_token
    return report.to_element()


def _extension_type(raw: str) -> ExtensionType:
    try:
        return ExtensionType(raw.strip().lower())
    except ValueError:
        raise ApiError(FAULTS.INVALID_EXTENSION_TYPE) from None


def _dupe_process(raw: str) -> DupeProcess:
    value = raw.strip()
    number = ascii_integer(value, 1)
    if number is not None and number in _DUPE_PROCESSES:
        return DupeProcess(number)
    raise ApiError(FAULTS.INVALID_DUPE_PROCESS, value)


def _report_only(raw: str | None) -> bool:
    value = (raw or "0").strip() or "0"
    number = ascii_integer(value, 1)
    if number not in (0, 1):
        raise ApiError(FAULTS.INVALID_PARAMETER_VALUE, "report_only", value)
    return number == 1


# The methods this module answers; methods/catalogue.py puts every module's into the registry.
METHODS = (Method(METHOD, Access.ADMIN_WRITE, bulk_upload_method),)
