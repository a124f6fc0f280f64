"""Alembic environment: the URL comes from the server's settings, or a connection is handed in."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from switchvox_server.settings import Settings
from switchvox_server.store.database import open_database
from switchvox_server.store.models import Base

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or Settings.from_environ().database_url
    database = open_database(url)
    try:
        with database.engine.connect() as own_connection:
            run_migrations(own_connection)
    finally:
        database.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; run them against a database.")
run_migrations_online()
