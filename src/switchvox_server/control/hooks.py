"""The two places where the `/xml` and `/json` endpoints meet the control API: before a
call is dispatched (the settings in force, an injected fault, delay or drop) and once it
has been answered (an injected HTTP status, the journal entry). Both cost nothing when the
control API is off."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from switchvox_server.bulk.report import Section
from switchvox_server.control.injection import Injection, drop_connection
from switchvox_server.control.journal import CallRecord, caller_of, file_summary, redacted
from switchvox_server.control.service import Control
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.settings import Settings


@dataclass(frozen=True, slots=True)
class Interception:
    """The settings a call runs with, and the answer that replaces it when its connection
    was dropped on purpose."""

    settings: Settings
    answer: Response | None = None


@dataclass(slots=True)
class _CallState:
    record: CallRecord
    injection: Injection | None = None


async def before_dispatch(request: Request, call: ApiRequest) -> Interception:
    """Raises the ApiError of an injected fault; sleeps an injected delay first."""
    control: Control | None = request.app.state.control
    if control is None:
        return Interception(request.app.state.settings)
    record = CallRecord(call.method, redacted(call.parameters))
    if call.upload is not None:
        record.file = await run_in_threadpool(file_summary, call.upload, call.upload_name)
    settings, injection = await run_in_threadpool(control.prepare_call, call.method)
    request.state.control_call = _CallState(record, injection)
    if injection is None:
        return Interception(settings)
    if injection.delay_ms:
        await asyncio.sleep(injection.delay_ms / 1000)
    if injection.drop:
        await drop_connection(request)
        return Interception(settings, Response())  # never sent: the connection is gone
    error = injection.error(call, settings)
    if error is not None:
        raise error
    return Interception(settings)


def after_answer(
    request: Request, response: Response, log_entry: dict[str, object], started: float
) -> None:
    """Apply an injected HTTP status and record the call in the journal."""
    control: Control | None = request.app.state.control
    if control is None:
        return
    duration_ms = round((time.perf_counter() - started) * 1000)
    arrived = datetime.now(UTC) - timedelta(milliseconds=duration_ms)
    call: _CallState | None = getattr(request.state, "control_call", None)
    if call is None:  # refused before its envelope was read
        call = _CallState(CallRecord())
    injection = call.injection
    if injection is not None and injection.http_status is not None:
        response.status_code = injection.http_status
    outcome, _, codes = str(log_entry.get("outcome", "")).partition(":")
    fault_code = int(codes.split(",")[0]) if outcome == "fault" else None
    http_status: int | None = response.status_code
    if injection is not None and injection.drop:
        outcome, http_status = "dropped", None
    if call.record.file is not None:
        # The upload method puts its count per report section into the log fields.
        counts = [log_entry.get(section.value) for section in Section]
        if all(isinstance(count, int) for count in counts):
            call.record.file["rows"] = sum(count for count in counts if isinstance(count, int))
    caller = caller_of(request.headers.get("authorization")) if "caller" in log_entry else None
    control.recorder.record(
        call.record.row(arrived, caller, outcome or "unknown", fault_code, http_status, duration_ms)
    )
