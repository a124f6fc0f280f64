"""`imports list|show|undo|annotated`: the import history from the command line
(docs/history.md)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from switchvox_server.cli.common import CommandError, fail, prepared_database, record_id, say
from switchvox_server.faults import ApiError
from switchvox_server.settings import Settings

if TYPE_CHECKING:
    from switchvox_server.cli.common import Commands
    from switchvox_server.history.recorder import ImportSource
    from switchvox_server.history.records import RowRecord


def command_line_source(file_name: str = "") -> ImportSource:
    """Who the history names for a change made from this command line."""
    from switchvox_server.history.recorder import ImportSource

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this user id (a bare container)
        user = "unknown"
    return ImportSource(f"cli:{user}", "local", file_name)


def add_parser(commands: Commands) -> None:
    imports = commands.add_parser(
        "imports",
        help="the import history: list, show, undo, annotate",
        description="Every upload that writes, every report_only evaluation, every undo and"
        " every removal is recorded (docs/history.md).",
    )
    actions = imports.add_subparsers(required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the newest imports, newest first")
    listing.add_argument("--limit", type=record_id, default=50, metavar="N", help="at most N (50)")
    _format_option(listing)
    listing.set_defaults(run=_list)
    show = actions.add_parser("show", help="one import with its failed rows")
    show.add_argument("id", type=record_id, metavar="ID")
    _format_option(show, rows=" and every row")
    show.set_defaults(run=_show)
    undo = actions.add_parser(
        "undo",
        help="put every extension an import wrote back as it was",
        description="Put every extension the import wrote back as it was (created ones are"
        " removed). Refused when a later change touched some of them, unless --force.",
    )
    undo.add_argument("id", type=record_id, metavar="ID")
    undo.add_argument(
        "--force", action="store_true", help="put back the others and keep those changed later"
    )
    undo.set_defaults(run=_undo)
    annotated = actions.add_parser(
        "annotated",
        help="the import's file with a result and an errors column",
        description="Write the import's file with two more columns, result and errors. The"
        " file itself is not kept (it holds passwords): give it again; it must be the very"
        " file of the import.",
    )
    annotated.add_argument("id", type=record_id, metavar="ID")
    annotated.add_argument("file", type=Path, metavar="FILE", help="the file that was uploaded")
    annotated.add_argument(
        "--output", "-o", type=Path, metavar="OUT", help="write to OUT, not standard output"
    )
    annotated.set_defaults(run=_annotated)


def _format_option(parser: argparse.ArgumentParser, rows: str = "") -> None:
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help=f"text (default), or json: each import an object{rows}",
    )


def _list(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.history.views import list_imports

    with prepared_database(settings) as (database, _):
        imports = list_imports(database, max(1, arguments.limit))
    if arguments.format == "json":
        _print_json(imports)
        return 0
    say("\t".join(("id", "kind", "created_at", "caller", "file", "sha256", "counts", "undone_by")))
    for item in imports:
        cells = (
            item["id"],
            item["kind"],
            item["created_at"],
            item["caller"],
            item["file_name"] or "-",
            item["sha256"][:12] or "-",
            _counts(item["counts"]),
            item["undone_by"] or "-",
        )
        say("\t".join(str(cell) for cell in cells))
    return 0


def _show(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.cli.transfer import failure_lines
    from switchvox_server.history.views import row_records, row_view, summary

    stored = _stored_import(arguments.id, settings)
    item = summary(stored)
    if arguments.format == "json":
        _print_json(item | {"rows": [row_view(record) for record in row_records(stored)]})
        return 0
    for name in ("id", "kind", "created_at", "caller", "address", "file_name", "file_size"):
        say(f"{name}: {item[name]}")
    say(f"sha256: {item['sha256']}")
    say(f"options: {', '.join(f'{k}={v}' for k, v in item['options'].items())}")
    say(f"counts: {_counts(item['counts'])}")
    for name in ("undoes", "undone_by"):
        if item[name] is not None:
            say(f"{name}: {item[name]}")
    for note in item["notes"]:
        say(f"note: {note}")
    for line in failure_lines(_failed(row_records(stored))):
        say(line)
    return 0


def _stored_import(import_id: int, settings: Settings) -> dict[str, Any]:
    """The whole stored import; a command error when there is none with that id."""
    from switchvox_server.history.views import load_import

    with prepared_database(settings) as (database, _):
        stored = load_import(database, import_id)
    if stored is None:
        raise CommandError(f"no import with the id {import_id}")
    return stored


def _failed(records: Iterator[RowRecord]) -> Iterator[tuple[str, tuple[str, ...]]]:
    for _row, line, _section, number, errors in records:
        if errors:
            yield (f"line {line}, extension {number}" if line else f"extension {number}"), errors


def _undo(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.history.changes import undo

    try:
        with prepared_database(settings) as (database, _):
            outcome = undo(database, arguments.id, command_line_source(), force=arguments.force)
    except ApiError as error:
        return fail("; ".join(f"{entry.code} {entry.message}" for entry in error.errors))
    say(f"Undid import {arguments.id} as import {outcome.import_id}: {_counts(outcome.counts)}")
    if outcome.kept:
        say(f"Kept (changed later): {', '.join(outcome.kept)}")
    return 0


def _annotated(arguments: argparse.Namespace, settings: Settings) -> int:
    from switchvox_server.bulk.csv_reader import CsvFormatError
    from switchvox_server.history.annotate import write_annotated
    from switchvox_server.history.recorder import FileDigest
    from switchvox_server.history.views import row_records

    stored = _stored_import(arguments.id, settings)
    try:
        source = arguments.file.open("rb")
    except OSError as error:
        raise CommandError(f"cannot read {arguments.file}: {error.strerror}") from None
    with source:
        if FileDigest.of(source).sha256 != stored["file_sha256"]:
            raise CommandError(f"{arguments.file} is not the file of import {arguments.id}")
        output: Path | None = arguments.output
        try:
            if output is None:
                sys.stdout.flush()
                write_annotated(source, row_records(stored), sys.stdout.buffer)
                sys.stdout.buffer.flush()
            else:
                with output.open("wb") as out:
                    write_annotated(source, row_records(stored), out)
        except CsvFormatError as error:
            raise CommandError(f"{arguments.file}: {error}") from None
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
    return 0


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in counts.items() if count) or "nothing"


def _print_json(value: object) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    say("")
