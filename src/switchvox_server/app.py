"""The ASGI application: routes, and a lifespan that opens and migrates the store."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from switchvox_server.control.routes import control_routes
from switchvox_server.control.service import Control
from switchvox_server.http.auth import Authenticator, VerifiedPasswords
from switchvox_server.http.digest import NonceAuthority
from switchvox_server.http.endpoints import JSON, XML, api_endpoint
from switchvox_server.http.throttle import FailureThrottle
from switchvox_server.methods import load_methods
from switchvox_server.settings import Settings
from switchvox_server.store.accounts import ensure_default_admin, ensure_secret_key
from switchvox_server.store.database import Database, migrate, open_database
from switchvox_server.store.writer import WriterPool

logger = logging.getLogger(__name__)


def prepare_database(settings: Settings) -> tuple[Database, bytes]:
    """Open and migrate the store, create the first admin and the server secret."""
    database = open_database(settings.database_url)
    migrate(database)
    with database.exclusive_sessions.begin() as session:
        generated = ensure_default_admin(session, settings.admin_password)
        stored_secret = ensure_secret_key(session)
    if generated is not None:
        # Shown once, on the terminal of whoever started the server for the first time.
        print(
            f"Created the admin account 'admin' with the password: {generated}",
            file=sys.stderr,
            flush=True,
        )
    secret = settings.secret_key.encode() if settings.secret_key else stored_secret
    return database, secret


def create_app(settings: Settings) -> Starlette:
    """The application for `settings`; the store is opened when the lifespan starts."""
    load_methods()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        database, secret = prepare_database(settings)
        app.state.settings = settings
        app.state.database = database
        app.state.secret_key = secret
        app.state.throttle = FailureThrottle()
        app.state.writers = WriterPool() if settings.writer_process else None
        if app.state.writers is not None:
            app.state.writers.prepare()
        app.state.authenticator = Authenticator(
            database, NonceAuthority(secret), VerifiedPasswords(secret), settings.digest_enabled
        )
        app.state.control = (
            Control.start(settings.control_token, database, settings, secret)
            if settings.control_token
            else None
        )
        try:
            yield
        finally:
            if app.state.control is not None:
                app.state.control.close()
            if app.state.writers is not None:
                app.state.writers.close()
            database.dispose()

    return Starlette(
        routes=[
            Route("/xml", api_endpoint(XML), methods=["POST", "HEAD"]),
            Route("/json", api_endpoint(JSON), methods=["POST", "HEAD"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *control_routes(settings),
        ],
        lifespan=lifespan,
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    database: Database = request.app.state.database

    def ping() -> None:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except Exception:
        logger.exception("readiness check failed")
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
