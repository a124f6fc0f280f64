"""The `/xml` and `/json` endpoints: authenticate, take the body in, parse the envelope,
dispatch, and render the result or the faults. This is the one boundary where faults
become responses."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from switchvox_server.faults import FAULTS, ApiError, BodyTooLarge, ErrorEntry, IntakeError
from switchvox_server.http.auth import Authenticator, Verdict
from switchvox_server.http.intake import take_in
from switchvox_server.http.streaming import ClosingStreamingResponse
from switchvox_server.methods.registry import MethodContext, Principal, registry
from switchvox_server.protocol import json_envelope, xml_envelope
from switchvox_server.protocol.request import ApiRequest, ParameterValue
from switchvox_server.protocol.tree import Element

# One line per API request: path, method, caller, outcome, row counts, status, duration.
# Never a credential, a password or a cell of an uploaded file.
access_log = logging.getLogger("switchvox_server.access")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One wire format: how requests are parsed and responses rendered."""

    parse: Callable[[bytes], tuple[str, dict[str, ParameterValue]]]
    render: Callable[[str, Element | None, Sequence[ErrorEntry]], Iterator[bytes]]
    content_type: str


XML = Envelope(
    xml_envelope.parse_request, xml_envelope.render_response, xml_envelope.XML_CONTENT_TYPE
)
JSON = Envelope(
    json_envelope.parse_request, json_envelope.render_response, json_envelope.JSON_CONTENT_TYPE
)


def api_endpoint(envelope: Envelope) -> Callable[[Request], object]:
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        entry: dict[str, object] = {"path": request.url.path}
        response = await _serve(request, envelope, entry)
        entry["status"] = response.status_code
        entry["ms"] = round((time.perf_counter() - started) * 1000)
        access_log.info(_logfmt(entry))
        return response

    return endpoint


async def _serve(request: Request, envelope: Envelope, entry: dict[str, object]) -> Response:
    state = request.app.state
    authenticator: Authenticator = state.authenticator
    if request.method == "HEAD":
        entry["outcome"] = "challenge"
        return _unauthorized(authenticator, stale=False)
    client = request.client.host if request.client else "-"
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    verdict = await run_in_threadpool(
        authenticator.authenticate, request.method, target, request.headers.get("authorization")
    )
    if not isinstance(verdict, Principal):
        entry["outcome"] = f"unauthorized:{verdict.value}"
        if verdict is Verdict.REJECTED:
            await asyncio.sleep(state.throttle.failed(client))
        return _unauthorized(authenticator, stale=verdict is Verdict.STALE)
    state.throttle.succeeded(client)
    entry["caller"] = verdict.value
    return await _answer(request, envelope, verdict, entry)


async def _answer(
    request: Request, envelope: Envelope, principal: Principal, entry: dict[str, object]
) -> Response:
    state = request.app.state
    try:
        intake = await take_in(request, state.settings.max_upload_bytes)
    except BodyTooLarge:
        entry["outcome"] = "too-large"
        return Response(status_code=413)
    except IntakeError as error:
        return _faults(envelope, "", ApiError(FAULTS.UNPARSABLE_REQUEST, error), entry)
    except ClientDisconnect:
        entry["outcome"] = "disconnected"
        return Response(status_code=400)
    cleanup = ExitStack()
    cleanup.callback(intake.close)
    method = ""
    try:
        method, parameters = envelope.parse(intake.envelope)
        entry["method"] = method
        handler = registry.resolve(method, principal)
        context = MethodContext(
            state.database, state.settings, state.secret_key, cleanup, entry, state.writers
        )
        api_request = ApiRequest(method, parameters, intake.upload, intake.upload_problem)
        result = await run_in_threadpool(handler.handler, api_request, context)
    except ApiError as error:
        cleanup.close()
        return _faults(envelope, method, error, entry)
    except BaseException:
        cleanup.close()
        raise
    entry["outcome"] = "result"
    return ClosingStreamingResponse(
        envelope.render(method, result, ()),
        media_type=envelope.content_type,
        on_close=cleanup.close,
    )


def _faults(envelope: Envelope, method: str, error: ApiError, entry: dict[str, object]) -> Response:
    entry["outcome"] = "fault:" + ",".join(str(item.code) for item in error.errors)
    body = b"".join(envelope.render(method, None, error.errors))
    return Response(body, media_type=envelope.content_type)


def _unauthorized(authenticator: Authenticator, *, stale: bool) -> Response:
    response = Response(status_code=401)
    for name, value in authenticator.challenge(stale=stale):
        response.headers.append(name, value)
    return response


def _logfmt(entry: dict[str, object]) -> str:
    return " ".join(f"{key}={_logfmt_value(value)}" for key, value in entry.items())


def _logfmt_value(value: object) -> str:
    text = str(value)
    if text and text.isascii() and text.isprintable() and not any(c in text for c in ' "=\\'):
        return text
    return json.dumps(text)  # quoted, with anything unusual escaped
