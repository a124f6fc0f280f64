"""`switchvox-server export`: the stored extensions as a bulk upload CSV that imports back
unchanged, with no secret in it and no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import errno
import io
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from switchvox_server.bulk import export
from switchvox_server.bulk.csv_reader import COLUMNS
from switchvox_server.bulk.rules import unquote_formula
from switchvox_server.cli import main
from tests.helpers import section, stored_extensions, upload

BOM = b"\xef\xbb\xbf"
HEADER = ",".join(COLUMNS)
SECRET_COLUMNS = ("password", "voicemail_password", "phone_password")
# Cells of an upload in COLUMNS order, split at "|": names a spreadsheet would run as
# formulas, one that already starts with a quote, and one that needs CSV quoting.
FORMULA_ROWS = [
    list(COLUMNS),
    *(
        row.split("|")
        for row in (
            "1000|=SUM(A1)|+1|-user@example.com|-x|@home|webpass1000|1234|sipsecret1000|"
            "00:11:22:aa:bb:cc",
            '999|Plain|Name|plain@example.com|Boss|Room 1, "east"|webpass999|5678|sipsecret999|',
            "20000|''=quoted|Smith|smith@example.com|||webpass20000||sipsecret20000|",
            "301|Ada|@Lovelace|ada@example.com|+44|=1+1|webpass301|4321|sipsecret301|0011223344ff",
        )
    ),
]
CLEAR_SECRETS = ("webpass", "sipsecret", "1234", "5678", "4321")


# Each command sees the test database and the test admin password, nothing else.
pytestmark = pytest.mark.usefixtures("cli_environment")

STORED_SECRETS = ("web_password_ha1", "voicemail_pin_digest", "phone_password_ha1")


def export_to(path: Path, *options: str) -> bytes:
    """Run `export` into `path`; the bytes written."""
    assert main(["export", "--output", str(path), *options]) == 0
    return path.read_bytes()


def rows_of(data: bytes) -> list[dict[str, str]]:
    """The rows of an exported CSV file, which must start with a BOM."""
    assert data.startswith(BOM)
    return list(csv.DictReader(io.StringIO(data[len(BOM) :].decode(), newline="")))


def test_neutralise_and_unquote_are_inverse() -> None:
    """Formula-like cells get one quote, which the import takes off again; other cells
    pass unchanged both ways."""
    for cell in ("=SUM(A1)", "+1", "-x", "@home", "\tx", "\rx", "'=x", "''+y"):
        assert export.neutralise(cell) == "'" + cell
        assert unquote_formula(export.neutralise(cell)) == cell
    for cell in ("", "Ada", "'quoted", "a=b", " =x", "1-2"):
        assert export.neutralise(cell) == cell
        assert unquote_formula(cell) == cell


def test_export_round_trip(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    """Uploaded over the API, exported, imported with dupe update by the CLI and exported
    again, the file is byte-identical; it neutralises formulas and holds no secret."""
    text = io.StringIO()
    csv.writer(text).writerows(FORMULA_ROWS)
    response = upload(client, text.getvalue())
    assert section(response, "created") == ["1000", "999", "20000", "301"]
    secrets_before = stored_extensions(database_url, *STORED_SECRETS)

    first = export_to(tmp_path / "first.csv")
    assert first.startswith(BOM + HEADER.encode() + b"\r\n")
    rows = rows_of(first)
    assert [row["ext"] for row in rows] == ["301", "999", "1000", "20000"]
    by_number = {row["ext"]: row for row in rows}
    assert by_number["1000"]["fname"] == "'=SUM(A1)"
    assert by_number["1000"]["lname"] == "'+1"
    assert by_number["1000"]["email"] == "'-user@example.com"
    assert by_number["1000"]["title"] == "'-x"
    assert by_number["1000"]["location"] == "'@home"
    assert by_number["1000"]["digium_phone_mac_address"] == "001122AABBCC"
    assert by_number["20000"]["fname"] == "''=quoted"  # stored as '=quoted
    assert by_number["999"]["location"] == 'Room 1, "east"'
    assert by_number["301"]["lname"] == "'@Lovelace"
    for row in rows:
        assert all(row[column] == "" for column in SECRET_COLUMNS)
    exported = first.decode()
    for secret in CLEAR_SECRETS:
        assert secret not in exported
    for stored in secrets_before.values():
        for column in STORED_SECRETS:
            assert stored[column] is None or stored[column] not in exported

    arguments = ["import", str(tmp_path / "first.csv"), "--type", "sip", "--dupe", "update"]
    assert main([*arguments, "--template", "1"]) == 0
    assert "  updated        4\n" in capsys.readouterr().out

    second = export_to(tmp_path / "second.csv")
    assert second == first
    assert stored_extensions(database_url, *STORED_SECRETS) == secrets_before


def test_export_to_stdout_and_by_type(
    client: TestClient, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """Without --output the CSV goes to stdout; --type keeps one type of extension."""
    upload(client, "ext,fname,lname,email,password,phone_password\n401,A,B,a@b.org,pw401x,s401\n")
    upload(
        client,
        "ext,fname,lname,email,password\n402,C,D,c@d.org,pw402x\n",
        extension_type="virtual",
    )
    assert main(["export"]) == 0
    everything = capsysbinary.readouterr().out
    assert [row["ext"] for row in rows_of(everything)] == ["401", "402"]
    assert main(["export", "--type", "virtual"]) == 0
    virtual = capsysbinary.readouterr().out
    assert [row["ext"] for row in rows_of(virtual)] == ["402"]
    assert main(["export", "--type", "sip"]) == 0
    assert [row["ext"] for row in rows_of(capsysbinary.readouterr().out)] == ["401"]


def test_export_of_an_empty_store_is_the_header(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """With no extension the export is the header line alone."""
    assert main(["export"]) == 0
    assert capsysbinary.readouterr().out == BOM + HEADER.encode() + b"\r\n"


def test_export_streams_in_chunks(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are fetched a chunk at a time and every chunk reaches the file, in order."""
    monkeypatch.setattr(export, "CHUNK_ROWS", 2)
    lines = ["ext,fname,lname,email,password,phone_password"]
    lines += [f"{n},F,L,u{n}@x.org,pw{n}x,s{n}" for n in range(310, 300, -1)]
    upload(client, "\n".join(lines) + "\n")
    rows = rows_of(export_to(tmp_path / "out.csv"))
    assert [row["ext"] for row in rows] == [str(n) for n in range(301, 311)]


def test_export_output_reports_the_count(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--output replaces the file whole and says how many extensions it wrote."""
    (tmp_path / "exports").mkdir()
    target = tmp_path / "exports" / "out.csv"
    target.write_text("old content")
    upload(client, "ext,fname,lname,email,password,phone_password\n401,A,B,a@b.org,pw401x,s401\n")
    assert main(["export", "--output", str(target)]) == 0
    assert capsys.readouterr().out == f"Exported 1 extension to {target}.\n"
    assert rows_of(target.read_bytes())[0]["ext"] == "401"
    assert [path.name for path in target.parent.iterdir()] == ["out.csv"]


def test_export_to_a_missing_directory_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output path that cannot be written is a one-line message and exit 1."""
    target = tmp_path / "missing" / "out.csv"
    assert main(["export", "--output", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"switchvox-server: cannot write {target}")


# --- what --output may replace -----------------------------------------------------------


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """A directory of its own for the exported files (the test database is beside it)."""
    directory = tmp_path / "exports"
    directory.mkdir()
    return directory


def special_target(directory: Path, kind: str) -> Path:
    """An output path naming something that is not a regular file."""
    target = directory / "out.csv"
    if kind == "symbolic link to a file":
        (directory / "elsewhere.csv").write_text("the link's own file")
        target.symlink_to(directory / "elsewhere.csv")
    elif kind == "symbolic link to a device":
        target.symlink_to(os.devnull)
    elif kind == "dangling symbolic link":
        target.symlink_to(directory / "nowhere.csv")
    elif kind == "FIFO":
        os.mkfifo(target)
    else:
        target.mkdir()
    return target


@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        ("symbolic link to a file", "a symbolic link"),
        ("symbolic link to a device", "a symbolic link"),
        ("dangling symbolic link", "a symbolic link"),
        ("FIFO", "a FIFO"),
        ("directory", "a directory"),
    ],
)
def test_export_output_refuses_what_is_not_a_regular_file(
    kind: str, shown: str, exports: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--output never replaces (or writes through) a symbolic link, a FIFO or a directory:
    one line, status 1, and everything left as it was."""
    target = special_target(exports, kind)
    before = sorted((path.name, path.lstat().st_mode) for path in exports.iterdir())
    assert main(["export", "--output", str(target)]) == 1
    assert capsys.readouterr().err == (
        f"switchvox-server: will not replace {target}: it is {shown}"
        " (--output writes a new or a regular file)\n"
    )
    assert sorted((path.name, path.lstat().st_mode) for path in exports.iterdir()) == before
    if kind == "symbolic link to a file":
        assert (exports / "elsewhere.csv").read_text() == "the link's own file"


def test_export_output_replaces_a_regular_file_by_rename(client: TestClient, exports: Path) -> None:
    """A regular file is replaced by a new, complete, owner-only file moved into its place:
    a reader holding the old file keeps reading the old content."""
    upload(client, "ext,fname,lname,email,password,phone_password\n401,A,B,a@b.org,pw401x,s401\n")
    target = exports / "out.csv"
    target.write_text("old content")
    target.chmod(0o644)
    with target.open() as old_reader:
        data = export_to(target)
        assert old_reader.read() == "old content"
    assert [row["ext"] for row in rows_of(data)] == ["401"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [path.name for path in exports.iterdir()] == ["out.csv"]


def fail_mid_write(error: BaseException) -> Callable[..., int]:
    """A write_export that writes the header and then fails with `error`."""

    def write(session: object, out: IO[bytes], *args: object) -> int:
        out.write(BOM + HEADER.encode() + b"\r\n")
        out.flush()
        raise error

    return write


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), 1, "cannot write {target}: No space"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_failed_export_leaves_the_old_file_and_no_partial_one(
    error: BaseException,
    status: int,
    message: str,
    exports: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An export that fails half-way (a full disk, Ctrl+C) leaves the old file as it was
    and no partial file beside it."""
    target = exports / "out.csv"
    target.write_text("old content")
    monkeypatch.setattr(export, "write_export", fail_mid_write(error))
    assert main(["export", "--output", str(target)]) == status
    assert capsys.readouterr().err.startswith("switchvox-server: " + message.format(target=target))
    assert target.read_text() == "old content"
    assert [path.name for path in exports.iterdir()] == ["out.csv"]


def test_export_output_turned_into_a_link_meanwhile_is_not_replaced(
    exports: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The target is checked again just before the finished file is moved: a symbolic
    link put there while the export ran stays, and the partial file goes."""
    target = exports / "out.csv"
    real_write = export.write_export

    def write_then_swap(session: Session, out: IO[bytes], *args: Any) -> int:
        count = real_write(session, out, *args)
        target.symlink_to(os.devnull)
        return count

    monkeypatch.setattr(export, "write_export", write_then_swap)
    assert main(["export", "--output", str(target)]) == 1
    assert "it is a symbolic link" in capsys.readouterr().err
    assert target.is_symlink()
    assert [path.name for path in exports.iterdir()] == ["out.csv"]
