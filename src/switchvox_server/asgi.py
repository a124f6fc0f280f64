"""The uvicorn target: the application configured from the environment."""

from __future__ import annotations

from switchvox_server.app import create_app
from switchvox_server.logs import ensure_package_logging
from switchvox_server.settings import Settings

ensure_package_logging()
app = create_app(Settings.from_environ())
