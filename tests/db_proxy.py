"""A TCP proxy on loopback between the server and its database, driven by the test: it
passes traffic, cuts every connection, falls silent (accepts and never forwards), and
comes back. It runs its own event loop in a thread."""

from __future__ import annotations

import asyncio
import enum
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import make_url

READ_SIZE = 65536
STOP_TIMEOUT_SECONDS = 10.0


class Mode(enum.Enum):
    PASS = "pass"  # forward both ways
    CUT = "cut"  # close every connection; close new ones at once
    SILENT = "silent"  # accept, read, and forward nothing either way


class DatabaseProxy:
    """Listens on 127.0.0.1:`port` and forwards to the database at `upstream`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._mode = Mode.PASS
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    def set_mode(self, mode: Mode) -> None:
        """Switch modes; CUT closes every open connection before this returns."""
        asyncio.run_coroutine_threadsafe(self._switch(mode), self._loop).result(
            STOP_TIMEOUT_SECONDS
        )

    def start(self) -> None:
        self._thread.start()
        if not self._started.wait(STOP_TIMEOUT_SECONDS):
            raise RuntimeError("the database proxy did not start")

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(STOP_TIMEOUT_SECONDS)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STOP_TIMEOUT_SECONDS)
        self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()

    async def _switch(self, mode: Mode) -> None:
        self._mode = mode
        if mode is Mode.CUT:
            for writer in list(self._writers):
                writer.transport.abort()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.wait_for(asyncio.gather(*self._handlers), STOP_TIMEOUT_SECONDS)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._mode is Mode.CUT:
            writer.transport.abort()
            return
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        self._writers.add(writer)
        try:
            if self._mode is Mode.SILENT:
                await self._pump(reader, None)  # never connects: the server "never answers"
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            except OSError:
                return
            self._writers.add(up_writer)
            try:
                await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
            finally:
                self._writers.discard(up_writer)
                up_writer.transport.abort()
        finally:
            self._writers.discard(writer)
            self._handlers.discard(handler)
            writer.transport.abort()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None
    ) -> None:
        """Copy until either side closes; while SILENT, what is read is dropped."""
        with suppress(ConnectionError, OSError):
            while data := await reader.read(READ_SIZE):
                if writer is not None and self._mode is Mode.PASS:
                    writer.write(data)
                    await writer.drain()
        if writer is not None:
            writer.transport.abort()  # one side closed: so does the other


@contextmanager
def proxied(database_url: str) -> Iterator[tuple[DatabaseProxy, str]]:
    """A proxy in front of `database_url`'s server, and the URL that goes through it."""
    url = make_url(database_url)
    proxy = DatabaseProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    try:
        yield (
            proxy,
            url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        )
    finally:
        proxy.stop()
