"""The uvicorn target: the application configured from the environment."""

from __future__ import annotations

from switchvox_server.app import create_app
from switchvox_server.settings import Settings

app = create_app(Settings.from_environ())
