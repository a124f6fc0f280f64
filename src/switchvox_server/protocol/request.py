"""The parsed form of an API request, whatever envelope it arrived in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

from switchvox_server.faults import FAULTS, ApiError, Fault

ParameterValue = str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """A method name, its parameters (scalars or lists of strings), the uploaded file, the
    fault an upload deserves when its file arrived unusable (truncated, too large, not
    spooled, or one of several), and the file's name as the client sent it."""

    method: str
    parameters: Mapping[str, ParameterValue] = field(default_factory=dict)
    upload: IO[bytes] | None = None
    upload_problem: Fault | None = None
    upload_name: str | None = None

    def scalar(self, name: str) -> str | None:
        """The parameter as one string; a list of one item counts, an absent one (or an
        empty list) is None. Several values are fault 10006: which one was meant cannot be
        known, and neither may be dropped (a `report_only` must never become a write)."""
        value = self.parameters.get(name)
        if isinstance(value, tuple):
            if len(value) > 1:
                raise ApiError(FAULTS.PARAMETER_REPEATED, name)
            return value[0] if value else None
        return value

    def items(self, name: str) -> tuple[str, ...]:
        """The parameter as a list; a scalar counts as a list of one."""
        value = self.parameters.get(name)
        if value is None:
            return ()
        return value if isinstance(value, tuple) else (value,)
