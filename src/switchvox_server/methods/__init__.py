"""API methods: a registry of handlers, one module per method family."""

from __future__ import annotations

import importlib

METHOD_MODULES = (
    "switchvox_server.methods.bulk_upload",
    "switchvox_server.methods.extensions",
    "switchvox_server.methods.users",
    "switchvox_server.methods.extension_settings",
    "switchvox_server.methods.call",
    "switchvox_server.methods.imports",
)


def load_methods() -> None:
    """Import every method module, so each registers its handlers."""
    for name in METHOD_MODULES:
        importlib.import_module(name)
