"""The method page's documented example, reproduced end to end."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import FIXTURES
from tests.helpers import canonical, section, upload


def test_documented_example_gives_documented_report(client: TestClient) -> None:
    """Rows 301-305 as in the method page give the method page's report, canonically equal."""
    response = upload(client, (FIXTURES / "example.csv").read_bytes())
    expected = (FIXTURES / "example_report.xml").read_bytes()
    assert canonical(response) == canonical(expected)


def test_posting_the_example_again_skips_what_was_created(client: TestClient) -> None:
    """A second post skips 302, 303 and 305 and fails 301 and 304 again."""
    csv = (FIXTURES / "example.csv").read_bytes()
    upload(client, csv)
    again = upload(client, csv)
    assert section(again, "skipped") == ["302", "303", "305"]
    assert section(again, "create_failed") == ["301", "304"]
    assert section(again, "created") == []
