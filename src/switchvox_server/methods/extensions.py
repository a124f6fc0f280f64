"""`switchvox.extensions.getInfo` and `switchvox.extensions.search` (docs/methods.md).

Decisions of this project (ours); the limits are the constants below:

- getInfo lists extensions in the order requested: the `extensions` first, then the
  `account_ids`, each extension once (at its first mention). Unknown ones are left out,
  and so is an account id of more significant digits than any stored id can have.
- getInfo without either parameter is fault 10013; with one or both given but holding no
  value is 10000. Every bad item is reported, one `<error>` each.
- search uses the documented faults of the paged-search family (12016-12019, 77534, 25673,
  75429, 63014, 12010) and reports every bad value at once. `min_extension` and
  `max_extension` take digits and `*`, compared by (length, text), so "999" < "1000"; when
  both are given the max must be greater than the min (10020). A bad bound or extension
  type, or a count of 0 or past its maximum, is 10005. Both dates are UTC,
  `YYYY-MM-DD HH:MM:SS`, inclusive; `9999-12-31 23:59:59` is the last valid one.
- Every documented extension type code filters; the types this server does not store
  simply match nothing.
- `items_per_page` is 1 to MAX_ITEMS_PER_PAGE, `page_number` 1 to MAX_PAGE_NUMBER; a page
  past the end is empty; `total_pages` is 0 when nothing matches. A page streams from the
  database while it is rendered, so its size costs no memory.
- Sorting by `display` uses byte order ("Zoe" before "adam") so that every database agrees;
  ties are broken by number, and DESC is the exact reverse of ASC.
- `status` is a number when it is all digits, as the templates store it ("1").
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

from switchvox_server.faults import FAULTS, ApiError, Fault
from switchvox_server.methods.registry import Access, Method, MethodContext
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.store import directory
from switchvox_server.store.directory import ExtensionFilter, SortField
from switchvox_server.store.models import ExtensionType
from switchvox_server.tree import Element, LazyChildren, number_or_text
from switchvox_server.values import ascii_integer

GET_INFO = "switchvox.extensions.getInfo"
SEARCH = "switchvox.extensions.search"

DEFAULT_ITEMS_PER_PAGE = 50
# Clients in the wild ask for 9999 at a time; a page streams, so size costs no memory.
MAX_ITEMS_PER_PAGE = 100_000
MAX_PAGE_NUMBER = 999_999_999
SORT_FIELDS = {field.value: field for field in SortField}
SORT_ORDERS = {"asc": False, "desc": True}  # value -> descending
# Every type code the Extend API documents; those this server does not store match nothing.
DOCUMENTED_EXTENSION_TYPES = frozenset(
    (
        "sip",
        "call_queue",
        "ivr",
        "virtual",
        "intercom",
        "directory",
        "feature_intercom",
        "feature_directed_pickup",
        "feature_send_to_vm",
        "feature_monitor",
        "feature_fax",
        "voicemail",
        "simple_conference",
        "conference",
        "agentcallbacklogin",
        "agentcallbacklogoff",
        "group_pickup",
        "callpark",
        "zap",
        "parkinglog",
        "autodial",
    )
)
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_DATE_SHAPE = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})", re.ASCII)
_EXTENSION_SHAPE = re.compile(r"[0-9*]+")
# No stored id can be larger (a 64-bit integer); larger ones are simply not found.
_MAX_ACCOUNT_ID = 2**63 - 1
_MAX_ACCOUNT_ID_DIGITS = len(str(_MAX_ACCOUNT_ID))

Problems = list[tuple[Fault, tuple[object, ...]]]
T = TypeVar("T")


def extension_element(row: Mapping[Any, Any]) -> Element:
    """One `<extension/>` of getInfo and search, attributes in the documented order."""
    return Element(
        "extension",
        {
            "number": number_or_text(row["number"]),
            "status": number_or_text(row["status"]),
            "can_dial_from_ivr": int(row["can_dial_from_ivr"]),
            "account_id": row["account_id"],
            "display": f"{row['first_name']} {row['last_name']}",
            "date_created": row["date_created"].strftime(DATE_FORMAT),
            "type": row["extension_type"],
            "type_display": ExtensionType(row["extension_type"]).display,
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "email_address": row["email"],
            "template_id": row["template_id"],
            "template_name": row["template_name"],
            "title": row["title"],
            "location": row["location"],
            "lang_locale": row["lang_locale"],
        },
    )


# --------------------------------------------------------------------------- getInfo


def get_info(request: ApiRequest, context: MethodContext) -> Element:
    if "extensions" not in request.parameters and "account_ids" not in request.parameters:
        raise ApiError(FAULTS.EXTENSIONS_OR_ACCOUNT_IDS_REQUIRED)
    numbers = _present(request.items("extensions"))
    raw_ids = _present(request.items("account_ids"))
    if not numbers and not raw_ids:
        raise ApiError(FAULTS.MISSING_EXTENSIONS_OR_ACCOUNT_IDS)

    problems: Problems = []
    settings = context.settings
    for number in numbers:
        if not _EXTENSION_SHAPE.fullmatch(number):
            problems.append((FAULTS.INVALID_EXTENSION, (number,)))
        elif not settings.extension_min_length <= len(number) <= settings.extension_max_length:
            bounds = (settings.extension_min_length, settings.extension_max_length)
            problems.append((FAULTS.INVALID_EXTENSION_LENGTH, (number, *bounds)))
    for raw in raw_ids:
        if not (raw.isascii() and raw.isdigit()):
            problems.append((FAULTS.INVALID_ACCOUNT_ID, (raw,)))
    if problems:
        raise ApiError.several(problems)
    parsed = (ascii_integer(raw, max_digits=_MAX_ACCOUNT_ID_DIGITS) for raw in raw_ids)
    account_ids = [value for value in parsed if value is not None and value <= _MAX_ACCOUNT_ID]

    with context.database.sessions() as session:
        rows = directory.extensions_by_keys(session, numbers, account_ids)
    by_number = {row["number"]: row for row in rows}
    by_id = {row["account_id"]: row for row in rows}
    requested = [by_number.get(number) for number in numbers]
    requested += [by_id.get(account_id) for account_id in account_ids]
    found = {row["account_id"]: row for row in requested if row is not None}
    return Element("extensions", children=[extension_element(row) for row in found.values()])


def _present(values: tuple[str, ...]) -> list[str]:
    """The non-blank values, trimmed, each once, in the order given."""
    return list(dict.fromkeys(value.strip() for value in values if value.strip()))


# --------------------------------------------------------------------------- search


def search(request: ApiRequest, context: MethodContext) -> Element:
    problems: Problems = []
    min_number = _bound(request, "min_extension", problems)
    max_number = _bound(request, "max_extension", problems)
    if (
        min_number is not None
        and max_number is not None
        and _number_order(max_number) <= _number_order(min_number)
    ):
        problems.append((FAULTS.EXTENSION_RANGE_REVERSED, (min_number, max_number)))
    created_from = _date(request, "min_create_date", problems)
    created_to = _date(request, "max_create_date", problems)
    if created_from is not None and created_to is not None and created_to < created_from:
        problems.append((FAULTS.DATES_REVERSED, ()))
    where = ExtensionFilter(
        min_number=min_number,
        max_number=max_number,
        types=_types(request, problems),
        created_from=created_from,
        created_to=created_to,
    )
    sort = _choice(
        request, "sort_field", SORT_FIELDS, SortField.NUMBER, FAULTS.INVALID_SORT_FIELD, problems
    )
    descending = _choice(
        request, "sort_order", SORT_ORDERS, False, FAULTS.INVALID_SORT_ORDER, problems
    )
    per_page = _count(
        request, "items_per_page", DEFAULT_ITEMS_PER_PAGE, MAX_ITEMS_PER_PAGE, problems
    )
    page_number = _count(request, "page_number", 1, MAX_PAGE_NUMBER, problems)
    if problems:
        raise ApiError.several(problems)

    offset = (page_number - 1) * per_page
    # The session stays open until the response has been sent: the page streams from it.
    session = context.cleanup.enter_context(context.database.sessions())
    directory.read_snapshot(session)
    total = directory.count_matching(session, where)
    on_page = max(0, min(per_page, total - offset))

    def page() -> Iterator[Element]:
        if not on_page:  # a page past the end needs no query (and no huge OFFSET)
            return
        rows = directory.search_page(
            session, where, sort, descending=descending, limit=per_page, offset=offset
        )
        for row in rows:
            yield extension_element(row)

    attributes = {  # the order of the documented <calls> of callLogs.search
        "page_number": page_number,
        "total_pages": (total + per_page - 1) // per_page,
        "items_per_page": per_page,
        "total_items": total,
    }
    return Element("extensions", attributes, LazyChildren("extension", on_page, page))


def _invalid(name: str, value: str) -> tuple[Fault, tuple[object, ...]]:
    return FAULTS.INVALID_PARAMETER_VALUE, (name, value)


def _given(request: ApiRequest, name: str) -> str | None:
    value = (request.scalar(name) or "").strip()
    return value or None


def _number_order(number: str) -> tuple[int, str]:
    return len(number), number


def _bound(request: ApiRequest, name: str, problems: Problems) -> str | None:
    value = _given(request, name)
    if value is not None and not _EXTENSION_SHAPE.fullmatch(value):
        problems.append(_invalid(name, value))
        return None
    return value


def _types(request: ApiRequest, problems: Problems) -> list[str]:
    types: list[str] = []
    for name in ("extension_types", "extension_type"):
        for value in _present(request.items(name)):
            if value.lower() in DOCUMENTED_EXTENSION_TYPES:
                types.append(value.lower())
            else:
                problems.append(_invalid(name, value))
    return types


def _date(request: ApiRequest, name: str, problems: Problems) -> datetime | None:
    """A `YYYY-MM-DD HH:MM:SS` date, or None with the documented fault for what is wrong."""
    value = _given(request, name)
    if value is None:
        return None
    shape = _DATE_SHAPE.fullmatch(value)
    if shape is None:
        problems.append((FAULTS.INVALID_DATE, (value,)))
        return None
    year, month, day, hour, minute, second = map(int, shape.groups())
    if not (year >= 1 and 1 <= month <= 12 and hour < 24 and minute < 60 and second < 60):
        problems.append((FAULTS.INVALID_DATE, (value,)))
        return None
    days_in_month = calendar.monthrange(year, month)[1]
    if 1 <= day <= days_in_month:
        return datetime(year, month, day, hour, minute, second)
    if month == 2 and day == 29:
        problems.append((FAULTS.DATE_FEBRUARY_29TH, (value,)))
    elif month == 2 and day in (30, 31):
        problems.append((FAULTS.DATE_FEBRUARY_30TH_31ST, (value,)))
    elif day == 31:
        problems.append((FAULTS.DATE_31ST_OF_SHORT_MONTH, (value,)))
    else:
        problems.append((FAULTS.INVALID_DATE, (value,)))
    return None


def _choice(
    request: ApiRequest,
    name: str,
    choices: Mapping[str, T],
    default: T,
    fault: Fault,
    problems: Problems,
) -> T:
    value = _given(request, name)
    if value is None:
        return default
    if value.lower() in choices:
        return choices[value.lower()]
    problems.append((fault, ()))
    return default


_COUNT_FAULTS = {
    "items_per_page": FAULTS.INVALID_ITEMS_PER_PAGE,
    "page_number": FAULTS.INVALID_PAGE_NUMBER,
}


def _count(request: ApiRequest, name: str, default: int, maximum: int, problems: Problems) -> int:
    """A whole number from 1 up to `maximum`. Anything but ASCII digits (a sign, a
    superscript or Arabic-Indic digit, more digits than `maximum` has) is the parameter's
    documented fault; 0 or a value past `maximum` is 10005."""
    value = _given(request, name)
    if value is None:
        return default
    number = ascii_integer(value, max_digits=len(str(maximum)))
    if number is None:
        problems.append((_COUNT_FAULTS[name], ()))
        return default
    if not 1 <= number <= maximum:
        problems.append(_invalid(name, value))
        return default
    return number


# The methods this module answers; methods/catalogue.py puts every module's into the registry.
METHODS = (
    Method(GET_INFO, Access.ADMIN_READ, get_info),
    Method(SEARCH, Access.ADMIN_READ, search),
)
