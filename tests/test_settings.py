"""The database timeouts are read from the environment as seconds, with their defaults."""

from __future__ import annotations

import pytest

from switchvox_server.faults import ConfigurationError
from switchvox_server.settings import Settings

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
