"""Every API fault the server can answer with, and the exceptions that carry them.

The table below is the only place a fault message is written. Handlers raise
`ApiError(FAULTS.X, values...)`; one boundary (the endpoint) renders it as XML or JSON.

Exception hierarchy::

    SwitchvoxServerError        base of everything this package raises on purpose
    ├── ApiError                one or more API faults, answered with HTTP 200 and <errors>
    ├── IntakeError             the request body could not be taken in (fault 10002)
    │   └── BodyTooLarge        the body passed the upload limit before the method was known (413)
    ├── DatabaseUnavailable     the database failed; nothing was written (fault 10007)
    │   └── store.writer.WriterFailed
    │                           the helper process could not store an upload; its message
    │                           is the cause
    └── ConfigurationError      the environment holds an unusable setting
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Origin(Enum):
    """Whether a fault is documented Switchvox behaviour or a decision of this project."""

    DOCUMENTED = "documented"
    OURS = "ours"


# A fault echoes at most this many characters of a value, then ECHO_ELLIPSIS (ours): a
# value can be megabytes long, and the answer must stay small.
ECHO_LIMIT = 64
ECHO_ELLIPSIS = "\u2026"


def echo(value: object) -> str:
    """`value` as a fault message shows it: its first ECHO_LIMIT characters, then `…`."""
    text = str(value)
    return text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + ECHO_ELLIPSIS


def fill(template: str, values: tuple[object, ...]) -> str:
    """The template with `%1`, `%2`… replaced by the values, in order, each `echo`ed."""
    # Replace from the highest index down so that %1 never eats the start of %10.
    for index in range(len(values), 0, -1):
        template = template.replace(f"%{index}", echo(values[index - 1]))
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
    INVALID_PARAMETER_VALUE = Fault(10005, "Invalid value for parameter %1 (%2).", OURS)
    PARAMETER_REPEATED = Fault(10006, "Parameter (%1) was given more than once.", OURS)
    DATABASE_UNAVAILABLE = Fault(
        10007,
        "The request could not be completed because the database is unavailable. Try it"
        " again later.",
        OURS,
    )
    INTERNAL_ERROR = Fault(10008, "The server could not complete the request.", OURS)

    # The text of several Switchvox method pages, admin methods among them.
    PERMISSION_DENIED = Fault(27168, "Your account is not permitted to run this action.", DOC)

    # The paged-search family (documented on switchvox.users.callLogs.search), used by
    # switchvox.extensions.search.
    INVALID_SORT_FIELD = Fault(12016, "Invalid sort field", DOC)
    INVALID_SORT_ORDER = Fault(12017, "Invalid sort order", DOC)
    INVALID_ITEMS_PER_PAGE = Fault(12018, "items_per_page may only contain digits", DOC)
    INVALID_PAGE_NUMBER = Fault(12019, "page_number may only contain digits", DOC)
    INVALID_DATE = Fault(
        77534, "Invalid date (%1). Date and time format is (YYYY-MM-DD HH:MM:SS)", DOC
    )
    DATE_31ST_OF_SHORT_MONTH = Fault(
        25673, "Invalid date (%1). You selected the 31st of a month with only 30 days.", DOC
    )
    DATE_FEBRUARY_29TH = Fault(
        75429, "Invalid date (%1). February 29th is outside a leap year.", DOC
    )
    DATE_FEBRUARY_30TH_31ST = Fault(
        63014, "Invalid date (%1). February 30th and 31st do not exist.", DOC
    )
    DATES_REVERSED = Fault(12010, "The 'To Date' is before your 'From Date'", DOC)
    EXTENSION_RANGE_REVERSED = Fault(
        10020,
        "Invalid extension range (%1 to %2). max_extension must be greater than min_extension.",
        OURS,
    )
    UNKNOWN_DIAL_AS_ACCOUNT = Fault(
        10021, "Invalid dial_as_account_id (%1). No extension has that account id.", OURS
    )
    # Never answered by the stand-in itself; a test injects it (switchvox.call).
    CALL_FAILED = Fault(41591, "Your call failed to connect (Originate failed).", DOC)

    # The import history (docs/history.md).
    INVALID_IMPORT = Fault(10030, "Invalid import id (%1).", OURS)
    UNDO_CONFLICT = Fault(
        10031,
        "Import %1 was not undone: later changes touched extensions %2. Undo it with force=1"
        " to put back the others.",
        OURS,
    )
    NOT_UNDOABLE = Fault(10032, "Import %1 cannot be undone: %2.", OURS)
    FILE_MISMATCH = Fault(10033, "The file is not the one of import %1.", OURS)
    STALE_PLAN = Fault(
        10034,
        "The plan does not match: the file, the options or the extensions it depends on"
        " have changed since it was made. Nothing was written.",
        OURS,
    )
    INVALID_PLAN = Fault(
        10035, "Invalid plan. Use the Switchvox-Plan header of a report_only answer.", OURS
    )
    REUSED_IDEMPOTENCY_KEY = Fault(
        10036, "Idempotency-Key (%1) was used for a different request.", OURS
    )
    RUNNING_IDEMPOTENCY_KEY = Fault(
        10037,
        "A request with Idempotency-Key (%1) is still running. Try it again later.",
        OURS,
    )
    INVALID_IDEMPOTENCY_KEY = Fault(
        10038, "Invalid Idempotency-Key: use 1 to 255 printable ASCII characters.", OURS
    )

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

    detail: str | None = None
    """The precise cause, for the server log, the command line and the history; never part
    of the answer, whose code and message stay the documented ones."""

    def __init__(self, fault: Fault, *values: object, detail: str | None = None) -> None:
        self.errors: tuple[ErrorEntry, ...] = (ErrorEntry(fault.code, fault.format(*values)),)
        self.detail = detail
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


class DatabaseUnavailable(SwitchvoxServerError):
    """The database could not be reached, stopped answering, ran out of space or held a lock
    too long. The message is the cause, fit for a log line: it never holds a credential."""


class IntakeError(SwitchvoxServerError):
    """The request body could not be taken in; the message says why in a few words."""


class BodyTooLarge(IntakeError):
    """The body passed the upload limit before its request part was read."""

    def __init__(self) -> None:
        super().__init__("the body is larger than the upload limit")
