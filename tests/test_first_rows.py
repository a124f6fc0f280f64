"""Remembering the first row of each extension number in a file."""

from __future__ import annotations

import pytest

from switchvox_server.bulk.upload import FirstRows


@pytest.mark.parametrize(("min_length", "max_length"), [(3, 6), (1, 9)], ids=["flat", "dict"])
def test_first_occurrence_wins(min_length: int, max_length: int) -> None:
    """The first row given for a number is returned for every later one."""
    rows = FirstRows(min_length, max_length)
    assert rows.first("301", 2) == 2
    assert rows.first("302", 3) == 3
    assert rows.first("301", 7) == 2
    assert rows.first("999999", 8) == 8
    assert rows.first("999999", 9) == 8


def test_leading_zeros_make_different_numbers() -> None:
    """`0301` and `301` are different extensions."""
    rows = FirstRows(3, 6)
    assert rows.first("0301", 2) == 2
    assert rows.first("301", 3) == 3
    assert rows.first("000", 4) == 4
    assert rows.first("0000", 5) == 5


def test_large_plans_fall_back_to_a_dict() -> None:
    """A nine-digit plan is not given a billion-entry array."""
    assert FirstRows(1, 9)._rows is None
    assert FirstRows(3, 6)._rows is not None
