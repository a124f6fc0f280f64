"""The import history from the command line: `imports list|show|undo|annotated`,
`extensions remove`, and what `import` says about files and rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from switchvox_server.cli import main
from tests.helpers import stored_extensions
from tests.test_history import CAUSES

HEADER = "ext,fname,lname,email,password,phone_password\n"
ROWS = "301,Ann,Lee,ann@x.org,web301pw,sip301x\n302,Bob,Ray,bob@x.org,web302pw,sip302x\n"

pytestmark = pytest.mark.usefixtures("cli_environment")


Write = Callable[[str, str | bytes], Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write a file of the test's own and give its path."""

    def make(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
        return path

    return make


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    """Run a command in-process; its exit status, stdout and stderr."""
    status = main(list(arguments))
    out, err = capsys.readouterr()
    return status, out, err


def test_list_and_show_as_json_carry_id_sha256_and_rows(
    capsys: pytest.CaptureFixture[str], write: Write
) -> None:
    """`imports list --format json` gives each import with its id and its file's SHA-256;
    `show --format json` adds every row; the import is named with the file as given."""
    path = write("new.csv", HEADER + ROWS)
    assert run(capsys, "import", str(path), "--dupe", "skip")[0] == 0
    status, out, _ = run(capsys, "imports", "list", "--format", "json")
    (item,) = json.loads(out)
    assert status == 0
    assert item["id"] == 1
    assert item["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert item["file_name"] == str(path)
    assert item["caller"].startswith("cli:")
    shown = json.loads(run(capsys, "imports", "show", "1", "--format", "json")[1])
    assert [(row["line"], row["section"]) for row in shown["rows"]] == [
        (2, "created"),
        (3, "created"),
    ]


def test_undo_from_the_command_line_refuses_a_conflict_then_forces(
    capsys: pytest.CaptureFixture[str], write: Write, database_url: str
) -> None:
    """`imports undo` names the extensions a later change touched and changes nothing;
    `--force` puts back the others; the undo is an import of its own."""
    run(capsys, "import", str(write("a.csv", HEADER + ROWS)), "--dupe", "skip")
    run(capsys, "import", str(write("b.csv", "ext,lname\n302,Later\n")), "--dupe", "update")
    status, _, err = run(capsys, "imports", "undo", "1")
    assert status == 1
    assert "10031" in err
    assert "extensions 302." in err
    assert list(stored_extensions(database_url)) == ["301", "302"]
    status, out, _ = run(capsys, "imports", "undo", "1", "--force")
    assert status == 0
    assert out == "Undid import 1 as import 3: 1 removed, 1 kept\nKept (changed later): 302\n"
    assert list(stored_extensions(database_url)) == ["302"]


def test_removed_extensions_come_back_with_undo(
    capsys: pytest.CaptureFixture[str], write: Write, database_url: str
) -> None:
    """`extensions remove` is a recorded change: undoing it brings the extensions back;
    a number that does not exist is named and the status is 1."""
    run(capsys, "import", str(write("a.csv", HEADER + ROWS)), "--dupe", "skip")
    status, out, err = run(capsys, "extensions", "remove", "301", "302", "999")
    assert status == 1
    assert out == "Removed 2 extensions (recorded as import 2).\n"
    assert err == "switchvox-server: no such extension: 999\n"
    assert list(stored_extensions(database_url)) == []
    assert run(capsys, "imports", "undo", "2")[0] == 0
    assert list(stored_extensions(database_url)) == ["301", "302"]


def test_annotated_csv_from_the_command_line_fixed_and_imported_again(
    capsys: pytest.CaptureFixture[str], write: Write, tmp_path: Path, database_url: str
) -> None:
    """`import --annotated` and `imports annotated ID FILE -o OUT` write the same file; its
    failed rows fixed, it imports again and creates them."""
    source = write("a.csv", HEADER + ROWS + "303,,Cy,cy@x.org,web303pw,sip303x\n")
    direct = tmp_path / "direct.csv"
    assert run(capsys, "import", str(source), "--dupe", "skip", "--annotated", str(direct))[0] == 3
    later = tmp_path / "later.csv"
    assert run(capsys, "imports", "annotated", "1", str(source), "-o", str(later))[0] == 0
    assert later.read_bytes() == direct.read_bytes()
    text = later.read_text(encoding="utf-8-sig")
    assert "303,,Cy,cy@x.org,web303pw,sip303x,create_failed,First name is required" in text
    write("fixed.csv", text.replace("303,,Cy", "303,Cyd,Cy"))
    status, out, _ = run(capsys, "import", str(tmp_path / "fixed.csv"), "--dupe", "skip")
    assert status == 0
    assert "  created        1\n" in out
    assert list(stored_extensions(database_url)) == ["301", "302", "303"]


def test_annotated_refuses_another_file(capsys: pytest.CaptureFixture[str], write: Write) -> None:
    """`imports annotated` with a file other than the import's says so and writes nothing."""
    run(capsys, "import", str(write("a.csv", HEADER + ROWS)), "--dupe", "skip")
    other = write("b.csv", HEADER)
    status, out, err = run(capsys, "imports", "annotated", "1", str(other))
    assert (status, out) == (1, "")
    assert err == f"switchvox-server: {other} is not the file of import 1\n"


@pytest.mark.parametrize(("data", "cause"), CAUSES)
def test_each_94772_cause_is_named_on_stderr(
    capsys: pytest.CaptureFixture[str], write: Write, data: bytes, cause: str
) -> None:
    """The fault line stays the documented one; the next line names the precise cause."""
    status, out, err = run(capsys, "import", str(write("x.csv", data)), "--dupe", "skip")
    assert (status, out) == (1, "")
    first, second = err.splitlines()
    assert first.startswith("switchvox-server: 94772 Your CSV file is not in the correct format.")
    assert second.startswith("cause: ")
    assert cause in second


def test_many_identical_failures_are_grouped_with_a_count(
    capsys: pytest.CaptureFixture[str], write: Write
) -> None:
    """From 20 failed rows on, rows with the same messages are one line with their count
    and the first of them, by line and extension."""
    rows = "".join(f"{number},Ann,Lee,a@x.org,web{number}pw,\n" for number in range(400, 430))
    status, out, _ = run(capsys, "import", str(write("x.csv", HEADER + rows)), "--dupe", "skip")
    assert status == 3
    assert out.splitlines()[0] == (
        "30 rows: Phone password is required to create a sip extension. (line 2, extension"
        " 400; line 3, extension 401; line 4, extension 402; line 5, extension 403; line 6,"
        " extension 404; and 25 more)"
    )


@pytest.mark.slow
def test_updates_that_change_nothing_are_counted_and_labels_noted(
    capsys: pytest.CaptureFixture[str], write: Write
) -> None:
    """An update that changes nothing counts as unchanged; an unknown label is a note on
    stderr naming the accepted labels."""
    run(capsys, "import", str(write("a.csv", HEADER + ROWS)), "--dupe", "skip")
    path = write("b.csv", "ext,lname,colour\n301,Lee,red\n302,Other,blue\n")
    status, out, err = run(capsys, "import", str(path), "--dupe", "update")
    assert status == 0
    assert "  updated        2\n    unchanged    1\n" in out
    assert "note: Ignored header labels (no such column): 'colour'." in err
    assert "The accepted labels are ext, fname" in err


def test_templates_in_use_are_not_removed_and_others_are_recorded(
    capsys: pytest.CaptureFixture[str], write: Write
) -> None:
    """A template extensions were made from cannot be removed; an unused one is, and the
    removal is a recorded change naming the template."""
    run(capsys, "import", str(write("a.csv", HEADER + ROWS)), "--dupe", "skip")
    status, _, err = run(capsys, "templates", "remove", "1")
    assert status == 1
    assert err == "switchvox-server: template 1 is in use by 2 extensions: it cannot be removed\n"
    new_id = run(capsys, "templates", "add", "Sales")[1].strip()
    status, out, _ = run(capsys, "templates", "remove", new_id)
    assert status == 0
    assert out == f"Removed template {new_id} (recorded as import 3).\n"
    assert run(capsys, "templates", "show", new_id)[0] == 1
    items = json.loads(run(capsys, "imports", "list", "--format", "json")[1])
    assert [(item["kind"], item["options"]["action"]) for item in items[:2]] == [
        ("template", "remove"),
        ("template", "add"),
    ]


def test_templates_edit_changes_settings_and_records_before_and_after(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`templates edit` changes the given settings only, checked as an upload would, and
    records what they were and became."""
    status, out, _ = run(capsys, "templates", "edit", "1", "--title", "Staff", "--name", "Main")
    assert (status, out) == (0, "Changed template 1 (recorded as import 1).\n")
    shown = run(capsys, "templates", "show", "1")[1]
    assert "name: Main\n" in shown
    assert "title: Staff\n" in shown
    assert "location: \n" in shown
    (item,) = json.loads(run(capsys, "imports", "list", "--format", "json")[1])
    assert item["options"]["before"] == {"title": "", "name": "Default"}
    assert item["options"]["after"] == {"title": "Staff", "name": "Main"}
    status, _, err = run(capsys, "templates", "edit", "1", "--title", "x" * 65)
    assert status == 1
    assert "--title" in err
    assert run(capsys, "templates", "edit", "1")[0] == 1


def test_a_plan_from_the_command_line_applies_only_while_fresh(
    capsys: pytest.CaptureFixture[str], write: Write, database_url: str
) -> None:
    """`--report-only` prints a plan; `--plan` applies it while nothing changed, and is the
    stale-plan fault with nothing written once an extension it depends on changed."""
    run(capsys, "import", str(write("a.csv", HEADER + ROWS)), "--dupe", "skip")
    update = write("b.csv", "ext,lname\n301,Planned\n")
    out = run(capsys, "import", str(update), "--dupe", "update", "--report-only")[1]
    token = out.split("Plan: ")[1].split()[0]
    run(capsys, "import", str(write("c.csv", "ext,title\n301,Boss\n")), "--dupe", "update")
    status, _, err = run(capsys, "import", str(update), "--dupe", "update", "--plan", token)
    assert status == 1
    assert err.startswith("switchvox-server: 10034 ")
    out = run(capsys, "import", str(update), "--dupe", "update", "--report-only")[1]
    fresh = out.split("Plan: ")[1].split()[0]
    assert run(capsys, "import", str(update), "--dupe", "update", "--plan", fresh)[0] == 0


def test_show_names_the_failed_rows_and_the_notes(
    capsys: pytest.CaptureFixture[str], write: Write
) -> None:
    """`imports show` in text prints the import's fields, its notes and its failed rows by
    line and extension."""
    path = write(
        "a.csv",
        "ext,fname,lname,email,password,phone_password,colour\n"
        "301,Ann,Lee,ann@x.org,web301pw,sip301x,red\n"
        "302,Bob,Ray,bob@x.org,web302pw,sip302x,blue\n"
        "303,,Cy,cy@x.org,web303pw,sip303x,\n",
    )
    run(capsys, "import", str(path), "--dupe", "skip")
    status, out, _ = run(capsys, "imports", "show", "1")
    assert status == 0
    assert "kind: upload\n" in out
    assert f"sha256: {hashlib.sha256(path.read_bytes()).hexdigest()}\n" in out
    assert "counts: 1 create_failed, 2 created\n" in out
    assert "note: Ignored header labels (no such column): 'colour'." in out
    assert out.endswith(
        "line 4, extension 303: First name is required and must be 1 - 32 characters in length.\n"
    )


def test_undo_chains_across_a_removal_and_a_new_create(
    capsys: pytest.CaptureFixture[str], write: Write, database_url: str
) -> None:
    """Removed, created again by an upload, and that upload undone: the extension is as the
    removal left it, so the removal can be undone without force."""
    run(capsys, "import", str(write("a.csv", HEADER + ROWS)), "--dupe", "skip")
    run(capsys, "extensions", "remove", "301")
    again = write("b.csv", HEADER + "301,New,One,new@x.org,web301pw,sip301x\n")
    run(capsys, "import", str(again), "--dupe", "skip")
    assert run(capsys, "imports", "undo", "2")[0] == 1  # the new 301 is a later change
    assert run(capsys, "imports", "undo", "3")[0] == 0
    assert run(capsys, "imports", "undo", "2")[0] == 0
    assert list(stored_extensions(database_url)) == ["301", "302"]
