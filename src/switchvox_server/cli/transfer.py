"""`import` and `export`: extensions in and out as bulk upload CSV files, with a progress bar
on a terminal."""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from switchvox_server.cli.common import (
    CommandError,
    fail,
    prepared_database,
    say,
    standard_output,
)
from switchvox_server.faults import ApiError
from switchvox_server.settings import Settings
from switchvox_server.store.models import ExtensionType

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from switchvox_server.bulk.pipeline import UploadParameters
    from switchvox_server.bulk.report import BulkReport
    from switchvox_server.cli.common import Commands
    from switchvox_server.history.recorder import Recording

# `import` exit status when the upload ran but some of its rows failed.
ROWS_FAILED = 3
# From this many failed rows on, rows with the same messages are shown as one group.
GROUP_FAILURES_FROM = 20
# Rows a group names before it counts the rest.
GROUP_NAMES = 5
_DUPE_PROCESSES = ("skip", "replace", "update")  # dupe_process 1, 2, 3
# What an output path may be instead of a regular file, for the message that refuses it.
_NOT_REGULAR: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)
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


def add_parser(commands: Commands) -> None:
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
        default=ExtensionType.SIP.value,
        choices=[kind.value for kind in ExtensionType],
        help="the type of the extensions the file creates (default: sip)",
    )
    command.add_argument(
        "--dupe",
        required=True,
        choices=_DUPE_PROCESSES,
        help="what a row does to an extension that exists: skip it, replace it as if new,"
        " or update the fields its non-empty cells give",
    )
    command.add_argument(
        "--template",
        default="1",
        metavar="ID",
        help="the id of the template new rows take (default: 1)",
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
    command.add_argument(
        "--plan",
        metavar="TOKEN",
        help="apply only if nothing changed since the --report-only run that printed TOKEN",
    )
    command.add_argument(
        "--annotated",
        type=Path,
        metavar="OUT",
        help="also write the file with a result and an errors column to OUT (with"
        " --report-only too): fix the failed rows there and import it again",
    )
    command.set_defaults(run=_import)

    command = commands.add_parser(
        "export",
        help="write the stored extensions as an edit-and-update CSV (not a backup)",
        description="Write the stored extensions as an edit-and-update file: a bulk upload"
        " CSV (UTF-8 with a byte order mark, CRLF), by number, to change and import with"
        " --dupe update. It holds no secret, by design: the password columns are empty, and"
        " the update keeps every stored secret. It is no backup: the state dump"
        " (switchvox-server state dump) is what restores a system. Cells a spreadsheet would"
        " run as formulas start with a quote, which the import removes.",
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
        help="write to FILE instead of standard output: a new file, or a regular file"
        " replaced once the export is complete (never a symbolic link, a FIFO or a"
        " device); readable by its owner only",
    )
    command.set_defaults(run=_export)


# --- import ----------------------------------------------------------------------------


def _import(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.bulk.pipeline import UploadParameters, run_bulk_upload
    from switchvox_server.bulk.report import Section
    from switchvox_server.bulk.upload import DupeProcess
    from switchvox_server.cli.imports import command_line_source
    from switchvox_server.history.recorder import FileDigest, Recording

    parameters = UploadParameters(
        extension_type=ExtensionType(arguments.extension_type),
        dupe_process=DupeProcess(_DUPE_PROCESSES.index(arguments.dupe) + 1),
        template_id=arguments.template.strip(),
        report_only=arguments.report_only,
        plan=arguments.plan,
    )
    recording = Recording(command_line_source(arguments.file))
    with _upload_file(arguments.file) as source:
        # Read here, so that the progress bar shows the passes of the upload only.
        recording.digest = FileDigest.of(source)
        phase = "checking" if parameters.report_only else "importing"
        try:
            with (
                prepared_database(settings) as (database, secret_key),
                _progress(source, phase, recording) as upload,
            ):
                report = run_bulk_upload(
                    database, settings, secret_key, upload, parameters, recording=recording
                )
        except ApiError as error:
            return _import_fault(error, arguments.format)
        if arguments.annotated is not None:
            _write_annotated_copy(source, recording, arguments.annotated)
    for note in recording.notes:
        print(f"note: {note}", file=sys.stderr)
    with closing(report):
        if arguments.format == "text":
            _print_report(report, parameters, recording)
        else:
            _write_envelope(arguments.format, report)
        failed = report.count(Section.CREATE_FAILED)
    return ROWS_FAILED if failed else 0


def _write_annotated_copy(source: IO[bytes], recording: Recording, path: Path) -> None:
    from switchvox_server.history.annotate import write_annotated
    from switchvox_server.history.records import read_blob

    if recording.rows is None:
        raise CommandError("--annotated needs the import history (SWITCHVOX_HISTORY)")
    try:
        with path.open("wb") as out:
            write_annotated(source, read_blob(recording.rows), out)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror}") from None


@contextmanager
def _upload_file(name: str) -> Iterator[IO[bytes]]:
    """The file to upload, seekable as the CSV reader needs: a pipe is spooled first."""
    shown = "standard input" if name == "-" else name
    with ExitStack() as stack:
        if name != "-":
            try:
                source: IO[bytes] = stack.enter_context(open(name, "rb"))
            except OSError as error:
                raise CommandError(f"cannot read {name}: {error.strerror}") from None
        elif sys.stdin is None:
            raise CommandError("standard input is closed")
        else:
            source = sys.stdin.buffer
        if not source.seekable():
            try:
                spool = stack.enter_context(tempfile.TemporaryFile())
                shutil.copyfileobj(source, spool)
            except OSError as error:
                raise CommandError(
                    f"cannot copy {shown} to a temporary file: {error.strerror}"
                ) from None
            spool.seek(0)
            source = spool
        yield source


@contextmanager
def _progress(source: IO[bytes], phase: str, recording: Recording) -> Iterator[IO[bytes]]:
    """`source`, wrapped to draw a progress bar on stderr when stderr is a terminal: the
    file checked first, then the pass over the rows as `phase`, counting the rows checked
    as the history's recorder tells them."""
    if not sys.stderr.isatty():
        yield source
        return
    from switchvox_server.bulk.progress import ProgressReader, TerminalBar

    size = source.seek(0, os.SEEK_END)
    source.seek(0)
    reader = ProgressReader(source, size, TerminalBar(sys.stderr))

    def rows_checked(rows: int) -> None:
        reader.progress.rows = rows

    recording.rows_begin = lambda: reader.begin(phase)
    recording.rows_checked = rows_checked
    try:
        yield reader
    finally:
        # Ends the bar's line, so whatever is printed next starts on a line of its own.
        reader.finish()


def _import_fault(error: ApiError, output_format: str) -> int:
    if output_format != "text":
        # A script reading the envelope gets the API's fault response, as it would by HTTP.
        _write_envelope(output_format, None, error)
    status = fail("; ".join(f"{entry.code} {entry.message}" for entry in error.errors))
    if error.detail is not None:
        print(f"cause: {error.detail}", file=sys.stderr)
    return status


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
    with standard_output() as out:
        for chunk in render(METHOD, result, errors):
            out.write(chunk)
        out.write(b"\n")  # the envelope, byte for byte, then the end of the line


def _print_report(report: BulkReport, parameters: UploadParameters, recording: Recording) -> None:
    from switchvox_server.bulk.report import Section

    for line in failure_lines(_failures(report, recording)):
        say(line)
    dupe = _DUPE_PROCESSES[parameters.dupe_process - 1]
    say(
        f"{report.extension_type.display} upload, dupe process {int(parameters.dupe_process)}"
        f" ({dupe}): {report.total} {'row' if report.total == 1 else 'rows'}"
    )
    for section in Section:
        say(f"  {section.value:<15}{report.count(section)}")
        if section is Section.UPDATED and recording.unchanged:
            say(f"    {'unchanged':<13}{recording.unchanged}")
    if recording.import_id is not None:
        kind = "evaluation" if parameters.report_only else "import"
        say(f"Recorded as {kind} {recording.import_id} (switchvox-server imports show ID).")
    if parameters.report_only:
        say("Report only: nothing was changed.")
        if recording.plan_token is not None:
            say(f"Plan: {recording.plan_token} (apply it with --plan)")


def _failures(report: BulkReport, recording: Recording) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(where, errors) of each failed row: by file line and extension when the history
    recorded the lines, else by extension."""
    from switchvox_server.bulk.report import Section
    from switchvox_server.history.records import read_blob

    failed = Section.CREATE_FAILED.value
    if recording.rows is not None:
        for _row, line, section, number, errors in read_blob(recording.rows):
            if section == failed:
                yield f"line {line}, extension {_shown(number)}", errors
        return
    for number, _first, _last, _email, errors in report.sections[Section.CREATE_FAILED].rows():
        yield f"extension {_shown(number)}", errors


def failure_lines(failures: Iterator[tuple[str, tuple[str, ...]]]) -> Iterator[str]:
    """One line per failed row; when there are many, one line per distinct set of
    messages with how many rows have it and the first of them."""
    # The report never holds a password; the extension cell is shown as written, escaped
    # when it would not print plainly (it may be anything in a failed row).
    rows = list(failures)
    if len(rows) < GROUP_FAILURES_FROM:
        # Each message is a full sentence, so they read well side by side.
        yield from (f"{where}: {' '.join(errors)}" for where, errors in rows)
        return
    groups: dict[tuple[str, ...], list[str]] = {}
    for where, errors in rows:
        groups.setdefault(errors, []).append(where)
    for errors, places in sorted(groups.items(), key=lambda group: -len(group[1])):
        shown = "; ".join(places[:GROUP_NAMES])
        more = len(places) - GROUP_NAMES
        rest = f"; and {more} more" if more > 0 else ""
        count = f"{len(places)} row{'' if len(places) == 1 else 's'}"
        yield f"{count}: {' '.join(errors)} ({shown}{rest})"


def _shown(cell: str) -> str:
    if cell and cell.isprintable() and not any(character.isspace() for character in cell):
        return cell
    return repr(cell)


# --- export ----------------------------------------------------------------------------


def _export(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.bulk.export import write_export

    extension_type = (
        None if arguments.extension_type is None else ExtensionType(arguments.extension_type)
    )
    output: Path | None = arguments.output
    if output is not None:
        _refuse_to_replace(output)  # before any work, and again before the file is moved
    with prepared_database(settings) as (database, _), database.sessions.begin() as session:
        # A bar on the terminal, unless the CSV itself is going to that terminal.
        show_bar = sys.stderr.isatty() and (output is not None or not sys.stdout.isatty())
        with _export_progress(session, extension_type, show_bar) as written:
            if output is None:
                with standard_output() as out:
                    write_export(session, out, extension_type, written)
                return 0
            count = _export_to_file(session, output, extension_type, written)
    say(f"Exported {count} extension{'' if count == 1 else 's'} to {output}.")
    return 0


@contextmanager
def _export_progress(
    session: Session, extension_type: ExtensionType | None, show: bool
) -> Iterator[Callable[[int], None] | None]:
    """What write_export tells how far it has come: a bar on stderr, or nothing."""
    if not show:
        yield None
        return
    from switchvox_server.bulk.progress import RowCounter, TerminalBar
    from switchvox_server.store.exports import count_extensions

    counter = RowCounter(
        count_extensions(session, extension_type), TerminalBar(sys.stderr), phase="exporting"
    )
    try:
        yield counter
    finally:
        counter(counter.progress.total)
        counter.finish()


def _export_to_file(
    session: Session,
    path: Path,
    extension_type: ExtensionType | None,
    written: Callable[[int], None] | None,
) -> int:
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
            count = write_export(session, out, extension_type, written)
            out.flush()
            os.fsync(out.fileno())  # the content is on disk before the name points at it
        _refuse_to_replace(path)  # again: something may have taken the name meanwhile
        os.replace(partial, path)
    except OSError as error:
        Path(partial).unlink(missing_ok=True)
        raise CommandError(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return count


def _refuse_to_replace(path: Path) -> None:
    """Refuse an output path that names anything but a regular file or nothing: replacing
    a symbolic link, a FIFO or a device with a file would silently break what it was for."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _NOT_REGULAR if test(mode)), "not a regular file")
        raise CommandError(
            f"will not replace {path}: it is {kind} (--output writes a new or a regular file)"
        )
