"""`switchvox-server templates`: list, show and add extension templates from the command line."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from switchvox_server.cli import main
from tests.helpers import upload

LIST_HEADER = (
    "id\tname\tlang_locale\tcan_dial_from_ivr\tstatus\ttitle\tlocation"
    "\tvoicemail_enabled\tvoicemail_pin_rule\n"
)
DEFAULT_ROW = "1\tDefault\ten_us\tyes\t1\t\t\tyes\textension\n"


# Each command sees the test database and the test admin password, nothing else.
pytestmark = pytest.mark.usefixtures("cli_environment")


def test_list_shows_the_default_template(capsys: pytest.CaptureFixture[str]) -> None:
    """A fresh store lists template 1, `Default`, with the default settings."""
    assert main(["templates", "list"]) == 0
    assert capsys.readouterr().out == LIST_HEADER + DEFAULT_ROW


def test_add_prints_the_id_and_show_lists_every_setting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`add` prints only the new id; `show` gives every setting; `list` includes it."""
    arguments = ["templates", "add", "Sales", "--title", "Sales team", "--location", "HQ"]
    arguments += ["--lang-locale", "de_de", "--status", "2", "--no-dial-from-ivr"]
    arguments += ["--no-voicemail", "--voicemail-pin-rule", "required"]
    assert main(arguments) == 0
    new_id = int(capsys.readouterr().out)
    assert new_id > 1

    assert main(["templates", "show", str(new_id)]) == 0
    assert capsys.readouterr().out == (
        f"id: {new_id}\n"
        "name: Sales\n"
        "lang_locale: de_de\n"
        "can_dial_from_ivr: no\n"
        "status: 2\n"
        "title: Sales team\n"
        "location: HQ\n"
        "voicemail_enabled: no\n"
        "voicemail_pin_rule: required\n"
    )
    assert main(["templates", "list"]) == 0
    assert capsys.readouterr().out == (
        LIST_HEADER + DEFAULT_ROW + f"{new_id}\tSales\tde_de\tno\t2\tSales team\tHQ\tno\trequired\n"
    )


def test_added_template_is_used_by_uploads(
    capsys: pytest.CaptureFixture[str], client: TestClient
) -> None:
    """An upload with the new template's id takes its defaults (here: a required PIN)."""
    assert main(["templates", "add", "Strict", "--voicemail-pin-rule", "required"]) == 0
    new_id = capsys.readouterr().out.strip()
    csv = "ext,fname,lname,email,password,phone_password\n401,A,B,a@b.org,pw401x,s401\n"
    response = upload(client, csv, template_account_id=new_id)
    assert response.find(".//created/extension") is None
    assert response.find(".//create_failed/extension") is not None


def test_add_with_defaults_only(capsys: pytest.CaptureFixture[str]) -> None:
    """A template given only a name takes every default."""
    assert main(["templates", "add", "Plain"]) == 0
    new_id = capsys.readouterr().out.strip()
    assert main(["templates", "show", new_id]) == 0
    assert capsys.readouterr().out == (
        f"id: {new_id}\nname: Plain\nlang_locale: en_us\ncan_dial_from_ivr: yes\nstatus: 1\n"
        "title: \nlocation: \nvoicemail_enabled: yes\nvoicemail_pin_rule: extension\n"
    )


def test_add_refuses_a_name_taken(capsys: pytest.CaptureFixture[str]) -> None:
    """A second template of the same name is refused with a message and exit 1."""
    assert main(["templates", "add", "Sales"]) == 0
    capsys.readouterr()
    assert main(["templates", "add", "Sales", "--title", "other"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "switchvox-server: a template named 'Sales' already exists\n"
    assert main(["templates", "add", "Default"]) == 1


@pytest.mark.parametrize(
    ("options", "option"),
    [
        (["--status", ""], "--status"),
        (["--lang-locale", ""], "--lang-locale"),
        (["--title", "t" * 65], "--title"),
        (["--location", "floor\x0b2"], "--location"),
    ],
)
def test_add_refuses_what_uploads_would_refuse(
    options: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Settings that would make uploads answer fault 38297 are refused, and nothing is
    added."""
    assert main(["templates", "add", "Broken", *options]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"switchvox-server: {option}: uploads would refuse such a template")
    assert "fault 38297" in err
    assert main(["templates", "list"]) == 0
    assert "Broken" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["", "--title", "x"], "a template name must not be empty"),
        (["n" * 65], "a template name must be at most 64 characters"),
        ([" Sales"], "a template name must not contain control characters or start or end"),
        (["X", "--status", "s" * 17], "--status must be at most 16 characters"),
        (["X", "--lang-locale", "en\x01"], "--lang-locale must not contain control characters"),
    ],
)
def test_add_checks_names_and_column_sizes(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Names and settings that the store could not hold, or render, are refused."""
    assert main(["templates", "add", *arguments]) == 1
    assert capsys.readouterr().err.startswith(f"switchvox-server: {message}")


def test_show_of_an_unknown_id(capsys: pytest.CaptureFixture[str]) -> None:
    """Showing an id nobody has exits 1 with a message."""
    assert main(["templates", "show", "99"]) == 1
    assert capsys.readouterr().err == "switchvox-server: no template with the id 99\n"
