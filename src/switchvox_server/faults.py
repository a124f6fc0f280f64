"""Every API fault the server can answer with, and the exceptions that carry them.

The table below is the only place a fault message is written. Handlers raise
`ApiError(FAULTS.X, values...)`; one boundary (the endpoint) renders it as XML or JSON.

Exception hierarchy::

    SwitchvoxServerError        base of everything this package raises on purpose
    ├── ApiError                one or more API faults, answered with HTTP 200 and <errors>
    ├── IntakeError             the request body could not be taken in (fault 10002)
    │   └── BodyTooLarge        the body passed the upload limit before the method was known (413)
    ├── ConfigurationError      the environment holds an unusable setting
    └── store.writer.WriterFailed
                                the helper process could not store an upload (a database
                                failure); its message is the cause
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Origin(Enum):
    """Whether a fault is documented Switchvox behaviour or a decision of this project."""

    DOCUMENTED = "documented"
    OURS = "ours"


def fill(template: str, values: tuple[object, ...]) -> str:
    """The template with `%1`, `%2`… replaced by the values, in order."""
    # Replace from the highest index down so that %1 never eats the start of %10.
    for index in range(len(values), 0, -1):
        template = template.replace(f"%{index}", str(values[index - 1]))
    return template


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault code with its message template; `%1`, `%2`… are filled with values."""

    code: int
    template: str
    origin: Origin

    def format(self, *values: object) -> str:
        return fill(self.template, values)


DOC, OURS = Origin.DOCUMENTED, Origin.OURS


class FAULTS:
    """The fault table: generic faults first, then those of bulk upload."""

    MISSING_EXTENSIONS_OR_ACCOUNT_IDS = Fault(10000, "Missing extensions or account_ids", DOC)
    INVALID_EXTENSION = Fault(
        10010, "Invalid extension (%1). Extensions may only contain digits or *.", DOC
    )
    MISSING_PARAMETER = Fault(10011, "Missing required parameter (%1)", DOC)
    INVALID_EXTENSION_LENGTH = Fault(
        10012,
        "Invalid extension (%1). Extension must be between %2 to %3 characters in length.",
        DOC,
    )
    EXTENSIONS_OR_ACCOUNT_IDS_REQUIRED = Fault(
        10013,
        "Invalid number of parameters. At least one of the following parameters is required"
        " : (extensions,account_ids)",
        DOC,
    )
    INVALID_ACCOUNT_ID = Fault(
        10014, "Invalid account_id (%1). Account_ids may only contain digits.", DOC
    )
    EMPTY_REQUEST = Fault(10001, "The request was empty.", OURS)
    UNPARSABLE_REQUEST = Fault(10002, "The request could not be parsed (%1).", OURS)
    INVALID_METHOD = Fault(10003, "Invalid method (%1).", OURS)
    PERMISSION_DENIED = Fault(10004, "You do not have permission to call %1.", OURS)
    INVALID_PARAMETER_VALUE = Fault(10005, "Invalid value for parameter %1 (%2).", OURS)

    INVALID_EXTENSION_TYPE = Fault(
        61987,
        "Invalid extension type. Only SIP and Virtual extensions can be created in bulk.",
        DOC,
    )
    INVALID_DUPE_PROCESS = Fault(
        95106,
        "Invalid dupe process (%1). Valid options are: 1 (Skip), 2 (Replace), and 3 (Update).",
        DOC,
    )
    INVALID_TEMPLATE = Fault(86173, "Invalid template account ID (%1)", DOC)
    UNUSABLE_TEMPLATE = Fault(38297, "Error getting template values for template with id %1.", DOC)
    UPLOAD_PROBLEM = Fault(70674, "Problems uploading your CSV file.", DOC)
    TEMPORARY_FILE = Fault(32334, "Error creating temporary file for bulk extension creation.", DOC)
    CSV_FORMAT = Fault(
        94772,
        "Your CSV file is not in the correct format. Please see the help link next to the"
        " Extension File input for more information.",
        DOC,
    )
    CSV_EMPTY = Fault(51132, "Your CSV file contained no extension data.", DOC)
    UNREGISTERED_LIMIT = Fault(
        86161,
        "Your phone system has not yet been registered and is limited to %1 extensions.",
        DOC,
    )
    LICENCE_EXCEEDED = Fault(
        86162,
        "You have exceeded the number of phone extensions available for your PBX. Please"
        " contact your reseller to purchase more extensions.",
        DOC,
    )
    # Not reachable from a CSV upload; kept because the method page lists it.
    NOT_AN_ARRAY = Fault(96463, "The extension_array parameter is not an array.", DOC)

    @classmethod
    def all(cls) -> list[Fault]:
        """Every fault of the table, in the order written."""
        return [value for value in vars(cls).values() if isinstance(value, Fault)]


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    """One `<error code=… message=…/>` of a fault response."""

    code: int
    message: str


class SwitchvoxServerError(Exception):
    """Base of the exceptions this package raises on purpose."""


class ApiError(SwitchvoxServerError):
    """One or more API faults; the response carries them instead of a result."""

    def __init__(self, fault: Fault, *values: object) -> None:
        self.errors: tuple[ErrorEntry, ...] = (ErrorEntry(fault.code, fault.format(*values)),)
        super().__init__(self.errors[0].message)

    @classmethod
    def several(cls, faults: Iterable[tuple[Fault, tuple[object, ...]]]) -> ApiError:
        """One response listing several faults, e.g. one per bad list item."""
        entries = tuple(ErrorEntry(fault.code, fault.format(*values)) for fault, values in faults)
        if not entries:
            raise ValueError("ApiError.several needs at least one fault")
        error = cls.__new__(cls)
        SwitchvoxServerError.__init__(error, entries[0].message)
        error.errors = entries
        return error

    def __str__(self) -> str:
        return "; ".join(f"{entry.code}: {entry.message}" for entry in self.errors)


class ConfigurationError(SwitchvoxServerError):
    """An environment variable holds a value the server cannot use."""


class IntakeError(SwitchvoxServerError):
    """The request body could not be taken in; the message says why in a few words."""


class BodyTooLarge(IntakeError):
    """The body passed the upload limit before its request part was read."""

    def __init__(self) -> None:
        super().__init__("the body is larger than the upload limit")
