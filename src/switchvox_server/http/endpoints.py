"""The `/xml` and `/json` endpoints: authenticate, take the body in, parse the envelope,
dispatch, and render the result or the faults. This is the one boundary where faults
become responses."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from switchvox_server import profiles
from switchvox_server.control import hooks as control_hooks
from switchvox_server.faults import FAULTS, ApiError, BodyTooLarge, ErrorEntry, IntakeError, echo
from switchvox_server.http import retries
from switchvox_server.http.auth import Authenticator, Verdict
from switchvox_server.http.failures import fault_for
from switchvox_server.http.intake import take_in
from switchvox_server.http.signin import Caller
from switchvox_server.http.streaming import ClosingStreamingResponse
from switchvox_server.methods.registry import Access, Method, MethodContext, MethodRegistry
from switchvox_server.profiles import Profile
from switchvox_server.protocol import json_envelope, xml_envelope
from switchvox_server.protocol.request import ApiRequest, ParameterValue
from switchvox_server.settings import Settings
from switchvox_server.tree import Element

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
JSON_AS_STRINGS = Envelope(
    json_envelope.parse_request,
    json_envelope.render_strings_response,
    json_envelope.JSON_CONTENT_TYPE,
)


def envelope_for(envelope: Envelope, profile: Profile) -> Envelope:
    """The envelope as the profile writes it: JSON scalar types differ (profiles.JSON_STRINGS).
    Chosen per request, so a profile changed at run time applies to the next answer."""
    if envelope is JSON or envelope is JSON_AS_STRINGS:
        return JSON_AS_STRINGS if profile.takes(profiles.JSON_STRINGS) else JSON
    return envelope


def api_endpoint(envelope: Envelope) -> Callable[[Request], object]:
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        entry: dict[str, object] = {"path": request.url.path}
        settings: Settings = request.app.state.settings
        envelope_now = envelope_for(envelope, settings.profile)
        try:
            response = await _serve(request, envelope_now, entry)
        except Exception as error:  # the boundary: no request ever gets a plain 500
            failure = fault_for(error, getattr(request.app.state, "database", None))
            response = _faults(envelope_now, str(entry.get("method", "")), failure, entry)
        control_hooks.after_answer(request, response, entry, started)
        entry["status"] = response.status_code
        entry["ms"] = round((time.perf_counter() - started) * 1000)
        access_log.info(_logfmt(entry))
        return response

    return endpoint


async def _serve(request: Request, envelope: Envelope, entry: dict[str, object]) -> Response:
    state = request.app.state
    authenticator: Authenticator = state.authenticator
    caller = await state.sign_in.admit(request)
    if not isinstance(caller, Caller):
        entry["outcome"] = f"unauthorized:{caller.value}"
        return _unauthorized(authenticator, stale=caller is Verdict.STALE)
    entry["caller"] = caller.principal.value
    if request.method == "HEAD":
        entry["outcome"] = "head"
        return Response(status_code=200, media_type=envelope.content_type)
    if request.method == "GET":
        # A person who types the URL into a browser: a GET carries no envelope.
        return _faults(envelope, "", ApiError(FAULTS.EMPTY_REQUEST), entry)
    return await _answer(request, envelope, caller, entry)


async def _answer(
    request: Request,
    envelope: Envelope,
    caller: Caller,
    entry: dict[str, object],
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
        # Parsing is CPU work on up to 1 MiB: off the event loop, so /healthz and other
        # requests are served meanwhile.
        method, parameters = await run_in_threadpool(envelope.parse, intake.envelope)
        entry["method"] = echo(method)  # an unknown name can be 1 MiB long
        methods: MethodRegistry = state.methods
        handler = methods.resolve(method, caller.principal)
        api_request = ApiRequest(
            method, parameters, intake.upload, intake.upload_problem, intake.upload_name
        )
        control = await control_hooks.before_dispatch(request, api_request)
        if control.answer is not None:
            cleanup.close()
            return control.answer
        # The profile may have been changed at run time (control API).
        envelope = envelope_for(envelope, control.settings.profile)
        context = MethodContext(
            state.database,
            control.settings,
            state.secret_key,
            cleanup,
            entry,
            state.writers,
            caller=caller.account,
            address=caller.address,
        )
        key = request.headers.get(retries.HEADER)
        if key is not None and handler.access is Access.ADMIN_WRITE:
            rendered = await run_in_threadpool(
                _answer_once, key, request.url.path, envelope, handler, api_request, context
            )
            cleanup.close()
            entry["outcome"] = "result"
            return Response(
                rendered.body, media_type=rendered.content_type, headers=dict(rendered.headers)
            )
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
        headers=context.response_headers,
        on_close=cleanup.close,
    )


def _answer_once(
    key: str,
    path: str,
    envelope: Envelope,
    handler: Method,
    request: ApiRequest,
    context: MethodContext,
) -> retries.Rendered:
    """A request with an Idempotency-Key, rendered whole so that a retry gets its bytes."""

    def run() -> retries.Rendered:
        result = handler.handler(request, context)
        body = b"".join(envelope.render(request.method, result, ()))
        return retries.Rendered(body, envelope.content_type, context.response_headers)

    digest = retries.request_digest(
        context.caller, path, request.method, request.parameters, request.upload
    )
    return retries.answer_once(context.database, key, digest, run)


def _faults(envelope: Envelope, method: str, error: ApiError, entry: dict[str, object]) -> Response:
    entry["outcome"] = "fault:" + ",".join(str(item.code) for item in error.errors)
    # The method attribute echoes the request's, held to the echo rule like any fault value.
    body = b"".join(envelope.render(echo(method), None, error.errors))
    return Response(body, media_type=envelope.content_type)


async def server_error(request: Request, error: Exception) -> Response:
    """Starlette's handler for an exception that escaped everything else: the fault envelope
    10008 on `/xml` and `/json`, and an access-log line. Starlette raises the exception again
    after this answer, so that the ASGI server logs its traceback (once)."""
    entry: dict[str, object] = {"path": request.url.path}
    envelope = {"/xml": XML, "/json": JSON}.get(request.url.path)
    if envelope is None:
        entry["outcome"] = "error"
        response: Response = JSONResponse({"status": "error"}, status_code=500)
    else:
        response = _faults(envelope, "", ApiError(FAULTS.INTERNAL_ERROR), entry)
    entry["status"] = response.status_code
    access_log.info(_logfmt(entry))
    return response


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
