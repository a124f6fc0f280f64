"""The `switchvox-server` command: serve the API, migrate the store, manage admin accounts
and templates, import and export extensions, the import history, apply seed files.

Each command family is a module with `add_parser(commands)`; this one assembles them and
turns what they raise into a one-line message and an exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from switchvox_server import __version__
from switchvox_server.cli import admin, extensions, imports, seed, serve, templates, transfer
from switchvox_server.cli.common import PROG, CommandError, fail
from switchvox_server.faults import ConfigurationError
from switchvox_server.settings import Settings

__all__ = ["CommandError", "main"]

Command = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    run: Command = arguments.run
    try:
        settings = Settings.from_environ()
    except ConfigurationError as error:
        return fail(str(error), status=2)
    try:
        return run(arguments, settings)
    except CommandError as error:
        return fail(str(error))
    except (ArgumentError, NoSuchModuleError) as error:
        return fail(f"DATABASE_URL is not usable: {error}")
    except OperationalError as error:
        return fail(f"cannot use the database: {error.orig}")
    except KeyboardInterrupt:
        return fail("interrupted", status=130)
    except BrokenPipeError:
        # The reader went away (`export | head`): stop quietly, as other tools do, and keep
        # Python from complaining again when it flushes stdout at exit.
        _silence_stdout()
        return 1


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is no real file (tests): nothing will flush into a closed pipe


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A server for the Switchvox Extend API (bulk extension upload).",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for family in (serve, admin, transfer, imports, extensions, templates, seed):
        family.add_parser(commands)
    return parser
