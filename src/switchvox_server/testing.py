"""A real server for other projects' tests: uvicorn in a background thread on a free loopback
port, a throwaway database, a generated admin password, and a seed.

```python
from switchvox_server.testing import run_server

with run_server(seed="tests/seed.toml") as server:
    httpx.post(server.xml_url, auth=server.auth, ...)
    server.inject_fault("switchvox.extensions.phones.bulk.upload", 86162, times=1)
    server.journal()  # what the client sent
    server.reset()  # back to the seeded state, without restarting
```

The control API (`/_switchvox/`) is on, with a random token; the helpers of the running
server are thin HTTP calls to it. Nothing here is global: any number of servers may run at
once in one process.
"""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette

from switchvox_server.app import create_app, prepare_database
from switchvox_server.control.service import save_reset_point
from switchvox_server.http.connections import server_options
from switchvox_server.seed.apply import reset_to_seed
from switchvox_server.seed.declaration import Seed, load_seed, parse_seed
from switchvox_server.settings import Settings
from switchvox_server.store.accounts import DEFAULT_ADMIN
from switchvox_server.store.database import Database
from switchvox_server.store.driver import require_driver
from switchvox_server.store.models import Template
from switchvox_server.tls import write_self_signed

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 30.0
CONTROL_TIMEOUT_SECONDS = 60.0


class ControlRequestError(Exception):
    """The control API refused a helper's request; the message is its error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


@dataclass(frozen=True, slots=True)
class _Store:
    database: Database
    ssl_context: ssl.SSLContext | None


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A server started by `run_server`, usable until its `with` block ends."""

    url: str
    """The base URL, e.g. `http://127.0.0.1:54321`."""
    admin_password: str = field(repr=False)
    database_url: str
    control_token: str = field(repr=False)
    """The bearer token of the control API (`Authorization: Bearer <token>`)."""
    certificate: Path | None
    """With `tls=True`: the self-signed certificate (PEM) a client must trust."""
    _store: _Store = field(repr=False)
    admin_user: str = DEFAULT_ADMIN

    @property
    def xml_url(self) -> str:
        return f"{self.url}/xml"

    @property
    def json_url(self) -> str:
        return f"{self.url}/json"

    @property
    def auth(self) -> tuple[str, str]:
        """The admin's (user, password), as HTTP clients take Basic credentials."""
        return (self.admin_user, self.admin_password)

    @property
    def control_url(self) -> str:
        return f"{self.url}/_switchvox"

    def reset(self) -> None:
        """The store back to the seeded state; journal, faults and run-time settings cleared."""
        self._control("POST", "/reset")

    def journal(
        self, method: str | None = None, *, since: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The API calls received, oldest first (see docs/testing.md for the fields)."""
        query = {"method": method, "since": since, "limit": limit}
        entries: list[dict[str, Any]] = self._control("GET", "/journal", query=query)["entries"]
        return entries

    def clear_journal(self) -> None:
        self._control("DELETE", "/journal")

    def inject_fault(
        self,
        method: str,
        code: int | None = None,
        *,
        times: int | None = None,
        http_status: int | None = None,
        delay_ms: int | None = None,
        drop: bool | None = None,
        values: list[str] | None = None,
    ) -> int:
        """Make the next `times` calls of `method` (all, without `times`) answer the fault
        `code`, an HTTP status, a delay or a dropped connection; returns the fault's id."""
        given = {
            "method": method,
            "code": code,
            "times": times,
            "http_status": http_status,
            "delay_ms": delay_ms,
            "drop": drop,
            "values": values,
        }
        body = {key: value for key, value in given.items() if value is not None}
        fault_id: int = self._control("POST", "/faults", body=body)["id"]
        return fault_id

    def faults(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self._control("GET", "/faults")["faults"]
        return listed

    def remove_fault(self, fault_id: int) -> None:
        self._control("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def state(self) -> dict[str, Any]:
        """The whole store as one JSON document (secrets in their stored forms)."""
        document: dict[str, Any] = self._control("GET", "/state")
        return document

    def restore_state(self, document: Mapping[str, Any]) -> None:
        self._control("PUT", "/state", body=document)

    def apply_seed(self, seed: Mapping[str, Any]) -> None:
        """Apply a seed document (the shape of a JSON seed file) on top of the store."""
        self._control("POST", "/seed", body=seed)

    def settings(self) -> dict[str, Any]:
        """The run-time settings in force."""
        current: dict[str, Any] = self._control("GET", "/settings")
        return current

    def change_settings(self, **changes: Any) -> dict[str, Any]:
        """Change run-time settings (max_extensions, registered, …) until the next reset."""
        current: dict[str, Any] = self._control("PATCH", "/settings", body=changes)
        return current

    def _control(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        query: Mapping[str, object] | None = None,
    ) -> Any:
        wanted = {key: str(value) for key, value in (query or {}).items() if value is not None}
        url = self.control_url + path + (f"?{urllib.parse.urlencode(wanted)}" if wanted else "")
        request = urllib.request.Request(
            url,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.control_token}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(
                request, timeout=CONTROL_TIMEOUT_SECONDS, context=self._store.ssl_context
            ) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                message = json.loads(error.read() or b"{}").get("error", error.reason)
            raise ControlRequestError(error.code, message) from None

    def template_id(self, name: str) -> int:
        """The id of the template named `name`, for `template_account_id`."""
        with self._store.database.sessions() as session:
            template_id = session.scalars(select(Template.id).where(Template.name == name)).first()
        if template_id is None:
            raise LookupError(f"no template named {name!r}")
        return template_id


@contextmanager
def run_server(
    database_url: str | None = None,
    seed: Path | str | Mapping[str, object] | None = None,
    *,
    settings: Settings | None = None,
    tls: bool = False,
) -> Iterator[RunningServer]:
    """Serve the API on 127.0.0.1 until the block ends, then remove what was made for it.

    Without `database_url` the store is a SQLite file in a temporary directory. A database
    given by URL is emptied down to the seed (as `reset()` does), so it must be one kept for
    tests. `seed` is a TOML or JSON file, or a mapping shaped like one; a bad seed raises
    SeedError before the server starts. `settings` sets everything else (licence limits,
    extension lengths, Digest…); its database URL, admin password and control token are
    replaced. With `tls` the server speaks HTTPS with a throwaway self-signed certificate,
    whose path is the server's `certificate`.
    """
    loaded = _load(seed)
    with ExitStack() as stack:
        directory = Path(
            stack.enter_context(
                tempfile.TemporaryDirectory(prefix="switchvox-server-", ignore_cleanup_errors=True)
            )
        )
        if database_url is None:
            database_url = f"sqlite:///{directory / 'switchvox.db'}"
        require_driver(database_url)
        admin_password = secrets.token_urlsafe(16)
        settings = replace(
            settings or Settings(),
            database_url=database_url,
            admin_password=admin_password,
            control_token=secrets.token_urlsafe(24),
        )
        database, secret_key = prepare_database(settings)
        stack.callback(database.dispose)
        reset_to_seed(database, loaded, secret_key, settings)
        save_reset_point(database)
        certificate, key = write_self_signed(directory / "tls") if tls else (None, None)
        ssl_context = (
            None if certificate is None else ssl.create_default_context(cafile=certificate)
        )
        url = stack.enter_context(serve_app(settings, certificate=certificate, key=key))
        assert settings.control_token is not None
        yield RunningServer(
            url=url,
            admin_password=admin_password,
            database_url=database_url,
            control_token=settings.control_token,
            certificate=certificate,
            _store=_Store(database, ssl_context),
        )


def _load(seed: Path | str | Mapping[str, object] | None) -> Seed:
    if seed is None:
        return Seed()
    if isinstance(seed, Mapping):
        return parse_seed(seed)
    return load_seed(Path(seed))


class ServerThread:
    """uvicorn serving one app on a loopback socket of its own, in a background thread,
    with the connection limits `switchvox-server serve` applies for `settings`."""

    def __init__(
        self,
        settings: Settings,
        *,
        app: Starlette | None = None,
        certificate: Path | None = None,
        key: Path | None = None,
    ) -> None:
        # The socket is bound here and handed to uvicorn, so no other server (or test run)
        # can take the port between choosing it and listening on it. It names TCP: asyncio
        # turns Nagle's algorithm off only on connections whose protocol says TCP, and with
        # it on, each answer on a kept-alive connection waits 40 ms for the client's ACK.
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self._listener.bind(("127.0.0.1", 0))
            port: int = self._listener.getsockname()[1]
            # No log_config (nor log_level, nor access_log=False): each would make uvicorn
            # change the test process's logging; its records propagate to whatever is set up.
            config = uvicorn.Config(
                create_app(settings) if app is None else app,
                lifespan="on",
                log_config=None,
                ssl_certfile=None if certificate is None else str(certificate),
                ssl_keyfile=None if key is None else str(key),
                **server_options(settings),
            )
        except BaseException:
            self._listener.close()
            raise
        self.url = f"{'http' if certificate is None else 'https'}://127.0.0.1:{port}"
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._listener]},
            name=f"switchvox-server-{port}",
            daemon=True,
        )

    def start(self) -> str:
        """Start serving; returns the base URL once the app's lifespan has started."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                self.join()
                raise RuntimeError("the Switchvox test server did not start (see its log)")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        """Ask the server to stop; it finishes its requests and its lifespan in its thread."""
        self._server.should_exit = True

    def join(self) -> None:
        """Wait until the server has stopped (uvicorn takes 0.1 to 0.2 s)."""
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_SECONDS)
        self._listener.close()


@contextmanager
def serve_app(
    settings: Settings,
    *,
    app: Starlette | None = None,
    certificate: Path | None = None,
    key: Path | None = None,
) -> Iterator[str]:
    """Serve `app` (by default `create_app(settings)`) on a free 127.0.0.1 port until the
    block ends (a `ServerThread`); yields the base URL. `run_server` is built on it; it
    makes no database, seed or token of its own."""
    server = ServerThread(settings, app=app, certificate=certificate, key=key)
    try:
        yield server.start()
    finally:
        server.stop()
        server.join()
