"""The `switchvox-server` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from switchvox_server import __version__
from switchvox_server.faults import ConfigurationError
from switchvox_server.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        settings = Settings.from_environ()
    except ConfigurationError as error:
        print(f"switchvox-server: {error}", file=sys.stderr)
        return 2
    command: int = arguments.run(arguments, settings)
    return command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchvox-server",
        description="A server for the Switchvox Extend API (bulk extension upload).",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="migrate the database, then serve the API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(run=_migrate)
    return parser


def _serve(arguments: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from switchvox_server.app import create_app

    uvicorn.run(create_app(settings), host=arguments.host, port=arguments.port)
    return 0


def _migrate(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.app import prepare_database

    database, _ = prepare_database(settings)
    database.dispose()
    print("The database schema is up to date.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
