"""Every API method this server answers, in one registry built from the method modules'
`METHODS` tables (no module registers anything as a side effect of being imported).

The application keeps it on `app.state.methods` (app.py); the control API checks the method
names of injected faults against it.
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

registry = MethodRegistry(
    (
        *bulk_upload.METHODS,
        *extensions.METHODS,
        *users.METHODS,
        *extension_settings.METHODS,
        *call.METHODS,
        *imports.METHODS,
    )
)
