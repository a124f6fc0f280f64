"""Every API method this server answers, in a registry built from the method modules'
`METHODS` tables (no module registers anything as a side effect of being imported).

`create_app` builds one per application and keeps it on `app.state.methods`; the control API
checks the method names of injected faults against the same one.
"""

from __future__ import annotations

from switchvox_server.methods import (
    bulk_upload,
    call,
    extension_settings,
    extensions,
    imports,
    users,
)
from switchvox_server.methods.registry import MethodRegistry


def build_registry() -> MethodRegistry:
    """A registry of every method of every module."""
    return MethodRegistry(
        (
            *bulk_upload.METHODS,
            *extensions.METHODS,
            *users.METHODS,
            *extension_settings.METHODS,
            *call.METHODS,
            *imports.METHODS,
        )
    )
