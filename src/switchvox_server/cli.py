"""The `switchvox-server` command: serve the API, migrate the store, manage admin accounts
and templates, import and export extensions."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import shutil
import signal
import ssl
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError

from switchvox_server import __version__
from switchvox_server.faults import ConfigurationError
from switchvox_server.settings import Settings
from switchvox_server.store.models import AccessLevel, ExtensionType, VoicemailPinRule

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from switchvox_server.bulk.report import BulkReport
    from switchvox_server.faults import ApiError
    from switchvox_server.methods.bulk_upload import UploadParameters

PROG = "switchvox-server"
# AdminAccount.name is a String(64).
MAX_ADMIN_NAME_LENGTH = 64
# Listening on these means "every address": they are no name a client could verify.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}
# `import` exit status when the upload ran but some of its rows failed.
ROWS_FAILED = 3
_DUPE_PROCESSES = ("skip", "replace", "update")  # dupe_process 1, 2, 3
_IMPORT_EPILOG = """\
The upload runs exactly as switchvox.extensions.phones.bulk.upload does over the API: the
same checks, faults, row rules and report, in one transaction.

exit status:
  0  every row was created, replaced, updated or skipped
  3  the upload ran, but some rows failed (the create_failed section); the others were
     stored, unless --report-only
  1  a method fault (such as 94772 for a file that is not a bulk upload CSV): nothing was
     written; the fault is shown as "switchvox-server: <code> <message>" on stderr
  2  a usage error
"""


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
    except BrokenPipeError:
        # The reader went away (`export | head`): stop quietly, as other tools do, and keep
        # Python from complaining again when it flushes stdout at exit.
        _silence_stdout()
        return 1


def _fail(message: str, *, status: int = 1) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return status


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

    _add_import_parser(commands)
    _add_export_parser(commands)
    _add_templates_parser(commands)
    return parser


def _add_import_parser(commands: Any) -> None:
    command = commands.add_parser(
        "import",
        help="upload a bulk extension CSV, as the API's bulk upload does",
        description="Upload a bulk extension CSV file to the store. When stderr is a"
        " terminal, a long upload shows its progress there.",
        epilog=_IMPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("file", metavar="FILE", help="the CSV file; - reads standard input")
    command.add_argument(
        "--type",
        dest="extension_type",
        required=True,
        choices=[kind.value for kind in ExtensionType],
        help="the type of the extensions the file creates",
    )
    command.add_argument(
        "--dupe",
        required=True,
        choices=_DUPE_PROCESSES,
        help="what a row does to an extension that exists: skip it, replace it as if new,"
        " or update the fields its non-empty cells give",
    )
    command.add_argument(
        "--template", required=True, metavar="ID", help="the id of the template new rows take"
    )
    command.add_argument(
        "--report-only", action="store_true", help="report what would happen; change nothing"
    )
    command.add_argument(
        "--format",
        choices=("text", "xml", "json"),
        default="text",
        help="text: a summary and one line per failed row (default); xml, json: the API's"
        " response envelope",
    )
    command.set_defaults(run=_import)


def _add_export_parser(commands: Any) -> None:
    command = commands.add_parser(
        "export",
        help="write the stored extensions as a bulk upload CSV",
        description="Write the stored extensions as a bulk upload CSV (UTF-8 with a byte"
        " order mark, CRLF), by number. The password columns are empty: imported with"
        " --dupe update, the file keeps every stored secret. Cells a spreadsheet would run"
        " as formulas start with a quote, which the import removes.",
    )
    command.add_argument(
        "--type",
        dest="extension_type",
        choices=[kind.value for kind in ExtensionType],
        help="only extensions of this type (default: all)",
    )
    command.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="FILE",
        help="write to FILE (replaced when complete, readable by its owner only)"
        " instead of standard output",
    )
    command.set_defaults(run=_export)


def _add_templates_parser(commands: Any) -> None:
    templates = commands.add_parser("templates", help="manage extension templates")
    actions = templates.add_subparsers(required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="show every template with its defaults")
    listing.set_defaults(run=_templates_list)
    show = actions.add_parser("show", help="show one template's defaults")
    show.add_argument("id", type=int, metavar="ID")
    show.set_defaults(run=_templates_show)
    add = actions.add_parser("add", help="create a template and print its id")
    add.add_argument("name", metavar="NAME", help="a name no other template has")
    add.add_argument("--title", help="the title new extensions take (default: empty)")
    add.add_argument("--location", help="the location new extensions take (default: empty)")
    add.add_argument("--lang-locale", metavar="X", help="the language (default: en_us)")
    add.add_argument("--status", metavar="S", help="the status (default: 1)")
    add.add_argument(
        "--no-dial-from-ivr",
        dest="can_dial_from_ivr",
        action="store_const",
        const=False,
        help="new extensions cannot be dialled from the IVR",
    )
    add.add_argument(
        "--no-voicemail",
        dest="voicemail_enabled",
        action="store_const",
        const=False,
        help="new extensions have no voicemail",
    )
    add.add_argument(
        "--voicemail-pin-rule",
        choices=[rule.value for rule in VoicemailPinRule],
        help="the PIN of a row without one: the extension number (default), required in"
        " the row, or none",
    )
    add.set_defaults(run=_templates_add)


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


# --- import ----------------------------------------------------------------------------


def _import(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.app import prepare_database
    from switchvox_server.bulk.report import Section
    from switchvox_server.bulk.upload import DupeProcess
    from switchvox_server.faults import ApiError
    from switchvox_server.methods.bulk_upload import UploadParameters, run_bulk_upload

    parameters = UploadParameters(
        extension_type=ExtensionType(arguments.extension_type),
        dupe_process=DupeProcess(_DUPE_PROCESSES.index(arguments.dupe) + 1),
        template_id=arguments.template.strip(),
        report_only=arguments.report_only,
    )
    with _upload_file(arguments.file) as source:
        database, secret_key = prepare_database(settings)
        try:
            with _progress(source) as upload:
                report = run_bulk_upload(database, settings, secret_key, upload, parameters)
        except ApiError as error:
            return _import_fault(error, arguments.format)
        finally:
            database.dispose()
    with closing(report):
        if arguments.format == "text":
            _print_report(report, parameters)
        else:
            _write_envelope(arguments.format, report)
        failed = report.count(Section.CREATE_FAILED)
    return ROWS_FAILED if failed else 0


@contextmanager
def _upload_file(name: str) -> Iterator[IO[bytes]]:
    """The file to upload, seekable as the CSV reader needs: a pipe is spooled first."""
    with ExitStack() as stack:
        if name == "-":
            source: IO[bytes] = sys.stdin.buffer
        else:
            try:
                source = stack.enter_context(open(name, "rb"))
            except OSError as error:
                raise CommandError(f"cannot read {name}: {error.strerror}") from None
        if not source.seekable():
            spool = stack.enter_context(tempfile.TemporaryFile())
            shutil.copyfileobj(source, spool)
            spool.seek(0)
            source = spool
        yield source


@contextmanager
def _progress(source: IO[bytes]) -> Iterator[IO[bytes]]:
    """`source`, wrapped to draw a progress bar on stderr when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield source
        return
    from switchvox_server.bulk.progress import ProgressReader, TerminalBar

    size = source.seek(0, os.SEEK_END)
    source.seek(0)
    reader = ProgressReader(source, size, TerminalBar(sys.stderr))
    try:
        yield reader
    finally:
        # Ends the bar's line, so whatever is printed next starts on a line of its own.
        reader.finish()


def _import_fault(error: ApiError, output_format: str) -> int:
    if output_format != "text":
        # A script reading the envelope gets the API's fault response, as it would by HTTP.
        _write_envelope(output_format, None, error)
    return _fail("; ".join(f"{entry.code} {entry.message}" for entry in error.errors))


def _write_envelope(
    output_format: str, report: BulkReport | None, error: ApiError | None = None
) -> None:
    from switchvox_server.methods.bulk_upload import METHOD
    from switchvox_server.protocol import json_envelope, xml_envelope

    render = (
        xml_envelope.render_response if output_format == "xml" else json_envelope.render_response
    )
    result = None if report is None else report.to_element()
    errors = () if error is None else error.errors
    sys.stdout.flush()
    out = sys.stdout.buffer
    for chunk in render(METHOD, result, errors):
        out.write(chunk)
    out.write(b"\n")  # the envelope, byte for byte, then the end of the line
    out.flush()


def _print_report(report: BulkReport, parameters: UploadParameters) -> None:
    from switchvox_server.bulk.report import Section

    # The report never holds a password; the extension cell is shown as written, escaped
    # when it would not print plainly (it may be anything in a failed row).
    for number, _first, _last, _email, errors in report.sections[Section.CREATE_FAILED].rows():
        print(f"extension {_shown(number)}: {'; '.join(errors)}")
    dupe = _DUPE_PROCESSES[parameters.dupe_process - 1]
    print(
        f"{report.extension_type.display} upload, dupe process {int(parameters.dupe_process)}"
        f" ({dupe}): {report.total} rows"
    )
    for section in Section:
        print(f"  {section.value:<15}{report.count(section)}")
    if parameters.report_only:
        print("Report only: nothing was changed.")


def _shown(cell: str) -> str:
    if cell and cell.isprintable() and not any(character.isspace() for character in cell):
        return cell
    return repr(cell)


# --- export ----------------------------------------------------------------------------


def _export(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.app import prepare_database

    extension_type = (
        None if arguments.extension_type is None else ExtensionType(arguments.extension_type)
    )
    output: Path | None = arguments.output
    database, _ = prepare_database(settings)
    try:
        with database.sessions.begin() as session:
            if output is None:
                from switchvox_server.bulk.export import write_export

                sys.stdout.flush()
                write_export(session, sys.stdout.buffer, extension_type)
                sys.stdout.buffer.flush()
                return 0
            count = _export_to_file(session, output, extension_type)
    finally:
        database.dispose()
    print(f"Exported {count} extension{'' if count == 1 else 's'} to {output}.")
    return 0


def _export_to_file(session: Session, path: Path, extension_type: ExtensionType | None) -> int:
    """Write the export beside `path` and move it into place once complete, so a failed
    export never leaves a truncated file that could be imported by mistake."""
    from switchvox_server.bulk.export import write_export

    try:
        # mkstemp's owner-only mode suits a file of names and email addresses.
        handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            count = write_export(session, out, extension_type)
        os.replace(partial, path)
    except OSError as error:
        Path(partial).unlink(missing_ok=True)
        raise CommandError(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return count


# --- templates -------------------------------------------------------------------------

# Option names of the template settings, for messages.
_TEMPLATE_OPTIONS = {
    "title": "--title",
    "location": "--location",
    "lang_locale": "--lang-locale",
    "status": "--status",
    "can_dial_from_ivr": "--no-dial-from-ivr",
    "voicemail_enabled": "--no-voicemail",
    "voicemail_pin_rule": "--voicemail-pin-rule",
}


def _templates_list(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.app import prepare_database
    from switchvox_server.store.templates import SETTINGS, list_templates

    database, _ = prepare_database(settings)
    try:
        with database.sessions.begin() as session:
            templates = list_templates(session)
    finally:
        database.dispose()
    print("\t".join(("id", "name", *SETTINGS)))
    for template in templates:
        cells = [template["id"], template["name"], *(template[name] for name in SETTINGS)]
        print("\t".join(_setting_text(cell) for cell in cells))
    return 0


def _templates_show(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.app import prepare_database
    from switchvox_server.bulk.rules import usable_template
    from switchvox_server.store.queries import template_by_id
    from switchvox_server.store.templates import SETTINGS

    template_id: int = arguments.id
    database, _ = prepare_database(settings)
    try:
        with database.sessions.begin() as session:
            template = template_by_id(session, template_id)
    finally:
        database.dispose()
    if template is None:
        raise CommandError(f"no template with the id {template_id}")
    for name in ("id", "name", *SETTINGS):
        print(f"{name}: {_setting_text(template[name])}")
    if not usable_template(template):
        print(f"usable: no (uploads with this template answer fault {_unusable_code()})")
    return 0


def _templates_add(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.app import prepare_database
    from switchvox_server.store.templates import add_template, template_id_by_name

    name: str = arguments.name
    _check_template_name(name)
    values = _template_settings(arguments)
    database, _ = prepare_database(settings)
    try:
        with database.sessions.begin() as session:
            if template_id_by_name(session, name) is not None:
                raise CommandError(f"a template named {name!r} already exists")
            new_id = add_template(session, name, values)
    except IntegrityError:
        # Another process added the same name between our check and our commit.
        raise CommandError(f"a template named {name!r} already exists") from None
    finally:
        database.dispose()
    print(new_id)  # only the id, for scripts: id=$(switchvox-server templates add ...)
    return 0


def _template_settings(arguments: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line, checked as an upload would check them."""
    from switchvox_server.bulk.rules import CONTROL_CHARACTER, usable_template
    from switchvox_server.store.templates import TEXT_LIMITS, default_settings

    given = {
        name: value
        for name in _TEMPLATE_OPTIONS
        if (value := getattr(arguments, name, None)) is not None
    }
    defaults = default_settings() | {"id": 0, "name": arguments.name}
    # The defaults are usable, so trying each setting alone names the one at fault.
    for name, value in given.items():
        if not usable_template(defaults | {name: value}):
            raise CommandError(
                f"{_TEMPLATE_OPTIONS[name]}: uploads would refuse such a template with fault"
                f" {_unusable_code()} ({_TEMPLATE_LIMITS.get(name, 'the value is unusable')})"
            )
    if not usable_template(defaults | given):
        raise CommandError(f"uploads would refuse this template with fault {_unusable_code()}")
    for name, value in given.items():
        if not isinstance(value, str):
            continue
        # Column sizes, checked here so that PostgreSQL never refuses a long value.
        limit = TEXT_LIMITS[name]
        if len(value) > limit:
            raise CommandError(f"{_TEMPLATE_OPTIONS[name]} must be at most {limit} characters")
        if CONTROL_CHARACTER.search(value):
            raise CommandError(f"{_TEMPLATE_OPTIONS[name]} must not contain control characters")
    return given


_TEMPLATE_LIMITS = {
    "title": "it must be at most 64 characters, without control characters",
    "location": "it must be at most 64 characters, without control characters",
    "lang_locale": "it must not be empty",
    "status": "it must not be empty",
}


def _check_template_name(name: str) -> None:
    from switchvox_server.bulk.rules import CONTROL_CHARACTER
    from switchvox_server.store.templates import TEXT_LIMITS

    limit = TEXT_LIMITS["name"]
    if not name.strip():
        raise CommandError("a template name must not be empty")
    if len(name) > limit:
        raise CommandError(f"a template name must be at most {limit} characters")
    if name != name.strip() or CONTROL_CHARACTER.search(name):
        raise CommandError(
            "a template name must not contain control characters or start or end with spaces"
        )


def _setting_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _unusable_code() -> int:
    from switchvox_server.faults import FAULTS

    return FAULTS.UNUSABLE_TEMPLATE.code


if __name__ == "__main__":
    raise SystemExit(main())
