"""The HTTP side of the control API: routes under `/_switchvox/`, the bearer token, bounded
JSON bodies and one-line JSON errors."""

from __future__ import annotations

import hmac
import json
import logging
import tomllib
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from switchvox_server.control import runtime
from switchvox_server.control.errors import ControlError
from switchvox_server.control.injection import Injection, checked
from switchvox_server.control.journal import as_document
from switchvox_server.control.service import Control, dump_store, restore_store
from switchvox_server.seed.apply import apply_seed
from switchvox_server.seed.declaration import SeedError, parse_seed
from switchvox_server.settings import Settings
from switchvox_server.store import control_tables
from switchvox_server.store.database import failure_of
from switchvox_server.values import ascii_integer

PREFIX = "/_switchvox"
# Small documents (faults, settings) are capped tightly; a state or seed document may hold
# a whole store, so it may be as large as an upload.
SMALL_BODY_BYTES = 64 * 1024
JOURNAL_LIMIT = 10_000
# Ids are 32-bit integer columns on PostgreSQL; a method name is short.
MAX_ROW_ID = 2**31 - 1
MAX_METHOD_CHARS = 255
logger = logging.getLogger(__name__)
_TOML_TYPES = ("application/toml", "text/toml", "application/x-toml")

Handler = Callable[[Request, Control], Awaitable[Response]]


def control_routes(settings: Settings) -> list[BaseRoute]:
    """The control API's routes: none at all unless SWITCHVOX_CONTROL_TOKEN is set."""
    if not settings.control_token:
        return []
    return [
        Mount(
            PREFIX,
            routes=[
                Route("/reset", _guarded(_reset), methods=["POST"]),
                Route("/state", _guarded(_get_state), methods=["GET"]),
                Route("/state", _guarded(_put_state), methods=["PUT"]),
                Route("/seed", _guarded(_seed), methods=["POST"]),
                Route("/journal", _guarded(_get_journal), methods=["GET"]),
                Route("/journal", _guarded(_clear_journal), methods=["DELETE"]),
                Route("/faults", _guarded(_list_faults), methods=["GET"]),
                Route("/faults", _guarded(_add_fault), methods=["POST"]),
                Route("/faults", _guarded(_clear_faults), methods=["DELETE"]),
                Route("/faults/{id:int}", _guarded(_remove_fault), methods=["DELETE"]),
                Route("/settings", _guarded(_get_settings), methods=["GET"]),
                Route("/settings", _guarded(_patch_settings), methods=["PATCH"]),
            ],
        )
    ]


def _guarded(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        control: Control = request.app.state.control
        if not _bearer_matches(request.headers.get("authorization"), control.token):
            return _error("a valid 'Authorization: Bearer <token>' header is required", 401)
        try:
            return await handler(request, control)
        except ControlError as error:
            return _error(str(error), error.status)
        except Exception as error:
            failure = failure_of(control.database, error)
            if failure is None:
                raise  # a defect: Starlette's handler logs it and answers a JSON 500
            logger.warning("control API: database unavailable: %s", failure)
            return _error(f"the database is unavailable ({failure}); try it again later", 503)

    return endpoint


def _bearer_matches(authorization: str | None, token: str) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    # Compared as bytes in constant time, whatever the header holds.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token.encode()
    )


def _error(message: str, status: int) -> Response:
    response = JSONResponse({"error": message}, status_code=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="switchvox_control"'
    return response


async def _body(request: Request, limit: int) -> bytes:
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise ControlError(f"the body is larger than {limit} bytes", 413)
    except ClientDisconnect:
        raise ControlError("the client went away") from None
    return bytes(body)


async def _json(request: Request, limit: int = SMALL_BODY_BYTES) -> object:
    raw = await _body(request, limit)
    return await run_in_threadpool(_parse_json, raw)


def _parse_json(raw: bytes) -> object:
    try:
        return json.loads(raw, object_pairs_hook=_no_repeats)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ControlError(f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise ControlError("the body nests too deeply") from None


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ControlError("the body gives a key twice")
    return document


def _optional_int(request: Request, name: str, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    value = ascii_integer(raw, len(str(high)))
    if value is None or value > high:
        raise ControlError(f"journal: '{name}' must be a whole number from 0 to {high}")
    return value


# --- handlers ----------------------------------------------------------------------------


async def _reset(request: Request, control: Control) -> Response:
    await run_in_threadpool(control.reset)
    return JSONResponse({"reset": True})


async def _get_state(request: Request, control: Control) -> Response:
    return JSONResponse(await run_in_threadpool(dump_store, control.database))


async def _put_state(request: Request, control: Control) -> Response:
    document = await _json(request, control.settings.max_upload_bytes)
    await run_in_threadpool(restore_store, control.database, document)
    return JSONResponse({"restored": True})


async def _seed(request: Request, control: Control) -> Response:
    raw = await _body(request, control.settings.max_upload_bytes)
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()

    def apply() -> dict[str, str]:
        try:
            data = tomllib.loads(raw.decode("utf-8")) if kind in _TOML_TYPES else _parse_json(raw)
            seed = parse_seed(data, source="seed")
            summary = apply_seed(
                control.database, seed, control.secret_key, control.effective_settings()
            )
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ControlError(f"seed: not valid TOML: {error}") from None
        except SeedError as error:
            raise ControlError(str(error)) from None
        return {"applied": str(summary)}

    return JSONResponse(await run_in_threadpool(apply))


async def _get_journal(request: Request, control: Control) -> Response:
    method = request.query_params.get("method") or None
    if method is not None and (len(method) > MAX_METHOD_CHARS or not method.isprintable()):
        raise ControlError(
            f"journal: 'method' must be a method name of at most {MAX_METHOD_CHARS} characters"
        )
    since = _optional_int(request, "since", MAX_ROW_ID)
    limit = _optional_int(request, "limit", JOURNAL_LIMIT)
    entries = await run_in_threadpool(
        control.journal, method, since, JOURNAL_LIMIT if limit is None else limit
    )
    return JSONResponse({"entries": [as_document(entry) for entry in entries]})


async def _clear_journal(request: Request, control: Control) -> Response:
    await run_in_threadpool(control.clear_journal)
    return JSONResponse({"cleared": True})


async def _list_faults(request: Request, control: Control) -> Response:
    def listed() -> list[dict[str, object]]:
        with control.database.sessions() as session:
            rows = control_tables.list_faults(session)
        return [Injection.from_row(row).as_document() for row in rows]

    return JSONResponse({"faults": await run_in_threadpool(listed)})


async def _add_fault(request: Request, control: Control) -> Response:
    values = checked(await _json(request), control.methods)

    def add() -> int:
        with control.database.sessions.begin() as session:
            return control_tables.add_fault(session, values)

    return JSONResponse({"id": await run_in_threadpool(add)}, status_code=201)


async def _clear_faults(request: Request, control: Control) -> Response:
    return JSONResponse({"removed": await run_in_threadpool(_remove, control, None)})


async def _remove_fault(request: Request, control: Control) -> Response:
    fault_id: int = request.path_params["id"]
    # An id past the column's range names no fault (and must not reach the database).
    removed = 0 if fault_id > MAX_ROW_ID else await run_in_threadpool(_remove, control, fault_id)
    if not removed:
        raise ControlError(f"faults: there is no injected fault {fault_id}", 404)
    return JSONResponse({"removed": removed})


def _remove(control: Control, fault_id: int | None) -> int:
    with control.database.sessions.begin() as session:
        return control_tables.remove_faults(session, fault_id)


async def _get_settings(request: Request, control: Control) -> Response:
    def read() -> dict[str, Any]:
        with control.database.sessions() as session:
            return runtime.current(session, control.settings)

    return JSONResponse(await run_in_threadpool(read))


async def _patch_settings(request: Request, control: Control) -> Response:
    patch = await _json(request)

    def change() -> dict[str, Any]:
        with control.database.sessions.begin() as session:
            return runtime.change(session, control.settings, patch)

    return JSONResponse(await run_in_threadpool(change))
