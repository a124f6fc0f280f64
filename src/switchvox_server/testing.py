"""A real server for other projects' tests: uvicorn in a background thread on a free loopback
port, a throwaway database, a generated admin password, and a seed.

```python
from switchvox_server.testing import run_server

with run_server(seed="tests/seed.toml") as server:
    httpx.post(server.xml_url, auth=server.auth, ...)
    server.reset()  # back to the seeded state, without restarting
```

Nothing here is global: any number of servers may run at once in one process.
"""

from __future__ import annotations

import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import uvicorn
from sqlalchemy import select

from switchvox_server.app import create_app, prepare_database
from switchvox_server.http.connections import server_options
from switchvox_server.seed import Seed, load_seed, parse_seed, reset_to_seed
from switchvox_server.settings import Settings
from switchvox_server.store.accounts import DEFAULT_ADMIN
from switchvox_server.store.database import Database
from switchvox_server.store.models import Template

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class _Store:
    database: Database
    seed: Seed
    secret_key: bytes
    settings: Settings


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A server started by `run_server`, usable until its `with` block ends."""

    url: str
    """The base URL, e.g. `http://127.0.0.1:54321`."""
    admin_password: str = field(repr=False)
    database_url: str
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

    def reset(self) -> None:
        """Empty the store back to the seeded state (see `seed.reset_to_seed`)."""
        store = self._store
        reset_to_seed(store.database, store.seed, store.secret_key, store.settings)

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
) -> Iterator[RunningServer]:
    """Serve the API on 127.0.0.1 until the block ends, then remove what was made for it.

    Without `database_url` the store is a SQLite file in a temporary directory. A database
    given by URL is emptied down to the seed (as `reset()` does), so it must be one kept for
    tests. `seed` is a TOML or JSON file, or a mapping shaped like one; a bad seed raises
    SeedError before the server starts. `settings` sets everything else (licence limits,
    extension lengths, Digest…); its database URL and admin password are replaced.
    """
    loaded = _load(seed)
    with ExitStack() as stack:
        if database_url is None:
            directory = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="switchvox-server-", ignore_cleanup_errors=True)
            )
            database_url = f"sqlite:///{Path(directory) / 'switchvox.db'}"
        admin_password = secrets.token_urlsafe(16)
        settings = replace(
            settings or Settings(), database_url=database_url, admin_password=admin_password
        )
        database, secret_key = prepare_database(settings)
        stack.callback(database.dispose)
        store = _Store(database, loaded, secret_key, settings)
        reset_to_seed(database, loaded, secret_key, settings)
        url = stack.enter_context(_serve(settings))
        yield RunningServer(
            url=url,
            admin_password=admin_password,
            database_url=database_url,
            _store=store,
        )


def _load(seed: Path | str | Mapping[str, object] | None) -> Seed:
    if seed is None:
        return Seed()
    if isinstance(seed, Mapping):
        return parse_seed(seed)
    return load_seed(Path(seed))


@contextmanager
def _serve(settings: Settings) -> Iterator[str]:
    # The socket is bound here and handed to uvicorn, so no other server (or test run) can
    # take the port between choosing it and listening on it.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with listener:
        listener.bind(("127.0.0.1", 0))
        port: int = listener.getsockname()[1]
        # No log_config (nor log_level, nor access_log=False): each would make uvicorn change
        # the test process's logging; its records simply propagate to whatever is set up.
        config = uvicorn.Config(
            create_app(settings), lifespan="on", log_config=None, **server_options(settings)
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [listener]},
            name=f"switchvox-server-{port}",
            daemon=True,
        )
        thread.start()
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the Switchvox test server did not start (see its log)")
                time.sleep(0.01)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(STOP_TIMEOUT_SECONDS)
