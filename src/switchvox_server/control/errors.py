"""The error of a control request the caller can fix, answered as a one-line JSON error."""

from __future__ import annotations

from switchvox_server.faults import SwitchvoxServerError


class ControlError(SwitchvoxServerError):
    """A control request that cannot be carried out; `status` is its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
