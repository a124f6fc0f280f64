"""`admin add`, `admin list`, `admin passwd` and `admin remove`: the accounts that sign in
to the API."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from switchvox_server.cli.common import CommandError, prepared_database, say
from switchvox_server.settings import Settings
from switchvox_server.store.models import AccessLevel

if TYPE_CHECKING:
    from switchvox_server.cli.common import Commands

_NOT_UTF8 = "the password is not valid UTF-8"


def add_parser(commands: Commands) -> None:
    admin = commands.add_parser("admin", help="manage the admin accounts of the API")
    actions = admin.add_subparsers(required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create an admin account")
    add.add_argument("name")
    add.add_argument(
        "--access",
        required=True,
        choices=[level.value for level in AccessLevel],
        help="full: every method; read_only: reading methods only",
    )
    _password_option(add)
    add.set_defaults(run=_add)
    listing = actions.add_parser("list", help="show every admin and its access")
    listing.set_defaults(run=_list)
    passwd = actions.add_parser("passwd", help="set a new password for an admin account")
    passwd.add_argument("name")
    _password_option(passwd)
    passwd.set_defaults(run=_passwd)
    remove = actions.add_parser("remove", help="delete an admin account")
    remove.add_argument("name")
    remove.set_defaults(run=_remove)


def _password_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )


def _add(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.store.accounts import add_admin, admin_credentials

    name: str = arguments.name
    _check_name(name)
    access = AccessLevel(arguments.access)
    try:
        with prepared_database(settings) as (database, _):
            # Checked before asking for the password too, so nobody types one for nothing.
            with database.sessions.begin() as session:
                exists = admin_credentials(session, name) is not None
            if exists:
                raise CommandError(f"an admin named {name!r} already exists")
            password = _read_password() if arguments.password_stdin else _prompt_password()
            with database.sessions.begin() as session:
                if admin_credentials(session, name) is not None:
                    raise CommandError(f"an admin named {name!r} already exists")
                add_admin(session, name, password, access)
    except IntegrityError:
        # Another process added the same name between our check and our commit.
        raise CommandError(f"an admin named {name!r} already exists") from None
    say(f"Added the admin {name!r} with {access.value} access.")
    return 0


def _passwd(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.store.accounts import admin_credentials, set_admin_password

    name: str = arguments.name
    with prepared_database(settings) as (database, _):
        with database.sessions.begin() as session:
            if admin_credentials(session, name) is None:
                raise CommandError(f"no admin named {name!r}")
        password = _read_password() if arguments.password_stdin else _prompt_password()
        with database.sessions.begin() as session:
            if not set_admin_password(session, name, password):
                raise CommandError(f"no admin named {name!r}")
    say(f"Set a new password for the admin {name!r}.")
    return 0


def _list(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.store.accounts import list_admins

    with prepared_database(settings) as (database, _), database.sessions.begin() as session:
        admins = list_admins(session)
    for name, access in admins:
        say(f"{name}\t{access.value}")
    return 0


def _remove(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.store.accounts import list_admins, remove_admin

    name: str = arguments.name
    with prepared_database(settings) as (database, _), database.sessions.begin() as session:
        admins = dict(list_admins(session))
        if name not in admins:
            raise CommandError(f"no admin named {name!r}")
        others_full = [
            other
            for other, access in admins.items()
            if other != name and access is AccessLevel.FULL
        ]
        if admins[name] is AccessLevel.FULL and not others_full:
            # Without a full admin nobody could upload again; add another one first.
            raise CommandError(
                f"{name!r} is the last admin with full access; add another one first"
            )
        remove_admin(session, name)
    say(f"Removed the admin {name!r}.")
    return 0


def _check_name(name: str) -> None:
    from switchvox_server.store.accounts import admin_name_problem

    if (problem := admin_name_problem(name)) is not None:
        raise CommandError(problem)


def _prompt_password() -> str:
    try:
        password = getpass.getpass("Password: ")
        again = getpass.getpass("Password (again): ")
    except EOFError:
        raise CommandError(
            "no password given (use --password-stdin to pass one through a pipe)"
        ) from None
    if password != again:
        raise CommandError("the passwords do not match")
    return _check_password(password)


def _read_password() -> str:
    if sys.stdin is None:
        raise CommandError("standard input is closed")
    try:
        line = sys.stdin.readline()
    except UnicodeDecodeError:
        raise CommandError(_NOT_UTF8) from None
    except OSError as error:
        raise CommandError(f"cannot read standard input: {error.strerror}") from None
    return _check_password(line.removesuffix("\n").removesuffix("\r"))


def _check_password(password: str) -> str:
    if not password:
        raise CommandError("the password must not be empty")
    try:
        # Bytes a terminal or a pipe passed through undecoded (Python keeps them as lone
        # surrogates) would fail only later, when the password is hashed.
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise CommandError(_NOT_UTF8) from None
    return password
