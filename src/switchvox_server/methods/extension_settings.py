"""`switchvox.extensions.settings.getInfo` (docs/methods.md): the system's extension
settings, read from the server's own settings.

Value formats are ours (the method page shows none): flags are 0 or 1, and
`extension_length_constraint` is SWITCHVOX_EXTENSION_MAX_LENGTH, the length Switchvox's
"Extension Length" setting names (shorter numbers stay valid down to the minimum). This
server transfers no calls and forces no password changes, so those two flags are 0.
"""

from __future__ import annotations

from switchvox_server.bulk.rules import RowPolicy
from switchvox_server.methods.registry import Access, Method, MethodContext
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.tree import Element

SETTINGS_GET_INFO = "switchvox.extensions.settings.getInfo"


def get_settings(request: ApiRequest, context: MethodContext) -> Element:
    # The row rules' own policy, so the flags say what an upload will actually demand.
    policy = RowPolicy.from_settings(context.settings)
    return Element(
        "extensions_settings",
        {
            "extension_length_constraint": policy.extension_max_length,
            "beep_after_assisted_transfer": 0,
            "require_strong_user_password": int(policy.complex_passwords),
            "require_strong_phone_password": int(policy.strong_phone_passwords),
            "force_weak_user_password_change": 0,
        },
    )


# The methods this module answers; methods/catalogue.py puts every module's into the registry.
METHODS = (Method(SETTINGS_GET_INFO, Access.ADMIN_READ, get_settings),)
