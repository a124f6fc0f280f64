"""The ASGI application: routes, and a lifespan that opens and migrates the store."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from switchvox_server.control.routes import control_routes
from switchvox_server.control.service import Control
from switchvox_server.http.auth import Authenticator
from switchvox_server.http.digest import NonceAuthority
from switchvox_server.http.endpoints import JSON, XML, api_endpoint, server_error
from switchvox_server.http.readiness import ReadinessCheck
from switchvox_server.http.signin import KnownHeaders, SignIn, SlowPasswordChecks
from switchvox_server.http.throttle import FailureThrottle
from switchvox_server.methods.catalogue import build_registry
from switchvox_server.settings import Settings
from switchvox_server.store.accounts import ensure_default_admin, ensure_secret_key
from switchvox_server.store.database import Database, migrate, open_database
from switchvox_server.store.writer import WriterPool

logger = logging.getLogger(__name__)


def prepare_database(settings: Settings) -> tuple[Database, bytes]:
    """Open and migrate the store, create the first admin and the server secret."""
    database = open_database(
        settings.database_url,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
    )
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

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        database, secret = prepare_database(settings)
        app.state.settings = settings
        app.state.database = database
        app.state.readiness = ReadinessCheck(database)
        app.state.secret_key = secret
        app.state.writers = WriterPool() if settings.writer_process else None
        if app.state.writers is not None:
            app.state.writers.prepare()
        app.state.authenticator = Authenticator(
            database, NonceAuthority(secret), settings.digest_enabled
        )
        app.state.sign_in = SignIn(
            app.state.authenticator,
            FailureThrottle(),
            SlowPasswordChecks(secret),
            KnownHeaders(secret),
            settings.trusted_proxies,
        )
        app.state.control = (
            Control.start(settings.control_token, database, settings, secret, app.state.methods)
            if settings.control_token
            else None
        )
        try:
            yield
        finally:
            app.state.readiness.close()
            if app.state.control is not None:
                app.state.control.close()
            if app.state.writers is not None:
                app.state.writers.close()
            database.dispose()

    app = Starlette(
        routes=[
            Route("/xml", api_endpoint(XML), methods=["POST", "GET"]),  # GET brings HEAD
            Route("/json", api_endpoint(JSON), methods=["POST", "GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *control_routes(settings),
        ],
        lifespan=lifespan,
        exception_handlers={Exception: server_error, 404: not_found},
    )
    # The API methods this application answers (methods/catalogue.py).
    app.state.methods = build_registry()
    return app


NOT_FOUND_HINT = "Not found. The Switchvox Extend API is at /xml and /json (POST).\n"


async def not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(NOT_FOUND_HINT, status_code=404)


async def healthz(request: Request) -> Response:
    """Liveness: answers while the process runs, without touching the database."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Readiness: 503 when the database does not answer within the readiness timeout."""
    readiness: ReadinessCheck = request.app.state.readiness
    if await readiness.problem() is not None:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
