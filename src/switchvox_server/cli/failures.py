"""How a command ends when something fails: one line on standard error and an exit status.

Every failure a user can do something about (a file that cannot be read or written, a full
disk, an unusable DATABASE_URL, a database that cannot be reached, Ctrl+C) is turned into
that line here, and only here; the commands raise and let it come to this boundary. An
exception this table does not know is a bug of the server, and keeps its traceback so that
it can be reported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from switchvox_server.cli.common import CommandError, OutputError, fail, standard_output
from switchvox_server.faults import ConfigurationError

# Exit statuses, as docs/cli.md lists them (`import` adds its own 3).
FAILED = 1
UNUSABLE_ENVIRONMENT = 2
INTERRUPTED = 130


def run_to_the_end(command: Callable[[], int]) -> int:
    """Run `command` and return its exit status, or show what it raised as one line."""
    try:
        status = command()
        if sys.stdout is not None:
            with standard_output():
                pass  # what print() still holds is written here, where a failure shows
    except BrokenPipeError:
        # The reader went away (`export | head`): stop quietly, as other tools do.
        _discard_standard_output()
        return FAILED
    except KeyboardInterrupt:
        return fail("interrupted", status=INTERRUPTED)
    except Exception as error:
        explained = explain(error)
        if explained is None:
            raise
        if isinstance(error, OutputError):
            _discard_standard_output()
        message, status = explained
        return fail(message, status=status)
    return status


def explain(error: Exception) -> tuple[str, int] | None:
    """The one-line message and the exit status for `error`, or None for a bug."""
    # Imported here: only a failing command needs it, and it is part of Alembic.
    from alembic.util.exc import CommandError as MigrationError

    match error:
        case CommandError():
            return str(error), FAILED
        case ConfigurationError():
            return str(error), UNUSABLE_ENVIRONMENT
        case ArgumentError():  # also NoSuchModuleError: a dialect SQLAlchemy does not know
            return f"DATABASE_URL is not usable: {one_line(error)}", UNUSABLE_ENVIRONMENT
        case DBAPIError():
            return f"cannot use the database: {one_line(error.orig or error)}", FAILED
        case PoolTimeoutError():
            return f"cannot use the database: {one_line(error)}", FAILED
        case MigrationError():
            return f"cannot bring the database schema up to date: {one_line(error)}", FAILED
        case OSError():
            # The commands name what they read and write; this is for the rest (a full
            # temporary directory, say), with the file name when there is one.
            place = "" if error.filename is None else f"{os.fsdecode(error.filename)}: "
            return f"{place}{error.strerror or one_line(error)}", FAILED
    return None


def one_line(error: BaseException) -> str:
    """The error's message on one line (database drivers write several)."""
    return " ".join(str(error).split())


def _discard_standard_output() -> None:
    """Point standard output at the null device, so that Python's own flush at exit does not
    fail a second time on what the broken stream still holds."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # standard output is no real file (tests, or closed): nothing will flush
