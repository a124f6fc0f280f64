"""`state dump|restore|reset`: the control API's state document from the command line, a
backup that restores a system exactly (secrets in their stored forms)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from switchvox_server.cli.common import CommandError, prepared_database, say
from switchvox_server.settings import Settings

if TYPE_CHECKING:
    from switchvox_server.cli.common import Commands


def add_parser(commands: Commands) -> None:
    state = commands.add_parser(
        "state",
        help="dump, restore or reset the whole store",
        description="The whole store (templates, admin accounts, extensions) as one JSON"
        " document, the same as GET and PUT /_switchvox/state. Secrets appear only in their"
        " stored hashed forms, which are password-equivalent for Digest: keep dumps safe.",
    )
    actions = state.add_subparsers(required=True, metavar="ACTION")
    dump = actions.add_parser("dump", help="write the state document")
    dump.add_argument("-o", "--output", type=Path, metavar="FILE", help="instead of stdout")
    dump.set_defaults(run=_dump)
    restore = actions.add_parser("restore", help="replace the store with a state document")
    restore.add_argument("file", type=Path, metavar="FILE")
    restore.set_defaults(run=_restore)
    reset = actions.add_parser(
        "reset", help="back to the start; clear the journal, faults and run-time settings"
    )
    reset.set_defaults(run=_reset)


def _dump(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.control.service import dump_store

    with prepared_database(settings) as (database, _secret):
        text = json.dumps(dump_store(database), indent=1, ensure_ascii=False) + "\n"
    if arguments.output is None:
        sys.stdout.write(text)
        return 0
    try:
        arguments.output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise CommandError(f"cannot write {arguments.output}: {error.strerror}") from None
    return 0


def _restore(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.control.errors import ControlError
    from switchvox_server.control.service import restore_store

    path: Path = arguments.file
    try:
        document = json.loads(path.read_bytes())
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CommandError(f"{path}: not a JSON state document") from None
    with prepared_database(settings) as (database, _secret):
        try:
            restore_store(database, document)
        except ControlError as error:
            raise CommandError(f"{path}: {error}") from None
    say(f"Restored the store from {path}.")
    return 0


def _reset(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.control.service import reset_store

    with prepared_database(settings) as (database, secret_key):
        reset_store(database, secret_key, settings)
    say("The store is back to its start.")
    return 0
