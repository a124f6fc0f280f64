"""`extensions remove NUMBER…`: remove extensions, recorded in the import history so that
`imports undo` brings them back."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from switchvox_server.cli.common import CommandError, prepared_database, say
from switchvox_server.settings import Settings

if TYPE_CHECKING:
    from switchvox_server.cli.common import Commands


def add_parser(commands: Commands) -> None:
    extensions = commands.add_parser("extensions", help="change stored extensions")
    actions = extensions.add_subparsers(required=True, metavar="ACTION")
    remove = actions.add_parser(
        "remove",
        help="remove extensions by number (recorded; imports undo brings them back)",
    )
    remove.add_argument("numbers", nargs="+", metavar="NUMBER")
    remove.set_defaults(run=_remove)


def _remove(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.cli.imports import command_line_source
    from switchvox_server.history.changes import REMOVED, remove

    numbers: list[str] = [number.strip() for number in arguments.numbers]
    with prepared_database(settings) as (database, _):
        outcome = remove(database, numbers, command_line_source())
    removed = outcome.counts.get(REMOVED, 0)
    say(
        f"Removed {removed} extension{'' if removed == 1 else 's'}"
        f" (recorded as import {outcome.import_id})."
    )
    if outcome.missing:
        raise CommandError(f"no such extension: {', '.join(outcome.missing)}")
    return 0
