"""The readiness check of `/readyz`: does the database answer, within a bounded time?

One check runs at a time, however many probes arrive: against a silent database each check
holds a worker thread until the connection deadlines end it, and probes arriving every second
must not pile those up. A probe waits at most READINESS_TIMEOUT_SECONDS for the check in
flight; a check that outlives it goes on, and later probes wait for that same check.
Changes of state are logged once, with the cause, rather than on every probe.
"""

from __future__ import annotations

import asyncio
import logging

import anyio.to_thread
from sqlalchemy import text

from switchvox_server.store.database import Database, failure_of

# Orchestrators give a readiness probe a second or a few; a database that takes longer
# than this to answer a trivial query cannot serve requests either.
READINESS_TIMEOUT_SECONDS = 2.0

logger = logging.getLogger(__name__)


class ReadinessCheck:
    """Whether the database answers, shared by every `/readyz` of one application."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._in_flight: asyncio.Task[str | None] | None = None
        self._last_problem: str | None = None

    async def problem(self) -> str | None:
        """None when the database answered; otherwise why it is not ready."""
        task = self._in_flight
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = self._in_flight = asyncio.ensure_future(
                # Abandoned on shutdown: the thread ends by itself at its deadline.
                anyio.to_thread.run_sync(self._ping, abandon_on_cancel=True)
            )
        try:
            found = await asyncio.wait_for(asyncio.shield(task), READINESS_TIMEOUT_SECONDS)
        except TimeoutError:
            found = f"no answer from the database within {READINESS_TIMEOUT_SECONDS:g} s"
        self._note(found)
        return found

    def close(self) -> None:
        if self._in_flight is not None:
            self._in_flight.cancel()

    def _ping(self) -> str | None:
        try:
            with self._database.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            failure = failure_of(self._database, error)
            if failure is None:
                logger.exception("the readiness check failed")
                return f"{type(error).__name__} (logged above)"
            return str(failure)
        return None

    def _note(self, problem: str | None) -> None:
        if problem == self._last_problem:
            return
        if problem is None:
            logger.info("the database answers again: ready")
        else:
            logger.warning("not ready: %s", problem)
        self._last_problem = problem
