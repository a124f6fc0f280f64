"""`switchvox.users.getMyInfo` (docs/methods.md): the signed-in extension's own information.

It is how a user application learns its account id from an extension's number and web
password, and how a test checks that an uploaded web password works. Only an extension's
own credentials may call it; an admin gets 27168 (ours: the method page is silent).
"""

from __future__ import annotations

from switchvox_server.faults import FAULTS, ApiError
from switchvox_server.methods.extensions import extension_element
from switchvox_server.methods.registry import Access, Method, MethodContext
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.store import directory
from switchvox_server.tree import Element

GET_MY_INFO = "switchvox.users.getMyInfo"
# The attributes of the method page's example: getInfo's, without title, location, locale.
MY_INFO_ATTRIBUTES = (
    "number",
    "status",
    "can_dial_from_ivr",
    "account_id",
    "display",
    "date_created",
    "type",
    "type_display",
    "first_name",
    "last_name",
    "email_address",
    "template_id",
    "template_name",
)


def get_my_info(request: ApiRequest, context: MethodContext) -> Element:
    with context.database.sessions() as session:
        rows = directory.extensions_by_keys(session, [context.caller], [])
    if not rows:  # replaced away between signing in and this query: no longer an account
        raise ApiError(FAULTS.PERMISSION_DENIED)
    full = extension_element(rows[0]).attributes
    return Element("extension", {name: full[name] for name in MY_INFO_ATTRIBUTES})


# The methods this module answers; methods/catalogue.py puts every module's into the registry.
METHODS = (Method(GET_MY_INFO, Access.OWN_EXTENSION, get_my_info),)
