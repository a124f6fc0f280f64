"""What every command shares: the error it raises, how a failure and its output are shown,
the store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO, TYPE_CHECKING, TypeAlias

from switchvox_server.values import ascii_integer

if TYPE_CHECKING:
    from switchvox_server.settings import Settings
    from switchvox_server.store.database import Database

    # The subparsers of the top-level parser, to which each command module adds its own.
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

PROG = "switchvox-server"


class CommandError(Exception):
    """A mistake the user can fix; shown as `switchvox-server: <message>`, no traceback."""


class OutputError(CommandError):
    """Standard output cannot be written (a full disk, a device error)."""


def fail(message: str, *, status: int = 1) -> int:
    """Show `message` as the command's one line on standard error; return `status`."""
    # When standard error is unusable too, the exit status is all that is left.
    if sys.stderr is not None:
        with suppress(OSError, ValueError):
            print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    return status


def say(line: str) -> None:
    """Print `line` on standard output; a failure to write it is an OutputError."""
    with _writing_standard_output():
        print(line)


@contextmanager
def standard_output() -> Iterator[IO[bytes]]:
    """Standard output as bytes, once what print() holds is written; a failure to write
    it is an OutputError."""
    if sys.stdout is None:
        raise OutputError("standard output is closed")
    with _writing_standard_output():
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.flush()


@contextmanager
def _writing_standard_output() -> Iterator[None]:
    # A reader that went away stays a BrokenPipeError, which ends a command quietly
    # (`export | head`); any other failure (a full disk, a device error) is shown.
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputError(f"cannot write to standard output: {error.strerror or error}") from None


@contextmanager
def prepared_database(settings: Settings) -> Iterator[tuple[Database, bytes]]:
    """The migrated store and the server's secret key; the store is disposed of on leaving."""
    from switchvox_server.app import prepare_database

    database, secret_key = prepare_database(settings)
    try:
        yield database, secret_key
    finally:
        database.dispose()


# Ids are 32-bit integer columns on PostgreSQL (and SQLite refuses more than 64 bits).
MAX_RECORD_ID = 2**31 - 1


def record_id(text: str) -> int:
    """An argparse type for an id or a count: ASCII digits up to MAX_RECORD_ID, so that no
    value beyond the store's columns reaches a query."""
    value = ascii_integer(text.strip(), len(str(MAX_RECORD_ID)))
    if value is None or value > MAX_RECORD_ID:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 0 to {MAX_RECORD_ID}, not {text!r}"
        )
    return value
