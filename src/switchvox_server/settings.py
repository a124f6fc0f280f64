"""Settings, built once from the environment; nothing else in the package reads os.environ."""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from switchvox_server.faults import ConfigurationError
from switchvox_server.profiles import Profile

DEFAULT_DATABASE_URL = "sqlite:///switchvox.db"
DEFAULT_UNREGISTERED_LIMIT = 25
DEFAULT_MAX_UPLOAD_MB = 200
DEFAULT_HEADER_TIMEOUT = 10.0
MAX_HEADER_TIMEOUT = 60.0
DEFAULT_MAX_CONNECTIONS = 500
DEFAULT_SHUTDOWN_TIMEOUT = 30

Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
# A database that does not answer costs a request seconds, not forever (docs/configuration.md).
DEFAULT_DB_CONNECT_TIMEOUT = 5.0
DEFAULT_DB_STATEMENT_TIMEOUT = 15.0
# A day: beyond it a "timeout" no longer protects anyone, and SQLite's busy timeout (whole
# milliseconds in a C int) stays far from overflowing.
MAX_TIMEOUT_SECONDS = 86_400.0
DEFAULT_JOURNAL_MAX_ENTRIES = 10_000


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
    trusted_proxies: tuple[Network, ...] = ()
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    shutdown_timeout: int = DEFAULT_SHUTDOWN_TIMEOUT
    db_connect_timeout: float = DEFAULT_DB_CONNECT_TIMEOUT
    """Seconds to open a database connection (and to wait for a free one in the pool)."""
    db_statement_timeout: float = DEFAULT_DB_STATEMENT_TIMEOUT
    """Seconds one statement may run or wait for a lock before the database gives up."""
    profile: Profile = Profile.CLASSIC
    control_token: str | None = field(default=None, repr=False)
    journal_max_entries: int = DEFAULT_JOURNAL_MAX_ENTRIES
    history: bool = True

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
            trusted_proxies=_networks(env, "SWITCHVOX_TRUSTED_PROXIES"),
            header_timeout=_seconds(
                env, "SWITCHVOX_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT, MAX_HEADER_TIMEOUT
            ),
            max_connections=_integer(env, "SWITCHVOX_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS),
            shutdown_timeout=_integer(env, "SWITCHVOX_SHUTDOWN_TIMEOUT", DEFAULT_SHUTDOWN_TIMEOUT),
            db_connect_timeout=_seconds(
                env, "SWITCHVOX_DB_CONNECT_TIMEOUT", DEFAULT_DB_CONNECT_TIMEOUT, MAX_TIMEOUT_SECONDS
            ),
            db_statement_timeout=_seconds(
                env,
                "SWITCHVOX_DB_STATEMENT_TIMEOUT",
                DEFAULT_DB_STATEMENT_TIMEOUT,
                MAX_TIMEOUT_SECONDS,
            ),
            profile=_profile(env),
            control_token=env.get("SWITCHVOX_CONTROL_TOKEN") or None,
            journal_max_entries=_integer(
                env, "SWITCHVOX_JOURNAL_MAX_ENTRIES", DEFAULT_JOURNAL_MAX_ENTRIES
            ),
            history=_boolean(env, "SWITCHVOX_HISTORY", True),
        )
        if not 1 <= settings.extension_min_length <= settings.extension_max_length:
            raise ConfigurationError(
                "SWITCHVOX_EXTENSION_MIN_LENGTH must be at least 1 and at most"
                " SWITCHVOX_EXTENSION_MAX_LENGTH"
            )
        if settings.max_connections < 1:
            raise ConfigurationError("SWITCHVOX_MAX_CONNECTIONS must be at least 1")
        if settings.journal_max_entries < 1:
            raise ConfigurationError("SWITCHVOX_JOURNAL_MAX_ENTRIES must be at least 1")
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


def _profile(env: Mapping[str, str]) -> Profile:
    raw = env.get("SWITCHVOX_PROFILE", "").strip().lower()
    if not raw:
        return Profile.CLASSIC
    try:
        return Profile(raw)
    except ValueError:
        names = " or ".join(profile.value for profile in Profile)
        raise ConfigurationError(f"SWITCHVOX_PROFILE must be {names}, not {raw!r}") from None


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


def _seconds(env: Mapping[str, str], name: str, default: float, maximum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not (math.isfinite(value) and 0 < value <= maximum):
        raise ConfigurationError(f"{name} must be more than 0 and at most {maximum:g} seconds")
    return value


def _networks(env: Mapping[str, str], name: str) -> tuple[Network, ...]:
    """IP addresses and networks (`10.0.0.1`, `10.0.0.0/8`, `::1`), separated by commas or
    spaces."""
    networks: list[Network] = []
    for item in env.get(name, "").replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigurationError(
                f"{name} must list IP addresses or networks, not {item!r}"
            ) from None
    return tuple(networks)
