"""Tests for the streaming bulk-upload CSV reader."""

from __future__ import annotations

import codecs
import io
import tempfile

import pytest

from switchvox_server.bulk.csv_reader import (
    COLUMNS,
    MAX_CELL_CHARS,
    CsvFormatError,
    CsvRecord,
    CsvTable,
    open_csv,
)


def _table(data: bytes) -> CsvTable:
    return open_csv(io.BytesIO(data))


def _records(data: bytes) -> list[CsvRecord]:
    return list(_table(data).records())


def _cells(data: bytes) -> list[dict[str, str]]:
    return [record.cells for record in _records(data)]


def test_reads_plain_utf8() -> None:
    """A UTF-8 file without BOM is read as utf-8, non-ASCII text intact."""
    table = _table("ext,fname\n301,Zoë\n".encode())
    assert table.encoding == "utf-8"
    assert [r.cells for r in table.records()] == [{"ext": "301", "fname": "Zoë"}]


def test_reads_utf8_with_bom() -> None:
    """A UTF-8 BOM is dropped, so the first label still matches."""
    table = _table(codecs.BOM_UTF8 + "ext,fname\n301,Zoë\n".encode())
    assert table.encoding == "utf-8-sig"
    assert [r.cells for r in table.records()] == [{"ext": "301", "fname": "Zoë"}]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_reads_utf16_with_bom(codec: str) -> None:
    """UTF-16 in either byte order is read when the file starts with its BOM."""
    data = "\ufeffext,fname\r\n301,Zoë €\r\n".encode(codec)
    table = _table(data)
    assert table.encoding == "utf-16"
    assert [r.cells for r in table.records()] == [{"ext": "301", "fname": "Zoë €"}]


def test_cp1252_fallback() -> None:
    """A file that is not valid UTF-8 is read as Windows-1252 (é and € come through)."""
    table = _table("ext,fname,title\n301,André,5€\n".encode("cp1252"))
    assert table.encoding == "cp1252"
    assert [r.cells for r in table.records()] == [{"ext": "301", "fname": "André", "title": "5€"}]


def test_cp1252_undefined_bytes_are_replaced() -> None:
    """Bytes cp1252 leaves undefined become U+FFFD instead of failing the file."""
    data = b"ext,fname\n301,a\x81\x8d\x8f\x90\x9d\xe9\n"
    assert _cells(data) == [{"ext": "301", "fname": "a\ufffd\ufffd\ufffd\ufffd\ufffdé"}]


def test_utf8_bom_with_invalid_bytes_is_refused() -> None:
    """A file declaring UTF-8 by its BOM but holding invalid UTF-8 is not guessed at."""
    with pytest.raises(CsvFormatError, match="byte order mark"):
        _table(codecs.BOM_UTF8 + b"ext\n30\xe91\n")


def test_truncated_utf16_is_refused() -> None:
    """A UTF-16 file with an odd number of bytes is refused."""
    with pytest.raises(CsvFormatError):
        _table("\ufeffext\n301\n".encode("utf-16-le") + b"\x00")


@pytest.mark.parametrize("end", ["\r\n", "\n", "\r"])
def test_line_ends(end: str) -> None:
    """CRLF, LF and lone CR all end records, with or without a final line end."""
    text = end.join(["ext,fname", "301,Ann", "302,Bob"])
    for data in (text.encode(), (text + end).encode()):
        assert [(r.row_number, r.cells) for r in _records(data)] == [
            (2, {"ext": "301", "fname": "Ann"}),
            (3, {"ext": "302", "fname": "Bob"}),
        ]


def test_quoted_cells() -> None:
    """Quoted cells keep delimiters, doubled quotes and line breaks; row numbers count records."""
    data = (
        b'ext,fname,title\r\n301,"Smith, Ann","Say ""hi"""\r\n302,"two\r\nlines",x\r\n303,C,y\r\n'
    )
    assert [(r.row_number, r.cells) for r in _records(data)] == [
        (2, {"ext": "301", "fname": "Smith, Ann", "title": 'Say "hi"'}),
        (3, {"ext": "302", "fname": "two\r\nlines", "title": "x"}),
        (4, {"ext": "303", "fname": "C", "title": "y"}),
    ]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_locale_delimiters(delimiter: str) -> None:
    """Semicolon- and tab-separated files are recognised from the header line."""
    data = delimiter.join(["ext", "fname", "title"]) + "\n"
    data += delimiter.join(["301", "Ann", "Boss, Sales"]) + "\n"
    table = _table(data.encode())
    assert table.delimiter == delimiter
    assert [r.cells for r in table.records()] == [
        {"ext": "301", "fname": "Ann", "title": "Boss, Sales"}
    ]


def test_delimiter_sniff_ignores_quoted_delimiters() -> None:
    """Delimiters inside a quoted header label do not count towards the guess."""
    table = _table(b'"a,b,c,d";ext;fname\n1;301;Ann\n')
    assert table.delimiter == ";"
    assert [r.cells for r in table.records()] == [{"ext": "301", "fname": "Ann"}]


def test_delimiter_sniff_skips_leading_blank_records() -> None:
    """Blank separator-only lines before the header do not decide the delimiter."""
    table = _table(b"\t\t\t\t\n\n;;\next;fname\n301;Ann\n")
    assert table.delimiter == ";"
    assert [(r.row_number, r.cells) for r in table.records()] == [
        (5, {"ext": "301", "fname": "Ann"})
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [(b"ext\n301\n", ","), (b"ext,a;b\tc;d\te\n", ","), (b"ext;fname;lname,email\n", ";")],
)
def test_delimiter_defaults_to_comma(header: bytes, expected: str) -> None:
    """No delimiter or a tie means comma; otherwise the most frequent one wins."""
    assert _table(header).delimiter == expected


def test_header_labels_are_trimmed_and_case_insensitive() -> None:
    """Labels match whatever their case and surrounding whitespace, in any order."""
    table = _table(b" FName ,\tEXT\t, Digium_Phone_MAC_Address\n Ann ,301,00:11\n")
    assert table.columns == ("ext", "fname", "digium_phone_mac_address")
    assert [r.cells for r in table.records()] == [
        {"ext": "301", "fname": " Ann ", "digium_phone_mac_address": "00:11"}
    ]


def test_stray_bom_in_label_is_ignored() -> None:
    """A BOM left inside a label (a re-saved file) does not hide the label."""
    assert _table("\ufeffext,\ufefffname\n".encode()).columns == ("ext", "fname")


def test_login_email_alias() -> None:
    """The login_email label fills the email column."""
    table = _table(b"ext,login_email\n301,a@b.c\n")
    assert table.columns == ("ext", "email")
    assert [r.cells for r in table.records()] == [{"ext": "301", "email": "a@b.c"}]


def test_unknown_and_empty_labels_are_ignored() -> None:
    """Unknown and empty labels add no column but still count in the header width."""
    table = _table(b"notes,ext,,fname\nhello,301,x,Ann\n")
    assert table.columns == ("ext", "fname")
    assert table.header_width == 4
    assert [r.cells for r in table.records()] == [{"ext": "301", "fname": "Ann"}]


def test_columns_follow_canonical_order() -> None:
    """Columns and cells are listed in COLUMNS order, not the file's order."""
    table = _table((",".join(reversed(COLUMNS)) + "\n" + ",".join("9" * 10) + "\n").encode())
    assert table.columns == COLUMNS
    assert list(next(table.records()).cells) == list(COLUMNS)


@pytest.mark.parametrize(
    "header", [b"ext,email,login_email\n", b"ext,fname,EXT\n", b"ext, lname ,LName\n"]
)
def test_duplicate_labels_are_refused(header: bytes) -> None:
    """Two labels naming the same column make the file unreadable."""
    with pytest.raises(CsvFormatError, match="both name"):
        _table(header + b"301,a,b\n")


def test_missing_ext_is_refused() -> None:
    """A header without an ext label is refused."""
    with pytest.raises(CsvFormatError, match="'ext'"):
        _table(b"fname,lname\nAnn,Lee\n")


@pytest.mark.parametrize("data", [b"", b"\n\n\r\n", b",,,,\r\n , ,\r\n", b'"",""\n'])
def test_no_header_is_refused(data: bytes) -> None:
    """An empty file or one of blank records only has no header line."""
    with pytest.raises(CsvFormatError, match="no header"):
        _table(data)


def test_header_without_data() -> None:
    """A header alone reads fine and yields no records (the caller faults 51132)."""
    assert _records(b"ext,fname\r\n,,\r\n") == []


def test_blank_records_are_skipped_but_counted() -> None:
    """Blank lines and ",,,," rows are skipped, yet row numbers still count them."""
    data = b"\r\next,fname\r\n301,Ann\r\n\r\n,,\r\n , \r\n302,Bob\r\n"
    assert [(r.row_number, r.cells["ext"]) for r in _records(data)] == [(3, "301"), (7, "302")]


def test_short_and_long_rows() -> None:
    """A short row lacks the cells it does not reach; cell_count reports the real width."""
    table = _table(b"ext,fname,lname\n301\n302,Ann,Lee,extra,more\n303,Bob\n")
    assert table.header_width == 3
    assert [(r.cells, r.cell_count) for r in table.records()] == [
        ({"ext": "301"}, 1),
        ({"ext": "302", "fname": "Ann", "lname": "Lee"}, 5),
        ({"ext": "303", "fname": "Bob"}, 2),
    ]


def test_cells_are_not_stripped() -> None:
    """Spaces in cells reach the row rules untouched (only-spaces means blank the field)."""
    assert _cells(b"ext,fname,lname\n 301 ,   ,\n") == [
        {"ext": " 301 ", "fname": "   ", "lname": ""}
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
        b"e\x00x\x00t\x00\n\x00",
    ],
)
def test_binary_file_is_refused(data: bytes) -> None:
    """A binary file (an image, a zip, BOM-less UTF-16) is refused, never read as rows."""
    with pytest.raises(CsvFormatError):
        _table(data)


def test_nul_in_the_first_line_marks_a_binary_file() -> None:
    """A NUL byte in the header line says binary, before any header matching."""
    with pytest.raises(CsvFormatError, match="binary"):
        _table(b"ext,f\x00name\n301,Ann\n")


def test_nul_in_an_early_cell_passes_through() -> None:
    """A NUL in a data cell, even in the second line, is cell text for the row rules."""
    records = list(_table(b"ext,fname\n301,A\x00nn\n").records())
    assert records[0].cells["fname"] == "A\x00nn"


def test_nul_after_the_probe_passes_through() -> None:
    """A NUL deep in the file is cell text for the row rules, not a file error."""
    data = b"ext,fname\n" + b"301,Ann\n" * 2000 + b"302,A\x00nn\n"
    assert _records(data)[-1].cells == {"ext": "302", "fname": "A\x00nn"}


@pytest.mark.parametrize(
    ("data", "row"),
    [
        (b'ext,fname\n301,"Ann\n302,Bob\n303,Cy\n', 2),
        (b'ext,fname\n301,Ann\n302,"Bob', 3),
        (b'"ext,fname\n301,Ann\n', 1),
    ],
)
def test_unterminated_quote_is_refused(data: bytes, row: int) -> None:
    """A quote never closed (it swallows the rest of the file) is refused, naming its row."""
    with pytest.raises(CsvFormatError, match=f"row {row}: unexpected end of data"):
        _records(data)


def test_text_after_closing_quote_is_refused() -> None:
    """Text after a closing quote in the same cell is a malformed file."""
    with pytest.raises(CsvFormatError, match="row 2"):
        _records(b'ext,fname\n301,"Ann"x\n')


def test_huge_cell_up_to_the_limit_reads() -> None:
    """A cell of exactly MAX_CELL_CHARS characters (1 MiB) reads whole."""
    assert MAX_CELL_CHARS == 1024 * 1024
    cell = "x" * MAX_CELL_CHARS
    assert _cells(f"ext,title\n301,{cell}\n".encode()) == [{"ext": "301", "title": cell}]


def test_cell_over_the_limit_is_refused() -> None:
    """A cell one character over 1 MiB makes the file unreadable."""
    cell = "x" * (MAX_CELL_CHARS + 1)
    with pytest.raises(CsvFormatError, match="row 3: field larger"):
        _records(f"ext,title\n301,a\n302,{cell}\n".encode())


def test_callers_file_stays_open() -> None:
    """Reading, finishing or abandoning records() never closes the caller's file."""
    source = io.BytesIO(b"ext\n301\n302\n")
    table = open_csv(source)
    assert [r.cells["ext"] for r in table.records()] == ["301", "302"]
    abandoned = table.records()
    next(abandoned)
    del abandoned
    assert not source.closed
    source.seek(0)
    assert source.read() == b"ext\n301\n302\n"


def test_reads_from_the_start_whatever_the_position() -> None:
    """A spooled upload left positioned at its end is still read from its start, repeatedly."""
    source = io.BytesIO()
    source.write(b"ext\n301\n")
    table = open_csv(source)
    assert [r.cells for r in table.records()] == [{"ext": "301"}]
    assert [r.cells for r in table.records()] == [{"ext": "301"}]


@pytest.mark.slow
def test_many_rows() -> None:
    """100,000 full-width rows stream through with the right numbers (a smoke check, untimed)."""
    lines = [",".join(COLUMNS)]
    lines += [
        f"{100000 + i},F,L,u{i}@x.io,T,Loc,pw{i},1234,sec{i},000B82{i:06X}" for i in range(100_000)
    ]
    records = _records(("\r\n".join(lines) + "\r\n").encode())
    assert len(records) == 100_000
    assert records[-1].row_number == 100_001
    assert records[-1].cells["ext"] == "199999"
    assert all(record.cell_count == len(COLUMNS) for record in records)


@pytest.mark.parametrize("max_size", [0, 1024 * 1024])
def test_reads_a_spooled_upload(max_size: int) -> None:
    """The upload's SpooledTemporaryFile reads the same on disk or in memory, and stays open."""
    with tempfile.SpooledTemporaryFile(max_size=max_size) as source:
        source.write(b"ext,fname\r\n301,Ann\r\n")
        assert [r.cells for r in open_csv(source).records()] == [{"ext": "301", "fname": "Ann"}]
        assert not source.closed
