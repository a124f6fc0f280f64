"""What an authenticated caller is: the result of signing in (http/), read by the method
registry (methods/) to decide which methods the caller may call."""

from __future__ import annotations

from enum import Enum


class Principal(Enum):
    """What an authenticated caller is."""

    FULL_ADMIN = "full"
    READ_ONLY_ADMIN = "read_only"
    EXTENSION = "extension"
