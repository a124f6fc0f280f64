"""The fault table: codes unique, messages formatted by position."""

from __future__ import annotations

from switchvox_server.faults import FAULTS, ApiError, Fault, Origin


def test_codes_are_unique() -> None:
    """No two faults share a code."""
    codes = [fault.code for fault in FAULTS.all()]
    assert len(codes) == len(set(codes))


def test_placeholders_are_filled_by_position() -> None:
    """%1, %2 and %3 take the values in order, and %10 is not mistaken for %1."""
    fault = Fault(1, "%1-%2-%3 %10", Origin.OURS)
    assert fault.format(*"abcdefghij") == "a-b-c j"


def test_several_faults_keep_their_order() -> None:
    """ApiError.several carries one entry per fault, in the order given."""
    error = ApiError.several(
        [(FAULTS.INVALID_EXTENSION, ("x",)), (FAULTS.INVALID_ACCOUNT_ID, ("y",))]
    )
    assert [entry.code for entry in error.errors] == [10010, 10014]
    assert error.errors[1].message == "Invalid account_id (y). Account_ids may only contain digits."
