"""Fault injection: a documented fault (with its documented message), an HTTP status, a
delay or a dropped connection for the next calls of a method, or until removed."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from switchvox_server.control.errors import ControlError
from switchvox_server.faults import FAULTS, ApiError, Fault
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.settings import Settings

MAX_DELAY_MS = 600_000
MAX_TIMES = 1_000_000
_KEYS = ("method", "code", "times", "http_status", "delay_ms", "drop", "values")
_PLACEHOLDER = re.compile(r"%(\d+)")
_BY_CODE: Mapping[int, Fault] = {fault.code: fault for fault in FAULTS.all()}

# How the server itself fills a fault's %1, %2…: from the call's parameters or the settings.
# Faults with placeholders that are not listed here take them from the injection's "values".
_Filler = Callable[[ApiRequest, Settings], tuple[object, ...]]
_FILLERS: Mapping[int, _Filler] = {
    FAULTS.UNREGISTERED_LIMIT.code: lambda call, settings: (settings.unregistered_limit,),
    FAULTS.INVALID_TEMPLATE.code: lambda call, _: (call.scalar("template_account_id") or "",),
    FAULTS.UNUSABLE_TEMPLATE.code: lambda call, _: (call.scalar("template_account_id") or "",),
    FAULTS.INVALID_DUPE_PROCESS.code: lambda call, _: (call.scalar("dupe_process") or "",),
    FAULTS.INVALID_METHOD.code: lambda call, _: (call.method,),
}


@dataclass(frozen=True, slots=True)
class Injection:
    """One injected fault as stored; `remaining` None means until removed."""

    id: int
    method: str
    code: int | None
    values: tuple[str, ...] | None
    remaining: int | None
    http_status: int | None
    delay_ms: int
    drop: bool

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Injection:
        values = None if row["values"] is None else tuple(json.loads(row["values"]))
        return cls(**(dict(row) | {"values": values}))

    def as_document(self) -> dict[str, object]:
        return {
            "id": self.id,
            "method": self.method,
            "code": self.code,
            "times": self.remaining,
            "http_status": self.http_status,
            "delay_ms": self.delay_ms,
            "drop": self.drop,
            "values": None if self.values is None else list(self.values),
        }

    def error(self, call: ApiRequest, settings: Settings) -> ApiError | None:
        """The fault this injection answers for `call`, if it names one."""
        if self.code is None:
            return None
        fault = _BY_CODE[self.code]
        filler = _FILLERS.get(self.code)
        values = (
            self.values if self.values is not None or filler is None else filler(call, settings)
        )
        return ApiError(fault, *(values or ()))


def checked(document: object, methods: Container[str]) -> dict[str, Any]:
    """The columns of a new injected fault from a POST body, for one of `methods`;
    ControlError when it is wrong."""
    if not isinstance(document, dict):
        raise ControlError("faults: the body must be a JSON object")
    unknown = sorted(set(document) - set(_KEYS))
    if unknown:
        raise ControlError(f"faults: unknown key {unknown[0]!r} (known: {', '.join(_KEYS)})")
    method = document.get("method")
    if not isinstance(method, str) or method not in methods:
        raise ControlError("faults: 'method' must name an API method of this server")
    code = _whole(document, "code", 1, 10**9)
    fault = None if code is None else _BY_CODE.get(code)
    if code is not None and fault is None:
        raise ControlError(f"faults: {code} is not a fault code of this server (docs/faults.md)")
    values = _values(document.get("values"), fault)
    http_status = _whole(document, "http_status", 200, 599)
    delay_ms = _whole(document, "delay_ms", 0, MAX_DELAY_MS) or 0
    drop = document.get("drop", False)
    if not isinstance(drop, bool):
        raise ControlError("faults: 'drop' must be true or false")
    if code is None and http_status is None and not delay_ms and not drop:
        raise ControlError("faults: give at least one of code, http_status, delay_ms or drop")
    return {
        "method": method,
        "code": code,
        "values": None if values is None else json.dumps(values),
        "remaining": _whole(document, "times", 1, MAX_TIMES),
        "http_status": http_status,
        "delay_ms": delay_ms,
        "drop": drop,
    }


def _whole(document: Mapping[str, object], key: str, low: int, high: int) -> int | None:
    value = document.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    raise ControlError(f"faults: {key!r} must be a whole number from {low} to {high}")


def _values(given: object, fault: Fault | None) -> list[str] | None:
    wanted = 0 if fault is None else max(map(int, _PLACEHOLDER.findall(fault.template)), default=0)
    if given is None:
        if wanted and fault is not None and fault.code not in _FILLERS:
            raise ControlError(
                f"faults: the message of {fault.code} has {wanted} placeholder(s):"
                f" give them as 'values'"
            )
        return None
    if not isinstance(given, list) or not all(isinstance(item, str) for item in given):
        raise ControlError("faults: 'values' must be an array of strings")
    if len(given) != wanted:
        raise ControlError(f"faults: 'values' must hold {wanted} string(s) for this code")
    return given


async def drop_connection(request: Request) -> None:
    """Close the client's connection without an answer.

    ASGI has no message for this. Under uvicorn the `receive` callable belongs to the
    request's cycle, which holds the connection's transport: aborting it makes uvicorn mark
    the cycle disconnected and ignore whatever the application sends afterwards. Elsewhere
    the connection cannot be reached, and the error surfaces instead.
    """
    transport = getattr(getattr(request.receive, "__self__", None), "transport", None)
    if not isinstance(transport, asyncio.Transport):
        raise RuntimeError("this ASGI server offers no way to drop a connection")
    transport.abort()
    # Wait (briefly) until the server has seen the connection go.
    async with asyncio.timeout(5):
        while (await request.receive())["type"] != "http.disconnect":
            pass
