"""The `switchvox-server` command: serve the API, migrate the store, manage admin accounts."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import signal
import ssl
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError

from switchvox_server import __version__
from switchvox_server.faults import ConfigurationError
from switchvox_server.settings import Settings
from switchvox_server.store.models import AccessLevel

PROG = "switchvox-server"
# AdminAccount.name is a String(64).
MAX_ADMIN_NAME_LENGTH = 64
# Listening on these means "every address": they are no name a client could verify.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}


class CommandError(Exception):
    """A mistake the user can fix; shown as `switchvox-server: <message>`, no traceback."""


Command = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    run: Command = arguments.run
    try:
        settings = Settings.from_environ()
    except ConfigurationError as error:
        return _fail(str(error), status=2)
    try:
        return run(arguments, settings)
    except CommandError as error:
        return _fail(str(error))
    except (ArgumentError, NoSuchModuleError) as error:
        return _fail(f"DATABASE_URL is not usable: {error}")
    except OperationalError as error:
        return _fail(f"cannot use the database: {error.orig}")
    except KeyboardInterrupt:
        return _fail("interrupted", status=130)


def _fail(message: str, *, status: int = 1) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A server for the Switchvox Extend API (bulk extension upload).",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="migrate the database, then serve the API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    tls = serve.add_mutually_exclusive_group()
    tls.add_argument(
        "--ssl-certfile",
        type=Path,
        metavar="FILE",
        help="serve HTTPS with this PEM certificate (chain)",
    )
    tls.add_argument(
        "--self-signed",
        action="store_true",
        help="serve HTTPS with a throwaway self-signed certificate for localhost (tests only)",
    )
    serve.add_argument(
        "--ssl-keyfile",
        type=Path,
        metavar="FILE",
        help="the PEM private key of --ssl-certfile, unless that file holds it",
    )
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(run=_migrate)

    admin = commands.add_parser("admin", help="manage the admin accounts of the API")
    admin_commands = admin.add_subparsers(required=True, metavar="ACTION")
    add = admin_commands.add_parser("add", help="create an admin account")
    add.add_argument("name")
    add.add_argument(
        "--access",
        required=True,
        choices=[level.value for level in AccessLevel],
        help="full: every method; read_only: reading methods only",
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )
    add.set_defaults(run=_admin_add)
    listing = admin_commands.add_parser("list", help="show every admin and its access")
    listing.set_defaults(run=_admin_list)
    remove = admin_commands.add_parser("remove", help="delete an admin account")
    remove.add_argument("name")
    remove.set_defaults(run=_admin_remove)
    return parser


# --- serve -----------------------------------------------------------------------------


def _serve(arguments: argparse.Namespace, settings: Settings) -> int:
    if arguments.ssl_keyfile is not None and arguments.ssl_certfile is None:
        raise CommandError("--ssl-keyfile needs --ssl-certfile")
    if arguments.ssl_certfile is not None:
        _check_certificate(arguments.ssl_certfile, arguments.ssl_keyfile)
    # Open the store before uvicorn does, so a bad DATABASE_URL is a one-line message
    # rather than a traceback from the application's start-up.
    _migrate_quietly(settings)
    if arguments.self_signed:
        with (
            tempfile.TemporaryDirectory(prefix="switchvox-server-tls-") as directory,
            _exit_on_sigterm(),
        ):
            certfile, keyfile = _self_signed(Path(directory), arguments)
            return _run_uvicorn(arguments, settings, certfile, keyfile)
    return _run_uvicorn(arguments, settings, arguments.ssl_certfile, arguments.ssl_keyfile)


def _run_uvicorn(
    arguments: argparse.Namespace,
    settings: Settings,
    certfile: Path | None,
    keyfile: Path | None,
) -> int:
    import uvicorn

    from switchvox_server.app import create_app

    uvicorn.run(
        create_app(settings),
        host=arguments.host,
        port=arguments.port,
        ssl_certfile=None if certfile is None else str(certfile),
        ssl_keyfile=None if keyfile is None else str(keyfile),
    )
    return 0


@contextmanager
def _exit_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit, so clean-ups (the temporary key) run.

    uvicorn handles SIGTERM while it serves, then raises it again once it has stopped; with
    the default handler that kills the process before any `finally` block runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _self_signed(directory: Path, arguments: argparse.Namespace) -> tuple[Path, Path]:
    from switchvox_server.tls import write_self_signed

    hostnames = ["localhost"]
    ip_addresses = ["127.0.0.1", "::1"]
    host: str = arguments.host
    if host not in _WILDCARD_HOSTS:
        # Also name the address the server was told to listen on, so clients can use it.
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            if host not in hostnames:
                hostnames.append(host)
        else:
            if address not in ip_addresses:
                ip_addresses.append(address)
    certfile, keyfile = write_self_signed(directory, hostnames, ip_addresses)
    shown_host = "localhost" if host in _WILDCARD_HOSTS else host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    names = ", ".join(hostnames + ip_addresses)
    print(
        f"Serving HTTPS with a throwaway self-signed certificate for {names}.\n"
        f"Certificate: {certfile} (deleted when the server stops)\n"
        f"Trust it in a client, e.g.: curl --cacert {certfile} "
        f"https://{shown_host}:{arguments.port}/xml",
        file=sys.stderr,
        flush=True,
    )
    return certfile, keyfile


def _check_certificate(certfile: Path, keyfile: Path | None) -> None:
    """Load the pair once here, so a wrong path or a mismatched key is a plain message."""
    for path in (certfile, keyfile):
        if path is not None and not path.is_file():
            raise CommandError(f"no such file: {path}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as error:
        files = str(certfile) if keyfile is None else f"{certfile} and {keyfile}"
        raise CommandError(
            f"cannot load a PEM certificate and its private key from {files} ({error})"
        ) from None


# --- migrate ---------------------------------------------------------------------------


def _migrate(arguments: argparse.Namespace, settings: Settings) -> int:
    _migrate_quietly(settings)
    print("The database schema is up to date.")
    return 0


def _migrate_quietly(settings: Settings) -> None:
    from switchvox_server.app import prepare_database

    database, _ = prepare_database(settings)
    database.dispose()


# --- admin -----------------------------------------------------------------------------


def _admin_add(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.app import prepare_database
    from switchvox_server.store.accounts import add_admin, admin_credentials

    name: str = arguments.name
    _check_admin_name(name)
    access = AccessLevel(arguments.access)
    database, _ = prepare_database(settings)
    try:
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
    finally:
        database.dispose()
    print(f"Added the admin {name!r} with {access.value} access.")
    return 0


def _admin_list(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.app import prepare_database
    from switchvox_server.store.accounts import list_admins

    database, _ = prepare_database(settings)
    try:
        with database.sessions.begin() as session:
            admins = list_admins(session)
    finally:
        database.dispose()
    for name, access in admins:
        print(f"{name}\t{access.value}")
    return 0


def _admin_remove(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.app import prepare_database
    from switchvox_server.store.accounts import list_admins, remove_admin

    name: str = arguments.name
    database, _ = prepare_database(settings)
    try:
        with database.sessions.begin() as session:
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
    finally:
        database.dispose()
    print(f"Removed the admin {name!r}.")
    return 0


def _check_admin_name(name: str) -> None:
    if not name:
        raise CommandError("an admin name must not be empty")
    if len(name) > MAX_ADMIN_NAME_LENGTH:
        raise CommandError(f"an admin name must be at most {MAX_ADMIN_NAME_LENGTH} characters")
    if name != name.strip() or any(not character.isprintable() for character in name):
        raise CommandError(
            "an admin name must not contain control characters or start or end with spaces"
        )
    if any(character in name for character in ':"\\'):
        # Basic credentials end the name at the first colon; many Digest clients do not
        # escape quotes or backslashes in the username.
        raise CommandError("an admin name must not contain a colon, a double quote or a backslash")
    if name.isascii() and name.isdigit():
        # Digits-only names are how extensions sign in; an extension would shadow the admin.
        raise CommandError("an admin name must not be all digits (extensions sign in so)")


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
    line = sys.stdin.readline()
    return _check_password(line.removesuffix("\n").removesuffix("\r"))


def _check_password(password: str) -> str:
    if not password:
        raise CommandError("the password must not be empty")
    return password


if __name__ == "__main__":
    raise SystemExit(main())
