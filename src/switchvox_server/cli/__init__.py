"""The `switchvox-server` command: serve the API, migrate the store, manage admin accounts
and templates, import and export extensions, the import history, apply seed files.

Each command family is a module with `add_parser(commands)`; this one assembles them, and
`failures` turns what they raise into a one-line message and an exit status.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from switchvox_server import __version__
from switchvox_server.cli import admin, extensions, imports, seed, serve, state, templates, transfer
from switchvox_server.cli.common import PROG, CommandError
from switchvox_server.cli.failures import run_to_the_end
from switchvox_server.settings import Settings

__all__ = ["CommandError", "main"]

Command = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    run: Command = arguments.run
    return run_to_the_end(lambda: run(arguments, Settings.from_environ()))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A server for the Switchvox Extend API (bulk extension upload).",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for family in (serve, admin, transfer, imports, extensions, templates, seed, state):
        family.add_parser(commands)
    return parser
