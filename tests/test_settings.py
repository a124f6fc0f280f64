"""The connection, client-address and database-timeout settings read from the environment:
defaults, bounds, and one clear message for a value the server cannot use."""

from __future__ import annotations

import ipaddress

import pytest

from switchvox_server.faults import ConfigurationError
from switchvox_server.http.connections import server_options
from switchvox_server.settings import Settings


def test_the_defaults() -> None:
    """Unset, the server trusts no proxy, allows 10 s for a request head, 500 connections
    and 30 s for requests in flight at shutdown."""
    settings = Settings.from_environ({})
    assert settings.trusted_proxies == ()
    assert settings.header_timeout == 10.0
    assert settings.max_connections == 500
    assert settings.shutdown_timeout == 30


def test_values_are_read() -> None:
    """Addresses and networks separated by commas or spaces, a head timeout in seconds with
    decimals, and whole numbers for the limits."""
    settings = Settings.from_environ(
        {
            "SWITCHVOX_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7 ::1",
            "SWITCHVOX_HEADER_TIMEOUT": "2.5",
            "SWITCHVOX_MAX_CONNECTIONS": "64",
            "SWITCHVOX_SHUTDOWN_TIMEOUT": "0",
        }
    )
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.7/32"),
        ipaddress.ip_network("::1/128"),
    )
    assert settings.header_timeout == 2.5
    assert settings.max_connections == 64
    assert settings.shutdown_timeout == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SWITCHVOX_TRUSTED_PROXIES", "10.0.0.1, proxy.example", "not 'proxy.example'"),
        ("SWITCHVOX_TRUSTED_PROXIES", "10.0.0.300", "not '10.0.0.300'"),
        ("SWITCHVOX_HEADER_TIMEOUT", "61", "at most 60 seconds"),
        ("SWITCHVOX_HEADER_TIMEOUT", "0", "more than 0"),
        ("SWITCHVOX_HEADER_TIMEOUT", "nan", "more than 0"),
        ("SWITCHVOX_HEADER_TIMEOUT", "inf", "more than 0"),
        ("SWITCHVOX_HEADER_TIMEOUT", "soon", "a number of seconds, not 'soon'"),
        ("SWITCHVOX_MAX_CONNECTIONS", "0", "at least 1"),
        ("SWITCHVOX_MAX_CONNECTIONS", "many", "a whole number"),
        ("SWITCHVOX_SHUTDOWN_TIMEOUT", "-1", "must not be negative"),
    ],
)
def test_a_value_the_server_cannot_use_is_refused(name: str, value: str, message: str) -> None:
    """Each unusable value stops the start with a message naming the variable."""
    with pytest.raises(ConfigurationError, match=name) as raised:
        Settings.from_environ({name: value})
    assert message in str(raised.value)


def test_uvicorn_is_given_the_limits_and_not_its_own_forwarded_header_handling() -> None:
    """`serve` and the test server pass the head deadline (on the protocol class), the
    connection limit and the shutdown timeout to uvicorn, and turn its proxy headers off."""
    options = server_options(Settings(header_timeout=3.0, max_connections=7, shutdown_timeout=4))
    assert options["http"].head_timeout == 3.0
    assert options["limit_concurrency"] == 7
    assert options["timeout_graceful_shutdown"] == 4
    assert options["proxy_headers"] is False


TIMEOUTS = {
    "SWITCHVOX_DB_CONNECT_TIMEOUT": "db_connect_timeout",
    "SWITCHVOX_DB_STATEMENT_TIMEOUT": "db_statement_timeout",
}


def test_the_timeouts_default_to_5_and_15_seconds() -> None:
    """Unset or empty, the connect timeout is 5 s and the statement timeout 15 s."""
    for environ in ({}, dict.fromkeys(TIMEOUTS, " ")):
        settings = Settings.from_environ(environ)
        assert (settings.db_connect_timeout, settings.db_statement_timeout) == (5.0, 15.0)


@pytest.mark.parametrize("name", TIMEOUTS)
@pytest.mark.parametrize(("raw", "seconds"), [("2", 2.0), ("0.25", 0.25), (" 30.5 ", 30.5)])
def test_a_timeout_takes_seconds_with_fractions(name: str, raw: str, seconds: float) -> None:
    """Each timeout takes a number of seconds, whole or not."""
    assert getattr(Settings.from_environ({name: raw}), TIMEOUTS[name]) == seconds


@pytest.mark.parametrize("name", TIMEOUTS)
@pytest.mark.parametrize("raw", ["0", "-1", "nan", "inf", "1e9", "5s", "five"])
def test_a_timeout_that_would_not_bound_anything_is_refused(name: str, raw: str) -> None:
    """Zero (which PostgreSQL reads as "no timeout"), negative, infinite, absurdly long or
    non-numeric values stop the server at start with the variable's name."""
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_environ({name: raw})
