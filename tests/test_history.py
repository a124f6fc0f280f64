"""The import history over the API (docs/history.md): what is recorded for create, replace
and update, undo with its conflict rule, undo of an undo, evaluations, access levels, and
the annotated CSV."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from switchvox_server.faults import FAULTS
from switchvox_server.store.models import AccessLevel
from tests.conftest import FIXTURES
from tests.helpers import (
    fault,
    request_xml,
    section,
    sign_in_as_new_admin,
    stored_extensions,
    upload,
)

EXAMPLE = (FIXTURES / "example.csv").read_text()
LIST = "switchvox_server.imports.list"
SHOW = "switchvox_server.imports.show"
UNDO = "switchvox_server.imports.undo"
ANNOTATED = "switchvox_server.imports.annotated"
HEADER = "ext,fname,lname,email,password,phone_password\n"
ROWS = "301,Ann,Lee,ann@x.org,web301pw,sip301x\n302,Bob,Ray,bob@x.org,web302pw,sip302x\n"


def call(client: TestClient, method: str, **parameters: object) -> etree._Element:
    """Post `method` with `parameters`; the parsed answer."""
    response = client.post("/xml", content=request_xml(method, **parameters))
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


def history_rows(database_url: str) -> int:
    """How many imports the history holds."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM imports")).scalar_one()
    engine.dispose()
    return int(count)


def undone(client: TestClient, import_id: int, **extra: object) -> etree._Element:
    """Undo import `import_id`, which must succeed; the answer."""
    answer = call(client, UNDO, import_id=import_id, **extra)
    assert answer.find("result") is not None, etree.tostring(answer)
    return answer


def test_create_is_recorded_with_file_options_counts_and_rows(
    client: TestClient,
) -> None:
    """A writing upload is recorded: caller, address, name, size and SHA-256 of the file,
    the options, the counts per section and each row's row, line, section and messages."""
    upload(client, EXAMPLE)
    shown = call(client, SHOW, import_id=1).find("result/import")
    assert shown is not None
    assert shown.get("kind") == "upload"
    assert shown.get("caller") == "admin"
    assert shown.get("address") == "testclient"
    assert shown.get("file_name") == "extensions.csv"  # the client sent C:\\extensions.csv
    assert shown.get("file_size") == str(len(EXAMPLE.encode()))
    assert shown.get("sha256") == hashlib.sha256(EXAMPLE.encode()).hexdigest()
    assert (shown.get("extension_type"), shown.get("dupe_process")) == ("sip", "1")
    counts = shown.find("counts")
    assert counts is not None
    assert (counts.get("created"), counts.get("create_failed")) == ("3", "2")
    rows = [
        (row.get("row"), row.get("line"), row.get("section"), row.get("extension"))
        for row in shown.iterfind("rows/row")
    ]
    assert rows == [
        ("2", "2", "create_failed", "301"),
        ("3", "3", "created", "302"),
        ("4", "4", "created", "303"),
        ("5", "5", "create_failed", "304"),
        ("6", "6", "created", "305"),
    ]
    errors = [error.get("text") for error in shown.iterfind("rows/row[@extension='304']/error")]
    assert errors == [
        "First name is required and must be 1 - 32 characters in length.",
        "Phone password cannot be the same as the extension.",
    ]


@pytest.mark.parametrize(("dupe_process", "section_name"), [(2, "replaced"), (3, "updated")])
def test_undo_of_replace_and_update_restores_the_whole_stored_rows(
    client: TestClient, database_url: str, dupe_process: int, section_name: str
) -> None:
    """Replace and update keep what they overwrote; undo puts every column back, secrets
    in their stored forms included."""
    upload(client, HEADER + ROWS)
    before = stored_extensions(database_url)
    changed = (
        "301,Ann,Other,ann@y.org,newweb301,newsip301\n302,Bob,Ray,bob@x.org,web302pw,sip302x\n"
    )
    answer = upload(client, HEADER + changed, dupe_process=dupe_process)
    assert section(answer, section_name) == ["301", "302"]
    assert stored_extensions(database_url)["301"] != before["301"]
    result = undone(client, 2).find("result/undo")
    assert result is not None
    assert result.get("import_id") == "3"
    assert stored_extensions(database_url) == before


def test_undo_of_create_removes_what_it_created(client: TestClient, database_url: str) -> None:
    """Undoing a create removes the extensions it created and nothing else."""
    upload(client, HEADER + "401,Old,One,old@x.org,web401pw,sip401x\n")
    upload(client, HEADER + ROWS)
    undone(client, 2)
    assert sorted(stored_extensions(database_url)) == ["401"]


def test_a_later_change_refuses_the_undo_until_forced(
    client: TestClient, database_url: str
) -> None:
    """An extension a later import changed makes undo a fault naming it, with nothing
    changed; forced, the undo puts back the others and keeps it."""
    upload(client, HEADER + ROWS)
    upload(client, "ext,lname\n302,Later\n", dupe_process=3)
    before = stored_extensions(database_url)
    refused = call(client, UNDO, import_id=1)
    assert fault(refused) == (FAULTS.UNDO_CONFLICT.code, FAULTS.UNDO_CONFLICT.format(1, "302"))
    assert stored_extensions(database_url) == before
    result = undone(client, 1, force=1).find("result/undo")
    assert result is not None
    assert [node.get("number") for node in result.iterfind("kept/extension")] == ["302"]
    assert sorted(stored_extensions(database_url)) == ["302"]
    assert stored_extensions(database_url)["302"]["last_name"] == "Later"


def test_undoing_a_later_change_makes_the_earlier_import_undoable(
    client: TestClient, database_url: str
) -> None:
    """Once the later change is undone, the extensions are as the earlier import left them
    and it can be undone without force."""
    upload(client, HEADER + ROWS)
    upload(client, "ext,lname\n302,Later\n", dupe_process=3)
    undone(client, 2)
    undone(client, 1)
    assert stored_extensions(database_url) == {}


def test_undoing_an_undo_redoes(client: TestClient, database_url: str) -> None:
    """An undo is an import of its own: undoing it puts back what the first import wrote,
    account ids and creation dates included."""
    upload(client, HEADER + ROWS)
    after = stored_extensions(database_url)
    undone(client, 1)
    assert stored_extensions(database_url) == {}
    undone(client, 2)
    assert stored_extensions(database_url) == after
    kinds = [node.get("kind") for node in call(client, LIST).iterfind("result/imports/import")]
    assert kinds == ["undo", "undo", "upload"]


def test_an_import_is_undone_once(client: TestClient) -> None:
    """A second undo of the same import is a fault naming the undo that did it."""
    upload(client, HEADER + ROWS)
    undone(client, 1)
    assert fault(call(client, UNDO, import_id=1)) == (
        FAULTS.NOT_UNDOABLE.code,
        FAULTS.NOT_UNDOABLE.format(1, "import 2 undid it"),
    )


def test_report_only_is_recorded_as_an_evaluation_that_cannot_be_undone(
    client: TestClient, database_url: str
) -> None:
    """A report_only upload is recorded as an evaluation; it wrote nothing, so undo refuses."""
    upload(client, HEADER + ROWS, report_only=1)
    assert stored_extensions(database_url) == {}
    item = call(client, LIST).find("result/imports/import")
    assert item is not None
    assert item.get("kind") == "evaluation"
    assert fault(call(client, UNDO, import_id=1)) == (
        FAULTS.NOT_UNDOABLE.code,
        FAULTS.NOT_UNDOABLE.format(1, "it wrote nothing"),
    )


def test_a_method_fault_records_nothing(client: TestClient, database_url: str) -> None:
    """An upload answered with a method fault wrote nothing and is not recorded."""
    upload(client, "fname\nAnn\n")
    upload(client, HEADER + ROWS, template_account_id=99)
    assert history_rows(database_url) == 0


def test_history_off_records_nothing(make_client: Any, database_url: str) -> None:
    """SWITCHVOX_HISTORY=false: uploads write as before and nothing is recorded."""
    client = make_client(history=False)
    assert section(upload(client, HEADER + ROWS), "created") == ["301", "302"]
    assert history_rows(database_url) == 0


@pytest.mark.parametrize(
    ("parameters", "code"),
    [
        ({}, FAULTS.MISSING_PARAMETER.code),
        ({"import_id": "x1"}, FAULTS.INVALID_IMPORT.code),
        ({"import_id": "9" * 30}, FAULTS.INVALID_IMPORT.code),
        ({"import_id": "77"}, FAULTS.INVALID_IMPORT.code),
    ],
)
@pytest.mark.parametrize("method", [SHOW, UNDO, ANNOTATED])
def test_bad_import_ids_are_faults(
    client: TestClient, method: str, parameters: dict[str, str], code: int
) -> None:
    """A missing, malformed, oversized or unknown import id is a fault, never a 500."""
    assert fault(call(client, method, **parameters))[0] == code


def test_read_only_admins_list_and_show_but_do_not_undo(
    client: TestClient, database_url: str
) -> None:
    """A read_only admin may list and show imports; undo is refused as for bulk upload."""
    upload(client, HEADER + ROWS)
    sign_in_as_new_admin(client, "auditor", AccessLevel.READ_ONLY)
    assert call(client, LIST).find("result/imports/import") is not None
    assert call(client, SHOW, import_id=1).find("result/import") is not None
    code, _ = fault(call(client, UNDO, import_id=1))
    assert code == FAULTS.PERMISSION_DENIED.code
    assert len(stored_extensions(database_url)) == 2


def test_the_annotated_csv_fixed_and_uploaded_again_creates_the_failed_rows(
    client: TestClient, database_url: str
) -> None:
    """The annotated CSV carries each row's section and messages; with the failed rows
    fixed it uploads again (result and errors ignored as unknown columns)."""
    upload(client, EXAMPLE)
    files = {"csv_file": ("x.csv", EXAMPLE.encode(), "text/csv")}
    envelope = request_xml(ANNOTATED, import_id=1).decode()
    response = client.post("/xml", data={"request": envelope}, files=files)
    annotated = etree.fromstring(response.content).findtext("result/annotated_csv")
    assert annotated is not None
    lines = annotated.splitlines()
    assert (
        lines[0] == "ext,fname,lname,email,password,voicemail_password,phone_password,result,errors"
    )
    assert lines[1] == (
        "301,Joey,Johnson,jjohn@test.com,webpass301,3011,,create_failed,"
        "Phone password is required to create a sip extension."
    )
    assert lines[2].endswith(",created,")
    fixed = annotated.replace("webpass301,3011,,", "webpass301,3011,sip301x,").replace(
        "304,,last,last@test.com,webpass304,3044,304",
        "304,Ann,last,last@test.com,webpass304,3044,s304x",
    )
    again = upload(client, fixed)
    assert section(again, "created") == ["301", "304"]
    assert section(again, "skipped") == ["302", "303", "305"]
    assert sorted(stored_extensions(database_url)) == ["301", "302", "303", "304", "305"]


def test_the_annotated_csv_needs_the_very_file(client: TestClient) -> None:
    """Another file than the import's is refused: its rows would be annotated wrongly."""
    upload(client, EXAMPLE)
    files = {"csv_file": ("x.csv", (EXAMPLE + "\n").encode(), "text/csv")}
    envelope = request_xml(ANNOTATED, import_id=1).decode()
    answer = etree.fromstring(client.post("/xml", data={"request": envelope}, files=files).content)
    assert fault(answer) == (FAULTS.FILE_MISMATCH.code, FAULTS.FILE_MISMATCH.format(1))


CAUSES = [
    (b"PK\x03\x04\x14\x00\x08\x00\x08\x00", "not a text file"),
    (b"\xef\xbb\xbfext,fname\n301,\xff\xfe\n", "not valid text in its encoding"),
    (b"\n , \n\n", "no header line"),
    (b"number,fname\n301,Ann\n", "a required header label is missing: line 1"),
    (b"ext,EXT\n301,302\n", "duplicate header labels: line 1"),
    (b'ext,fname\n301,"Ann\n302,Bob\n', "a record that cannot be read: row 2"),
]


@pytest.mark.parametrize(("data", "cause"), CAUSES)
def test_each_94772_cause_is_logged_while_the_answer_stays_documented(
    client: TestClient, caplog: pytest.LogCaptureFixture, data: bytes, cause: str
) -> None:
    """Every cause of 94772 answers the documented code and message, nothing more, and the
    access log line names the cause and its line."""
    with caplog.at_level(logging.INFO, logger="switchvox_server.access"):
        answer = upload(client, data)
    assert fault(answer) == (FAULTS.CSV_FORMAT.code, FAULTS.CSV_FORMAT.template)
    assert cause not in etree.tostring(answer).decode()
    (line,) = [
        record.getMessage() for record in caplog.records if "fault:94772" in record.getMessage()
    ]
    assert cause in line


def test_ignored_and_missing_labels_are_logged_and_recorded(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A header with a label that names no column, and without labels new SIP extensions
    need, is logged and kept in the history; the answer is the documented report."""
    with caplog.at_level(logging.INFO, logger="switchvox_server.access"):
        answer = upload(client, "ext,first name,lname\n301,Ann,Lee\n")
    assert section(answer, "create_failed") == ["301"]
    log = " ".join(record.getMessage() for record in caplog.records)
    assert "Ignored header labels (no such column): 'first name'" in log
    assert "The header has no fname, email, password, phone_password label" in log
    notes = [node.get("text") for node in call(client, SHOW, import_id=1).iterfind(".//note")]
    assert len(notes) == 2
    assert "'first name'" in (notes[0] or "")


def test_excel_separator_hint_names_the_delimiter(client: TestClient) -> None:
    """A first line `sep=;` is Excel's hint: the file is read with `;` and the line is no
    row (the header is row 1)."""
    data = (
        "sep=;\r\next;fname;lname;email;password;phone_password\r\n"
        "301;Ann;Lee;a@x.org;web301pw;\r\n"
    )
    answer = upload(client, data)
    assert section(answer, "create_failed") == ["301"]
    rows = call(client, SHOW, import_id=1).find("result/import/rows/row")
    assert rows is not None
    assert (rows.get("row"), rows.get("line")) == ("2", "3")


def test_history_methods_answer_in_json_too(client: TestClient) -> None:
    """Over /json, each import is an object with at least its id and its file's sha256."""
    upload(client, HEADER + ROWS)
    body = {"request": {"method": LIST, "parameters": {}}}
    answer = client.post("/json", json=body).json()
    item = answer["response"]["result"]["imports"]["import"]
    assert item["id"] == 1
    assert item["sha256"] == hashlib.sha256((HEADER + ROWS).encode()).hexdigest()
