"""`switchvox-server seed`: applying a seed file from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from switchvox_server.cli import main
from tests.conftest import FIXTURES

SEED_TOML = FIXTURES / "seed.toml"


# Each command sees the test database and the test admin password, nothing else.
pytestmark = pytest.mark.usefixtures("cli_environment")


def test_seeding_twice_creates_then_updates_the_same_records(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The first run creates what the seed declares; the second finds it all and leaves the
    store as it was."""
    assert main(["seed", str(SEED_TOML)]) == 0
    assert main(["export"]) == 0
    first, err = capsys.readouterr()
    assert err == ""
    assert main(["seed", str(SEED_TOML)]) == 0
    assert main(["export"]) == 0
    second, err = capsys.readouterr()
    assert err == ""

    created = (
        "templates: 2 created, 0 updated; admins: 2 created, 0 updated;"
        " extensions: 3 created, 0 updated"
    )
    updated = (
        "templates: 0 created, 2 updated; admins: 0 created, 2 updated;"
        " extensions: 0 created, 3 updated"
    )
    summary, _, exported = first.partition("\n")
    assert summary == f"Applied {SEED_TOML}: {created}"
    again, _, exported_again = second.partition("\n")
    assert again == f"Applied {SEED_TOML}: {updated}"
    assert exported_again == exported
    assert exported.count("\n") == 4  # the header and the three extensions


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("broken.toml", "[[admins]\nname = 'ops'\n", "not valid TOML"),
        ("broken.json", '{"admins": [{"name": "ops"}]}', "'password' is required"),
        ("broken.yaml", "admins: []\n", "a seed file must end in .toml or .json"),
        (
            "broken.toml",
            "[[extensions]]\next = '401'\nfname = 'Ada'\ntemplate = 'Nowhere'\n",
            "there is no template named 'Nowhere'",
        ),
    ],
)
def test_broken_seed_is_a_message_not_a_traceback(
    name: str, content: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A seed that cannot be read or applied exits 1 with one `switchvox-server:` message."""
    path = tmp_path / name
    path.write_text(content)
    assert main(["seed", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("switchvox-server: ")
    assert problem in err
    assert "Traceback" not in err


def test_missing_seed_file_is_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A seed file that does not exist is named in the message."""
    path = tmp_path / "absent.toml"
    assert main(["seed", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"switchvox-server: cannot read the seed file {path}: No such file or directory\n"
    )


def test_failed_seed_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """When one part of a seed fails, the parts before it are not stored either."""
    path = tmp_path / "seed.toml"
    path.write_text(
        "[[admins]]\nname = 'ops'\npassword = 'ops-password'\naccess = 'full'\n\n"
        "[[extensions]]\next = '401'\ntemplate = 'Nowhere'\n"
    )
    assert main(["seed", str(path)]) == 1
    capsys.readouterr()
    assert main(["admin", "list"]) == 0
    assert capsys.readouterr().out == "admin\tfull\n"


def test_seeded_admin_signs_in_over_http(make_client: Callable[..., TestClient]) -> None:
    """An admin the seed declares authenticates with its password, and not with another."""
    assert main(["seed", str(SEED_TOML)]) == 0
    client = make_client()
    client.auth = ("ops", "ops-password")
    assert client.post("/xml", content=b"").status_code == 200
    client.auth = ("ops", "wrong-password")
    assert client.post("/xml", content=b"").status_code == 401
