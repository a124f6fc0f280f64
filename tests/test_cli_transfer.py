"""`switchvox-server import`: the API's bulk upload from the command line, and its progress bar."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from switchvox_server.app import prepare_database
from switchvox_server.bulk.pipeline import UploadParameters, run_bulk_upload
from switchvox_server.bulk.progress import Progress, ProgressReader, TerminalBar
from switchvox_server.bulk.upload import DupeProcess
from switchvox_server.cli import main
from switchvox_server.cli.imports import command_line_source
from switchvox_server.history.recorder import Recording
from switchvox_server.settings import Settings
from switchvox_server.store.models import ExtensionType
from tests.conftest import FIXTURES
from tests.helpers import BULK_UPLOAD, FakeClock, request_xml, stored_extensions

EXAMPLE = FIXTURES / "example.csv"
EXAMPLE_FAILURES = (
    "line 2, extension 301: Phone password is required to create a sip extension.\n"
    "line 5, extension 304: First name is required and must be 1 - 32 characters in length."
    " Phone password cannot be the same as the extension.\n"
)
OPTIONS = ["--type", "sip", "--dupe", "skip", "--template", "1"]
IMPORT = ["import", str(EXAMPLE), *OPTIONS]


# Each command sees the test database and the test admin password, nothing else.
pytestmark = pytest.mark.usefixtures("cli_environment")


def api_upload(client: TestClient, path: str, csv: bytes, **parameters: object) -> bytes:
    """The raw body the API answers for a multipart upload to /xml or /json."""
    values: dict[str, object] = {"extension_type": "sip", "dupe_process": 1}
    values.update(template_account_id=1, **parameters)
    if path == "/xml":
        envelope = request_xml(BULK_UPLOAD, **values).decode()
    else:
        envelope = json.dumps({"request": {"method": BULK_UPLOAD, "parameters": values}})
    response = client.post(
        path, data={"request": envelope}, files={"csv_file": ("x.csv", csv, "text/csv")}
    )
    assert response.status_code == 200, response.text
    return response.content


# --- output formats --------------------------------------------------------------------


def test_import_text_lists_failed_rows_then_the_counts(
    capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    """The text report names each failed row by file line and extension with its errors,
    then counts every section and names the import it was recorded as; some rows failing
    is exit status 3 and the valid rows are stored."""
    assert main(IMPORT) == 3
    out, err = capsys.readouterr()
    assert out == EXAMPLE_FAILURES + (
        "SIP Extension upload, dupe process 1 (skip): 5 rows\n"
        "  create_failed  2\n"
        "  created        3\n"
        "  replaced       0\n"
        "  updated        0\n"
        "  skipped        0\n"
        "Recorded as import 1 (switchvox-server imports show ID).\n"
    )
    assert err == ""  # no progress bar without a terminal
    assert "webpass" not in out
    assert "sipsecret" not in out
    assert list(stored_extensions(database_url)) == ["302", "303", "305"]


def test_import_without_failures_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file whose every row is stored (or skipped) is exit status 0."""
    path = tmp_path / "ok.csv"
    path.write_text(
        "ext,fname,lname,email,password,phone_password\n401,Ada,Lovelace,ada@x.org,pw401x,s401\n"
    )
    assert main(["import", str(path), *OPTIONS]) == 0
    assert main(["import", str(path), *OPTIONS]) == 0
    out = capsys.readouterr().out
    assert "  created        1\n" in out
    assert "  skipped        1\n" in out


@pytest.mark.parametrize("path", ["/xml", "/json"])
def test_import_envelope_is_the_api_response(
    path: str, client: TestClient, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """`--format xml|json` prints the API's response body byte for byte, then a newline."""
    csv = EXAMPLE.read_bytes()
    expected = api_upload(client, path, csv, report_only=1)
    assert main([*IMPORT, "--report-only", "--format", path[1:]]) == 3
    out = capsysbinary.readouterr().out
    assert out == expected + b"\n"


@pytest.mark.parametrize("output_format", ["text", "xml", "json"])
def test_import_never_echoes_a_ragged_rows_cells(
    output_format: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ragged row whose password slid into the email column is shown by its number only,
    in every output format."""
    path = tmp_path / "ragged.csv"
    path.write_text(
        "ext,fname,lname,email,password,phone_password\n401,Lovelace,Hunter2secret,s401\n"
    )
    assert main(["import", str(path), *OPTIONS, "--format", output_format]) == 3
    out = capsys.readouterr().out
    assert "401" in out
    assert "Hunter2secret" not in out
    assert "Lovelace" not in out


def test_import_report_only_changes_nothing(
    capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    """`--report-only` prints the report a real upload would give, and stores nothing."""
    assert main([*IMPORT, "--report-only"]) == 3
    out = capsys.readouterr().out
    assert "  created        3\n" in out
    assert "Report only: nothing was changed.\nPlan: p1." in out
    assert list(stored_extensions(database_url)) == []


def test_import_of_a_refused_file_is_a_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    """A file that is no bulk upload CSV gives fault 94772 on stderr, exit 1, nothing stored."""
    path = tmp_path / "picture.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert main(["import", str(path), *OPTIONS]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("switchvox-server: 94772 Your CSV file is not in the correct format.")
    assert list(stored_extensions(database_url)) == []


def test_import_fault_in_xml_prints_the_fault_envelope(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With `--format xml` a fault is also the API's fault envelope on stdout."""
    arguments = ["import", str(EXAMPLE), "--type", "sip", "--dupe", "update"]
    assert main([*arguments, "--template", "42", "--format", "xml"]) == 1
    out, err = capsys.readouterr()
    assert out == (
        f'<response method="{BULK_UPLOAD}"><errors>'
        '<error code="86173" message="Invalid template account ID (42)"/>'
        "</errors></response>\n"
    )
    assert err == "switchvox-server: 86173 Invalid template account ID (42)\n"


def test_import_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    """`-` reads the file from standard input."""
    stdin = io.TextIOWrapper(io.BytesIO(EXAMPLE.read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["import", "-", *OPTIONS]) == 3
    assert list(stored_extensions(database_url)) == ["302", "303", "305"]


def test_import_of_a_missing_file_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """A file that cannot be opened is a one-line message and exit 1."""
    assert main(["import", "no-such.csv", *OPTIONS])
    assert capsys.readouterr().err == (
        "switchvox-server: cannot read no-such.csv: No such file or directory\n"
    )


def test_import_options_are_checked_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --type or --dupe is a usage error (status 2) naming the choices."""
    with pytest.raises(SystemExit) as wrong:
        main(["import", str(EXAMPLE), "--type", "iax", "--dupe", "skip", "--template", "1"])
    assert wrong.value.code == 2
    assert "invalid choice: 'iax'" in capsys.readouterr().err


# --- progress --------------------------------------------------------------------------


def test_progress_reader_shows_the_pass_it_is_told() -> None:
    """Reads are "checking" until the pipeline begins the pass over the rows; from then on
    the bar shows that pass, with its lines only, whatever seeks came before."""
    clock = FakeClock()
    seen: list[tuple[str, float, int, bool]] = []

    def record(progress: Progress, final: bool) -> None:
        seen.append((progress.phase, progress.fraction, progress.lines, final))

    data = b"ext\r\n301\r\n302\r\n"
    reader = ProgressReader(io.BytesIO(data), len(data), record, clock=clock)
    assert reader.read() == data
    reader.seek(0)
    clock.now = 0.5
    assert reader.read(5) == b"ext\r\n"  # a glance at the header: still checking
    reader.seek(0)
    reader.begin("importing")
    clock.now = 1.0
    assert reader.read(5) == b"ext\r\n"
    clock.now = 1.05  # within the refresh interval: not shown
    buffer = bytearray(100)
    assert reader.readinto(buffer) == len(data) - 5
    reader.finish()
    assert seen == [
        ("checking", 1.0, 3, False),
        ("checking", 5 / len(data), 1, False),
        ("importing", 5 / len(data), 1, False),
        ("importing", 1.0, 3, True),
    ]


@pytest.mark.parametrize("history", [True, False], ids=["history", "no_history"])
def test_the_upload_begins_the_pass_over_the_rows_once_the_file_is_checked(
    settings: Settings, history: bool
) -> None:
    """Through the upload pipeline the reader is "checking" until the whole file has been
    read once, then "importing" from its first line to its last, each line counted once,
    with or without the import history."""
    csv = b"ext,fname,lname\n" + b"".join(b"%d,Ann,Lee\n" % n for n in range(301, 341))
    seen: list[tuple[str, int, int]] = []
    reader = ProgressReader(
        io.BytesIO(csv),
        len(csv),
        lambda progress, final: seen.append((progress.phase, progress.position, progress.lines)),
        refresh_seconds=0,
    )
    recording = Recording(command_line_source("staff.csv"))
    recording.rows_begin = lambda: reader.begin("importing")
    settings = replace(settings, history=history)
    database, secret_key = prepare_database(settings)
    parameters = UploadParameters(ExtensionType.SIP, DupeProcess.SKIP, "1", report_only=False)
    try:
        run_bulk_upload(
            database, settings, secret_key, reader, parameters, recording=recording
        ).close()
    finally:
        database.dispose()
    first_import = next(n for n, (phase, _, _) in enumerate(seen) if phase == "importing")
    assert ("checking", len(csv), 41) in seen[:first_import]
    assert {phase for phase, _, _ in seen[first_import:]} == {"importing"}
    assert seen[-1] == ("importing", len(csv), 41)


def test_terminal_bar_waits_then_draws_in_place() -> None:
    """Nothing is drawn before the delay; then each update rewrites the line with the
    elapsed time and an estimate of the rest, and the final one ends it; a short upload
    draws nothing at all."""
    clock = FakeClock()
    stream = io.StringIO()
    bar = TerminalBar(stream, delay=0.5, clock=clock)
    progress = Progress(total=200, phase="importing", position=50, lines=10)
    bar(progress, False)
    assert stream.getvalue() == ""
    clock.now = 2.0
    bar(progress, False)
    progress.position, progress.lines = 200, 40
    bar(progress, True)
    assert stream.getvalue() == (
        "\rimporting  25%  10 lines  5 lines/s  0:02, about 0:06 left"
        "\rimporting 100%  40 lines  20 lines/s  0:02                \n"
    )

    quiet = io.StringIO()
    short = TerminalBar(quiet, delay=0.5, clock=clock)
    short(progress, True)
    assert quiet.getvalue() == ""


def big_csv(path: Path, rows: int) -> Path:
    """Write a CSV file of `rows` valid rows to `path`."""
    lines = ["ext,fname,lname,email,password,phone_password"]
    lines += [
        f"{n},F{n},L{n},u{n}@example.com,web{n},sip{n}x" for n in range(100000, 100000 + rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_on_a_terminal(arguments: list[str], environment: dict[str, str]) -> tuple[str, str, int]:
    """Run the command with stderr on a pseudo-terminal; return stderr, stdout, status.

    The bar is shown from the start (no half-second delay), so a modest file suffices.
    """
    code = (
        "import sys, switchvox_server.bulk.progress as progress\n"
        "progress.SHOW_AFTER_SECONDS = 0\n"
        "from switchvox_server.cli import main\n"
        f"raise SystemExit(main({arguments!r}))\n"
    )
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=environment,
    )
    os.close(terminal)
    received = bytearray()
    deadline = time.monotonic() + 120
    # Read the terminal while the command runs, so it never blocks on a full pty buffer.
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the command has exited and closed the terminal
                break
            if not chunk:
                break
            received += chunk
        elif process.poll() is not None:
            break
    os.close(controller)
    assert process.stdout is not None
    out = process.stdout.read().decode()
    process.stdout.close()
    status = process.wait(timeout=60)
    return received.decode(), out, status


def test_terminal_bar_counts_rows_once_the_pipeline_tells() -> None:
    """Once the pipeline has said how many rows it checked, the bar counts rows, not lines
    (a quoted cell may hold line breaks)."""
    clock = FakeClock()
    stream = io.StringIO()
    bar = TerminalBar(stream, delay=0.0, clock=clock)
    clock.now = 4.0
    bar(Progress(total=100, phase="checking", position=50, lines=90, rows=60), False)
    assert stream.getvalue() == "\rchecking  50%  60 rows  15 rows/s  0:04, about 0:04 left"


@pytest.mark.slow
def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal the bar shows rising percentages of the file read, counts the rows
    checked (not the lines read), ends at 100% and a newline, and the report still goes to
    stdout."""
    path = big_csv(tmp_path / "big.csv", 20000)
    terminal, out, status = run_on_a_terminal(
        ["import", str(path), *OPTIONS],
        dict(os.environ),
    )
    assert status == 0, (terminal, out)
    percentages = [int(p) for p in re.findall(r"importing +(\d+)%", terminal)]
    assert len(set(percentages)) >= 2, terminal
    assert percentages[-1] == 100
    assert re.search(r"importing 100%  20,000 rows  [\d,]+ rows/s  \d+:\d\d *\r?\n$", terminal), (
        terminal
    )
    assert "  created        20000\n" in out


@pytest.mark.slow
def test_no_progress_without_a_terminal(tmp_path: Path) -> None:
    """When stderr is not a terminal nothing but messages goes there."""
    path = big_csv(tmp_path / "big.csv", 2000)
    result = subprocess.run(
        [sys.executable, "-m", "switchvox_server.cli", "import", str(path), *OPTIONS],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    assert b"  created        2000\n" in result.stdout


@pytest.mark.slow
def test_export_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """A long export to a file shows its rows written on the terminal, up to 100%."""
    assert main(["import", str(big_csv(tmp_path / "big.csv", 20000)), *OPTIONS]) == 0
    target = tmp_path / "export.csv"
    terminal, out, status = run_on_a_terminal(["export", "--output", str(target)], dict(os.environ))
    assert status == 0, (terminal, out)
    assert re.search(r"exporting 100%  20,000 lines  [\d,]+ lines/s  \d+:\d\d *\r?\n$", terminal), (
        terminal
    )
    assert out == f"Exported 20000 extensions to {target}.\n"
    assert len(target.read_bytes().splitlines()) == 20001
