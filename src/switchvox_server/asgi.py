"""The uvicorn target: the application configured from the environment, and the protocol
class that gives it the connection limits of `serve`."""

from __future__ import annotations

from switchvox_server.app import create_app
from switchvox_server.http.connections import head_timeout_protocol
from switchvox_server.logs import ensure_package_logging
from switchvox_server.settings import Settings

ensure_package_logging()
settings = Settings.from_environ()
app = create_app(settings)
# `uvicorn switchvox_server.asgi:app --http switchvox_server.asgi:Protocol` gives every
# request head the deadline of SWITCHVOX_HEADER_TIMEOUT (docs/deployment.md).
Protocol = head_timeout_protocol(settings.header_timeout)
