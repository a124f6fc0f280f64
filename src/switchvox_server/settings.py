"""Settings, built once from the environment; nothing else in the package reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from switchvox_server.faults import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///switchvox.db"
DEFAULT_UNREGISTERED_LIMIT = 25
DEFAULT_MAX_UPLOAD_MB = 200
DEFAULT_DB_CONNECT_TIMEOUT = 5.0
DEFAULT_DB_STATEMENT_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server can be told from outside, with the documented defaults."""

    database_url: str = DEFAULT_DATABASE_URL
    admin_password: str | None = None
    secret_key: str | None = None
    max_extensions: int | None = None
    registered: bool = True
    unregistered_limit: int = DEFAULT_UNREGISTERED_LIMIT
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    extension_min_length: int = 3
    extension_max_length: int = 6
    digest_enabled: bool = True
    strong_phone_passwords: bool = False
    writer_process: bool = True
    db_connect_timeout: float = DEFAULT_DB_CONNECT_TIMEOUT
    db_statement_timeout: float = DEFAULT_DB_STATEMENT_TIMEOUT

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the `SWITCHVOX_*` variables and `DATABASE_URL`; unset ones take defaults."""
        env = os.environ if environ is None else environ
        settings = cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            admin_password=env.get("SWITCHVOX_ADMIN_PASSWORD") or None,
            secret_key=env.get("SWITCHVOX_SECRET_KEY") or None,
            max_extensions=_optional_integer(env, "SWITCHVOX_MAX_EXTENSIONS"),
            registered=_boolean(env, "SWITCHVOX_REGISTERED", True),
            unregistered_limit=_integer(
                env, "SWITCHVOX_UNREGISTERED_LIMIT", DEFAULT_UNREGISTERED_LIMIT
            ),
            max_upload_mb=_integer(env, "SWITCHVOX_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB),
            extension_min_length=_integer(env, "SWITCHVOX_EXTENSION_MIN_LENGTH", 3),
            extension_max_length=_integer(env, "SWITCHVOX_EXTENSION_MAX_LENGTH", 6),
            digest_enabled=_boolean(env, "SWITCHVOX_DIGEST", True),
            strong_phone_passwords=_boolean(env, "SWITCHVOX_STRONG_PHONE_PASSWORDS", False),
            writer_process=_boolean(env, "SWITCHVOX_WRITER_PROCESS", True),
            db_connect_timeout=_seconds(
                env, "SWITCHVOX_DB_CONNECT_TIMEOUT", DEFAULT_DB_CONNECT_TIMEOUT
            ),
            db_statement_timeout=_seconds(
                env, "SWITCHVOX_DB_STATEMENT_TIMEOUT", DEFAULT_DB_STATEMENT_TIMEOUT
            ),
        )
        if not 1 <= settings.extension_min_length <= settings.extension_max_length:
            raise ConfigurationError(
                "SWITCHVOX_EXTENSION_MIN_LENGTH must be at least 1 and at most"
                " SWITCHVOX_EXTENSION_MAX_LENGTH"
            )
        return settings


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    value = _optional_integer(env, name)
    return default if value is None else value


def _optional_integer(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < value < float("inf"):
        raise ConfigurationError(f"{name} must be more than 0 seconds")
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")
