"""The method registry: names to handlers, with the access each one needs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import Enum

from switchvox_server.faults import FAULTS, ApiError
from switchvox_server.principals import Principal
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.settings import Settings
from switchvox_server.store.database import Database
from switchvox_server.store.writer import WriterPool
from switchvox_server.tree import Element


class Access(Enum):
    """Who may call a method."""

    ADMIN_WRITE = "admin_write"  # full admin accounts only
    ADMIN_READ = "admin_read"  # full and read-only admin accounts
    USER = "user"  # an extension's own credentials (switchvox.users.*), and admins
    OWN_EXTENSION = "own_extension"  # an extension's own credentials only; admins get 27168

    def admits(self, principal: Principal) -> bool:
        if self is Access.OWN_EXTENSION:
            return principal is Principal.EXTENSION
        if principal is Principal.FULL_ADMIN:
            return True
        if principal is Principal.READ_ONLY_ADMIN:
            return self is not Access.ADMIN_WRITE
        return self is Access.USER


@dataclass(frozen=True, slots=True)
class MethodContext:
    """What a handler may use: the store, the settings, the server secret, a place to
    register clean-ups that must run once the response has been sent, fields to add to the
    request's log line (counts, never secrets), the helper processes for large uploads, and
    the account name the caller signed in with (an extension's number for an extension) and
    the address it calls from (for the import history)."""

    database: Database
    settings: Settings
    secret_key: bytes
    cleanup: ExitStack
    log_fields: dict[str, object] = field(default_factory=dict)
    writers: WriterPool | None = None
    caller: str = ""
    """The account name the caller authenticated as."""
    address: str = ""
    """The client's address."""
    response_headers: dict[str, str] = field(default_factory=dict)
    """Headers of a successful answer (the Switchvox-Plan of a report_only upload)."""


Handler = Callable[[ApiRequest, MethodContext], Element]


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    access: Access
    handler: Handler


class MethodRegistry:
    """Maps method names to handlers; lookups check the caller's access."""

    def __init__(self, methods: Iterable[Method]) -> None:
        self._methods: dict[str, Method] = {}
        for method in methods:
            if method.name in self._methods:
                raise ValueError(f"method {method.name} is registered twice")
            self._methods[method.name] = method

    def __contains__(self, name: object) -> bool:
        return name in self._methods

    def resolve(self, name: str, principal: Principal) -> Method:
        """The method called `name`, or the fault for an unknown or forbidden one."""
        method = self._methods.get(name)
        if method is None:
            raise ApiError(FAULTS.INVALID_METHOD, name)
        if not method.access.admits(principal):
            raise ApiError(FAULTS.PERMISSION_DENIED)
        return method
