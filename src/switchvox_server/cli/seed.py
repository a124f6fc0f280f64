"""`seed FILE`: make the store hold the templates, admins and extensions a seed declares."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from switchvox_server.cli.common import CommandError, prepared_database, say
from switchvox_server.settings import Settings

if TYPE_CHECKING:
    from switchvox_server.cli.common import Commands


def add_parser(commands: Commands) -> None:
    command = commands.add_parser(
        "seed",
        help="apply a TOML or JSON seed file",
        description="Make the store hold the templates, admin accounts and extensions a"
        " TOML or JSON seed file declares, in one transaction: records that exist are"
        " updated to what the file says, others are created, records the file does not"
        " mention are left alone. Applying a file again gives the same result.",
    )
    command.add_argument("file", type=Path, metavar="FILE", help="the .toml or .json file")
    command.set_defaults(run=_seed)


def _seed(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.seed.apply import apply_seed
    from switchvox_server.seed.declaration import SeedError, load_seed

    try:
        seed = load_seed(arguments.file)
        with prepared_database(settings) as (database, secret_key):
            summary = apply_seed(database, seed, secret_key, settings)
    except SeedError as error:
        raise CommandError(str(error)) from None
    say(f"Applied {arguments.file}: {summary}")
    return 0
