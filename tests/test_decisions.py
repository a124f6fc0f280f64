"""The decisions table and its generated page stay in step."""

from __future__ import annotations

from pathlib import Path

from switchvox_server.decisions import as_markdown

DOCS = Path(__file__).parent.parent / "docs" / "decisions.md"


def test_docs_page_is_generated_from_the_table() -> None:
    """docs/decisions.md is exactly what `python -m switchvox_server.decisions` prints."""
    assert DOCS.read_text() == as_markdown()
