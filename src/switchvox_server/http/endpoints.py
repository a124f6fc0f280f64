"""The `/xml` and `/json` endpoints: authenticate, take the body in, parse the envelope,
dispatch, and render the result or the faults. This is the one boundary where faults
become responses."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from switchvox_server.faults import FAULTS, ApiError, BodyTooLarge, ErrorEntry, IntakeError
from switchvox_server.http.auth import Authenticator, Verdict
from switchvox_server.http.intake import take_in
from switchvox_server.methods.registry import MethodContext, Principal, registry
from switchvox_server.protocol import json_envelope, xml_envelope
from switchvox_server.protocol.request import ApiRequest, ParameterValue
from switchvox_server.protocol.tree import Element

logger = logging.getLogger(__name__)


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
        authenticator: Authenticator = request.app.state.authenticator
        if request.method == "HEAD":
            return _unauthorized(authenticator, stale=False)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        verdict = await run_in_threadpool(
            authenticator.authenticate, request.method, target, request.headers.get("authorization")
        )
        if not isinstance(verdict, Principal):
            return _unauthorized(authenticator, stale=verdict is Verdict.STALE)
        return await _answer(request, envelope, verdict)

    return endpoint


async def _answer(request: Request, envelope: Envelope, principal: Principal) -> Response:
    state = request.app.state
    try:
        intake = await take_in(request, state.settings.max_upload_bytes)
    except BodyTooLarge:
        return Response(status_code=413)
    except IntakeError as error:
        return _faults(envelope, "", ApiError(FAULTS.UNPARSABLE_REQUEST, error))
    except ClientDisconnect:
        logger.info("the client went away during the upload; nothing was kept")
        return Response(status_code=400)
    cleanup = ExitStack()
    cleanup.callback(intake.close)
    method = ""
    try:
        method, parameters = envelope.parse(intake.envelope)
        handler = registry.resolve(method, principal)
        context = MethodContext(state.database, state.settings, state.secret_key, cleanup)
        api_request = ApiRequest(method, parameters, intake.upload, intake.upload_problem)
        result = await run_in_threadpool(handler.handler, api_request, context)
    except ApiError as error:
        cleanup.close()
        return _faults(envelope, method, error)
    except BaseException:
        cleanup.close()
        raise
    return StreamingResponse(
        envelope.render(method, result, ()),
        media_type=envelope.content_type,
        background=BackgroundTask(cleanup.close),
    )


def _faults(envelope: Envelope, method: str, error: ApiError) -> Response:
    body = b"".join(envelope.render(method, None, error.errors))
    return Response(body, media_type=envelope.content_type)


def _unauthorized(authenticator: Authenticator, *, stale: bool) -> Response:
    response = Response(status_code=401)
    for name, value in authenticator.challenge(stale=stale):
        response.headers.append(name, value)
    return response
