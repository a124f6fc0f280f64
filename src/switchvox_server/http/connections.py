"""Connection limits that uvicorn lacks, and the uvicorn options every way of serving shares.

uvicorn's `timeout_keep_alive` runs only after a response, so a client that opens a connection
and never completes a request head (or dribbles it a byte at a time) would hold it forever.
`HeadTimeoutProtocol` gives every request head a deadline, from the moment the server waits for
it (a new connection, or the end of the previous response) until the head is complete, and
closes the connection when it passes. It also closes at once a connection beyond the
connection limit, so idle connections cannot pile up past it (uvicorn itself only answers 503
to the requests such connections send).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar, TypedDict

from uvicorn.protocols.http.h11_impl import H11Protocol

from switchvox_server.settings import DEFAULT_HEADER_TIMEOUT, Settings

logger = logging.getLogger(__name__)


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head and a hard cap on
    connections (`limit_concurrency`)."""

    head_timeout: ClassVar[float] = DEFAULT_HEADER_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.limit_concurrency is not None and len(self.connections) > self.limit_concurrency:
            logger.warning("closed a connection beyond the limit of %d", self.limit_concurrency)
            transport.close()
            return
        self._start_head_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._waiting_for_head():
            self._cancel_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # A pipelined request may already have started; otherwise the next head is due.
        if not self.transport.is_closing() and self._waiting_for_head():
            self._start_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def _waiting_for_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _start_head_deadline(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.head_timeout, self._head_overdue)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_overdue(self) -> None:
        self._head_deadline = None
        if self._waiting_for_head() and not self.transport.is_closing():
            client = self.client[0] if self.client else "unknown"
            logger.info(
                "closed a connection from %s that sent no complete request head within %g s",
                client,
                self.head_timeout,
            )
            self.transport.close()


def head_timeout_protocol(seconds: float) -> type[HeadTimeoutProtocol]:
    """The protocol class with a head deadline of `seconds` (uvicorn makes one instance per
    connection itself, so the setting travels on the class)."""
    return type("HeadTimeoutProtocol", (HeadTimeoutProtocol,), {"head_timeout": seconds})


class ServerOptions(TypedDict):
    """The uvicorn options (of `uvicorn.run` and `uvicorn.Config`) that the settings decide."""

    http: type[HeadTimeoutProtocol]
    limit_concurrency: int
    timeout_graceful_shutdown: int
    proxy_headers: bool


def server_options(settings: Settings) -> ServerOptions:
    """What `serve` and the test server pass to uvicorn, besides where to listen."""
    return ServerOptions(
        http=head_timeout_protocol(settings.header_timeout),
        limit_concurrency=settings.max_connections,
        timeout_graceful_shutdown=settings.shutdown_timeout,
        # The client address is the server's to work out (SWITCHVOX_TRUSTED_PROXIES); uvicorn's
        # own X-Forwarded-For handling would trust any local peer's word for it.
        proxy_headers=False,
    )
