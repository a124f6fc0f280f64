"""Reading parameter values safely, before any conversion or query.

`int()` and `str.isdigit()` accept digits of every script (superscripts, Arabic-Indic
digits), and `int()` refuses strings of more than 4300 digits; a database integer column
overflows long before either. A numeric parameter is therefore read here, as ASCII digits
of a bounded length, and anything else is the parameter's own fault, chosen by the caller.

It sits outside the layers: the methods read their parameters with it, and the bulk
pipeline the template id an upload names.
"""

from __future__ import annotations

_ASCII_DIGITS = frozenset("0123456789")


def ascii_integer(text: str, max_digits: int) -> int | None:
    """The value of `text` if it is 1 to `max_digits` ASCII digits (no sign, no spaces:
    strip first if the parameter allows them), else None."""
    if not 0 < len(text) <= max_digits or not _ASCII_DIGITS.issuperset(text):
        return None
    return int(text)
