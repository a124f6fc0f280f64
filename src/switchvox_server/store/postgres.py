"""Deadlines on the client side of PostgreSQL connections made with psycopg.

`statement_timeout` and `lock_timeout` are enforced by the server: they do nothing when the
server, or the path to it, stops answering, and neither do TCP keepalives while the peer's
kernel still acknowledges. So every wait of a connection for the server ends at a deadline
of its own, a little after the server's own timeouts would have answered; a connection that
misses it is closed on the spot (its place in the protocol is lost), so SQLAlchemy sees a
broken connection and never hands it out again. A pooled connection is pinged before each
use, and must answer within the connect timeout: a silent server costs a request two connect
timeouts (the ping, then a new connection) rather than a statement timeout.

Imported only for `postgresql+psycopg` URLs: psycopg is an optional dependency. It relies on
the `timeout` of psycopg's own wait, which psycopg 3.3 has.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors
from psycopg.abc import RV, PQGen
from sqlalchemy import Engine, event, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

# The server reports its own timeouts this much before the client stops waiting, so that a
# live server's clearer error ("canceling statement due to lock timeout") wins.
SERVER_GRACE_SECONDS = 1.0
# How often a wait wakes up to look at its deadline (psycopg's own default).
WAKE_INTERVAL_SECONDS = 0.1
# libpq counts its connect timeout in whole seconds, and takes less than 2 as 2.
LIBPQ_MIN_CONNECT_TIMEOUT = 2
KEEPALIVE_PROBES = 3
_FRESH = "switchvox_fresh"


class DeadlineConnection(psycopg.Connection[Any]):
    """A psycopg connection on which no wait for the server lasts longer than
    `answer_timeout` seconds: past it, the connection is closed and the wait raises
    `psycopg.OperationalError`."""

    answer_timeout: float | None = None

    def wait(
        self,
        gen: PQGen[RV],
        interval: float = WAKE_INTERVAL_SECONDS,
        timeout: float | None = None,
    ) -> RV:
        limit = self.answer_timeout if timeout is None else timeout
        try:
            return super().wait(gen, interval, limit)
        except errors._WaitTimeout:
            self.close()
            raise psycopg.OperationalError(
                f"the database did not answer within {limit:g} s"
            ) from None

    @contextmanager
    def answering_within(self, seconds: float) -> Iterator[None]:
        """Hold the connection's waits to `seconds` while the block runs."""
        usual, self.answer_timeout = self.answer_timeout, seconds
        try:
            yield
        finally:
            self.answer_timeout = usual


def install_deadlines(engine: Engine, connect_timeout: float, statement_timeout: float) -> None:
    """Make every connection of `engine` a DeadlineConnection with the server's timeouts
    set, and ping pooled connections on checkout within `connect_timeout`."""
    server_ms = max(1, round(statement_timeout * 1000))
    answer_timeout = statement_timeout + SERVER_GRACE_SECONDS
    whole_seconds = max(LIBPQ_MIN_CONNECT_TIMEOUT, math.ceil(connect_timeout))

    @event.listens_for(engine, "do_connect")
    def _connect(
        _dialect: Dialect, record: ConnectionPoolEntry, cargs: Any, cparams: dict[str, Any]
    ) -> DeadlineConnection:
        options = f"-c statement_timeout={server_ms} -c lock_timeout={server_ms}"
        cparams.update(
            connect_timeout=whole_seconds,
            # A peer that stops acknowledging (a vanished host) is given up by the kernel.
            tcp_user_timeout=round(answer_timeout * 1000),
            keepalives=1,
            keepalives_idle=whole_seconds,
            keepalives_interval=whole_seconds,
            keepalives_count=KEEPALIVE_PROBES,
            # Ours come last, so they win over any `options` of the URL.
            options=f"{cparams.get('options', '')} {options}".strip(),
        )
        connection = DeadlineConnection.connect(*cargs, **cparams)
        connection.answer_timeout = answer_timeout
        record.info[_FRESH] = True
        return connection

    @event.listens_for(engine, "checkout")
    def _ping(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        if record.info.pop(_FRESH, False):
            return  # it has just answered its connect
        try:
            with dbapi_connection.answering_within(connect_timeout):
                engine.dialect.do_ping(dbapi_connection)
        except psycopg.Error as error:
            # The pool throws this connection (and every older one) away and connects anew.
            problem = f"a pooled connection failed its ping: {error}"
            raise exc.InvalidatePoolError(problem) from error
