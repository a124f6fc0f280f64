"""`serve` (plain HTTP or HTTPS, with a given or a throwaway certificate) and `migrate`."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import ssl
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from switchvox_server.cli.common import CommandError, prepared_database
from switchvox_server.settings import Settings

if TYPE_CHECKING:
    from switchvox_server.cli.common import Commands

# Listening on these means "every address": they are no name a client could verify.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}


def add_parser(commands: Commands) -> None:
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


def _migrate(arguments: argparse.Namespace, settings: Settings) -> int:
    _migrate_quietly(settings)
    print("The database schema is up to date.")
    return 0


def _migrate_quietly(settings: Settings) -> None:
    with prepared_database(settings):
        pass  # preparing the store migrates it


def _run_uvicorn(
    arguments: argparse.Namespace,
    settings: Settings,
    certfile: Path | None,
    keyfile: Path | None,
) -> int:
    import uvicorn

    from switchvox_server.app import create_app
    from switchvox_server.http.connections import server_options
    from switchvox_server.logs import server_log_config

    uvicorn.run(
        create_app(settings),
        host=arguments.host,
        port=arguments.port,
        ssl_certfile=None if certfile is None else str(certfile),
        ssl_keyfile=None if keyfile is None else str(keyfile),
        log_config=server_log_config(),
        # The server's own access log says more (method, outcome, row counts) in one line.
        access_log=False,
        **server_options(settings),
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
        # A bare GET of /xml only asks for credentials; a signed-in POST shows an answer.
        f"Trust it in a client, e.g.: curl --cacert {certfile} "
        f"https://{shown_host}:{arguments.port}/xml --digest -u admin "
        f"--data '<request method=\"switchvox.extensions.search\"/>'",
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
