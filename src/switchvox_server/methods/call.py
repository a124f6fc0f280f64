"""`switchvox.call` (docs/methods.md), a stand-in: it checks a call request as the PBX would
and answers the documented `call_info`, but places no call.

The arguments are those of the method page (and of switchvox.users.call). Decisions of
this project (ours), where the page is silent:

- Every problem is reported at once, one `<error>` each, in parameter order: a missing
  dial_first, dial_second or dial_as_account_id is 10011; an account id that is not ASCII
  digits is 10014; any other bad value is 10005. Only a request without them is checked
  against the store: an account id no extension has is 10021.
- A number to dial is 1 to 64 of the digits, `*`, `#`, with an optional leading `+`.
- caller_id_name is at most 20 characters ("Can only be 20 characters max.") without
  control characters; timeout is 0 to 999 seconds; the two ignore_* flags are 0 or 1.
- A variable is `name=value`, the name letters, digits and `_`; the answer's `<variables>`
  lists each as it was given, `<variable>name=value</variable>`.
- The numbers are answered as given: the stand-in applies no call API settings.
"""

from __future__ import annotations

import re

from switchvox_server.faults import FAULTS, ApiError, Fault
from switchvox_server.methods.registry import Access, Method, MethodContext
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.store import directory
from switchvox_server.tree import Element, number_or_text
from switchvox_server.values import ascii_integer

CALL = "switchvox.call"
_DIALABLE = re.compile(r"\+?[0-9*#]{1,64}")
_VARIABLE = re.compile(r"[A-Za-z0-9_]+=[^\x00-\x1f\x7f]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_CALLER_ID_NAME = 20
MAX_TIMEOUT = 999
FLAGS = ("ignore_user_api_settings", "ignore_user_call_rules")
# No stored id can be larger (a 64-bit integer).
_MAX_ACCOUNT_ID = 2**63 - 1

Problems = list[tuple[Fault, tuple[object, ...]]]


def call(request: ApiRequest, context: MethodContext) -> Element:
    problems: Problems = []
    dial_first = _number_to_dial(request, "dial_first", problems)
    dial_second = _number_to_dial(request, "dial_second", problems)
    account = _account_id(request, problems)
    caller_id_name = _given(request, "caller_id_name")
    if caller_id_name is not None and (
        len(caller_id_name) > MAX_CALLER_ID_NAME or _CONTROL.search(caller_id_name)
    ):
        problems.append(_invalid("caller_id_name", caller_id_name))
    variables = _variables(request, problems)
    timeout = _given(request, "timeout")
    if timeout is not None and (
        (seconds := ascii_integer(timeout, max_digits=3)) is None or seconds > MAX_TIMEOUT
    ):
        problems.append(_invalid("timeout", timeout))
    for flag in FLAGS:
        value = _given(request, flag)
        if value is not None and value not in ("0", "1"):
            problems.append(_invalid(flag, value))
    if problems or dial_first is None or dial_second is None or account is None:
        raise ApiError.several(problems)  # each None above came with its problem

    written, account_id = account
    with context.database.sessions() as session:
        found = directory.extensions_by_keys(session, [], [account_id])
    if not found:
        raise ApiError(FAULTS.UNKNOWN_DIAL_AS_ACCOUNT, written)
    return Element(
        "call_info",
        {"dialed_first": number_or_text(dial_first), "dialed_second": number_or_text(dial_second)},
        [Element("variables", children=[Element("variable", text=item) for item in variables])],
    )


def _given(request: ApiRequest, name: str) -> str | None:
    value = (request.scalar(name) or "").strip()
    return value or None


def _invalid(name: str, value: str) -> tuple[Fault, tuple[object, ...]]:
    return FAULTS.INVALID_PARAMETER_VALUE, (name, value)


def _number_to_dial(request: ApiRequest, name: str, problems: Problems) -> str | None:
    value = _given(request, name)
    if value is None:
        problems.append((FAULTS.MISSING_PARAMETER, (name,)))
    elif not _DIALABLE.fullmatch(value):
        problems.append(_invalid(name, value))
        return None
    return value


def _account_id(request: ApiRequest, problems: Problems) -> tuple[str, int] | None:
    """The account id as written and as a number, or None with its problem."""
    value = _given(request, "dial_as_account_id")
    if value is None:
        problems.append((FAULTS.MISSING_PARAMETER, ("dial_as_account_id",)))
        return None
    if not (value.isascii() and value.isdigit()):
        problems.append((FAULTS.INVALID_ACCOUNT_ID, (value,)))
        return None
    number = ascii_integer(value, max_digits=len(str(_MAX_ACCOUNT_ID)))
    # Larger than any stored id can be: a well-formed id that no account has.
    return value, number if number is not None and number <= _MAX_ACCOUNT_ID else 0


def _variables(request: ApiRequest, problems: Problems) -> list[str]:
    given = [item.strip() for item in request.items("variables") if item.strip()]
    for item in given:
        if not _VARIABLE.fullmatch(item):
            problems.append(_invalid("variables", item))
    return given


# The methods this module answers; methods/catalogue.py puts every module's into the registry.
METHODS = (Method(CALL, Access.ADMIN_WRITE, call),)
