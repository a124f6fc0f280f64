"""What every command shares: the error it raises, how a failure is shown, the store."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    import argparse

    from switchvox_server.settings import Settings
    from switchvox_server.store.database import Database

    # The subparsers of the top-level parser, to which each command module adds its own.
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

PROG = "switchvox-server"


class CommandError(Exception):
    """A mistake the user can fix; shown as `switchvox-server: <message>`, no traceback."""


def fail(message: str, *, status: int = 1) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return status


@contextmanager
def prepared_database(settings: Settings) -> Iterator[tuple[Database, bytes]]:
    """The migrated store and the server's secret key; the store is disposed of on leaving."""
    from switchvox_server.app import prepare_database

    database, secret_key = prepare_database(settings)
    try:
        yield database, secret_key
    finally:
        database.dispose()
