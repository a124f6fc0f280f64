"""The profiles table: its setting, its generated page, and the JSON scalar types."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from switchvox_server import profiles
from switchvox_server.faults import ConfigurationError, ErrorEntry
from switchvox_server.profiles import DIFFERENCES, Difference, Profile
from switchvox_server.protocol.json_envelope import render_response
from switchvox_server.settings import Settings
from switchvox_server.tree import Element, LazyChildren
from tests.helpers import scalars

ROOT = Path(__file__).parent.parent
PAGE = ROOT / "docs" / "profiles.md"
SOURCE = ROOT / "src" / "switchvox_server"


def test_docs_page_is_generated_from_the_table() -> None:
    """docs/profiles.md is exactly what `python -m switchvox_server.profiles` prints."""
    assert PAGE.read_text() == profiles.as_markdown()


def test_every_row_carries_evidence_and_is_used_by_the_code() -> None:
    """Each row of the table has its evidence, and some module outside profiles.py asks for
    it by name: a row no code consults would document a difference that does not exist."""
    names = {name: value for name, value in vars(profiles).items() if isinstance(value, Difference)}
    assert sorted(names.values(), key=DIFFERENCES.index) == list(DIFFERENCES)
    code = "".join(path.read_text() for path in SOURCE.rglob("*.py") if path.name != "profiles.py")
    for name, row in names.items():
        assert row.evidence.strip(), name
        assert re.search(rf"\b{name}\b", code), f"no code consults profiles.{name}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", Profile.CLASSIC), ("classic", Profile.CLASSIC), (" Modern ", Profile.MODERN)],
)
def test_profile_setting(raw: str, expected: Profile) -> None:
    """SWITCHVOX_PROFILE defaults to classic and takes either name in any case."""
    assert Settings.from_environ({"SWITCHVOX_PROFILE": raw}).profile is expected


@pytest.mark.parametrize("raw", ["new", "6.6", "classic,modern"])
def test_an_unknown_profile_is_a_configuration_error(raw: str) -> None:
    """Any other value stops the server at start with a message naming the two profiles."""
    with pytest.raises(ConfigurationError, match="classic or modern"):
        Settings.from_environ({"SWITCHVOX_PROFILE": raw})


def test_only_the_modern_profile_takes_a_row() -> None:
    """`takes` is True under modern only, and refuses a behaviour missing from the table."""
    for row in DIFFERENCES:
        assert Profile.MODERN.takes(row)
        assert not Profile.CLASSIC.takes(row)
    with pytest.raises(ValueError, match="not a row"):
        Profile.MODERN.takes(Difference("unlisted", "a", "b", "c"))


def _rendered(strings: bool) -> dict[str, object]:
    rows = [Element("extension", {"number": 301, "account_id": 1101, "display": "A B"})] * 2
    result = Element(
        "extensions",
        {"page_number": 1, "total_items": 2},
        LazyChildren("extension", 2, lambda: iter(rows)),
    )
    body = b"".join(render_response("m", result, strings=strings))
    document: dict[str, object] = json.loads(body)
    return document


def test_json_strings_quote_every_scalar_of_a_result() -> None:
    """With strings, every value of a streamed result is a JSON string; without, numbers by
    nature stay numbers."""
    modern = _rendered(strings=True)
    assert all(isinstance(value, str) for value in scalars(modern))
    assert modern["response"]["result"]["extensions"]["page_number"] == "1"  # type: ignore[index]
    classic = _rendered(strings=False)
    assert classic["response"]["result"]["extensions"]["page_number"] == 1  # type: ignore[index]


def test_json_strings_quote_fault_codes() -> None:
    """A fault's code is "10011" with strings and 10011 without."""
    errors = [ErrorEntry(10011, "Missing required parameter (x)")]
    for strings, code in ((True, "10011"), (False, 10011)):
        body = json.loads(b"".join(render_response("m", None, errors, strings=strings)))
        assert body["response"]["errors"]["error"]["code"] == code
