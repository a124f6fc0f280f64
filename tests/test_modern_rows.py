"""The 6.4+/6.6+ row rules of the `modern` profile, and that `classic` keeps its minimums."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from switchvox_server.bulk.messages import RowMessage
from switchvox_server.profiles import Profile
from tests.helpers import errors_of, section, upload

HEADER = "ext,fname,lname,email,password,voicemail_password,phone_password"
# Valid under both profiles: a complex web and phone password, a PIN that is no pattern.
GOOD = {"password": "webpass1", "voicemail_password": "2580", "phone_password": "sipsecret9"}

Client = Callable[..., TestClient]


def classic_client(make_client: Client) -> TestClient:
    """A classic server on the same database as the test's modern one: its tests use the
    numbers 6xx where the modern ones use 5xx."""
    return make_client(profile=Profile.CLASSIC)


def csv_of(**rows: dict[str, str]) -> str:
    """One row per extension number, each a change of GOOD."""
    lines = [HEADER]
    for number, changes in rows.items():
        cells = {**GOOD, **changes}
        lines.append(
            f"{number.lstrip('n')},Ann,Lee,a{number}@test.com,{cells['password']},"
            f"{cells['voicemail_password']},{cells['phone_password']}"
        )
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("extension_type", ["sip", "virtual"])
def test_modern_requires_a_voicemail_pin_for_a_new_extension(
    make_client: Client, extension_type: str
) -> None:
    """Under modern a new SIP or Virtual row without a PIN fails; classic creates it with the
    template's PIN rule."""
    rows = {"n501": {"voicemail_password": ""}, "n502": {}}
    modern = upload(
        make_client(profile=Profile.MODERN), csv_of(**rows), extension_type=extension_type
    )
    assert errors_of(modern, "501") == [RowMessage.VOICEMAIL_PASSWORD_REQUIRED_NEW.format()]
    assert section(modern, "created") == ["502"]
    rows = {"n601": {"voicemail_password": ""}, "n602": {}}
    classic = upload(classic_client(make_client), csv_of(**rows), extension_type=extension_type)
    assert section(classic, "created") == ["601", "602"]


def test_modern_requires_a_pin_when_replacing_but_not_when_updating(make_client: Client) -> None:
    """Replace rebuilds the extension as new, so it needs a PIN; update keeps the stored one."""
    client = make_client(profile=Profile.MODERN)
    assert section(upload(client, csv_of(n501={})), "created") == ["501"]
    no_pin = csv_of(n501={"voicemail_password": ""})
    replaced = upload(client, no_pin, dupe_process=2)
    assert errors_of(replaced, "501") == [RowMessage.VOICEMAIL_PASSWORD_REQUIRED_NEW.format()]
    assert section(upload(client, no_pin, dupe_process=3), "updated") == ["501"]


WEAK_PINS = ["1234", "4321", "1111", "0000", "987654", "3456789"]
FINE_PINS = ["2580", "1357", "1233", "9012", "12345670"]


@pytest.mark.parametrize("pin", WEAK_PINS)
def test_modern_refuses_a_pin_that_is_a_run_or_a_repeat(make_client: Client, pin: str) -> None:
    """Under modern a run up or down, or one digit repeated, fails; classic accepts it."""
    rows = {"n501": {"voicemail_password": pin}}
    modern = upload(make_client(profile=Profile.MODERN), csv_of(**rows))
    assert errors_of(modern, "501") == [RowMessage.VOICEMAIL_PASSWORD_SIMPLE.format()]
    classic = upload(classic_client(make_client), csv_of(n601=rows["n501"]))
    assert section(classic, "created") == ["601"]


@pytest.mark.parametrize("pin", FINE_PINS)
def test_modern_accepts_a_pin_that_is_no_pattern(make_client: Client, pin: str) -> None:
    """A PIN that is neither a run nor a repeat (a wrap-around such as 9012 included) passes."""
    modern = upload(make_client(profile=Profile.MODERN), csv_of(n501={"voicemail_password": pin}))
    assert section(modern, "created") == ["501"]


@pytest.mark.parametrize(
    "password", ["webpass", "12345678", "abc1234", "a1" * 16 + "x", "lettersonlyhere"]
)
def test_modern_requires_a_complex_web_password(make_client: Client, password: str) -> None:
    """Under modern a web password needs 8-32 characters with letters and digits."""
    rows = {"n501": {"password": password}}
    modern = upload(make_client(profile=Profile.MODERN), csv_of(**rows))
    assert errors_of(modern, "501") == [RowMessage.WEB_PASSWORD_COMPLEX.format()]


def test_classic_keeps_the_web_password_minimum(make_client: Client) -> None:
    """Classic takes any 4-32 character web password and names that limit when it fails."""
    rows = {"n501": {"password": "webpass"}, "n502": {"password": "abc"}}
    classic = upload(classic_client(make_client), csv_of(**rows))
    assert section(classic, "created") == ["501"]
    assert errors_of(classic, "502") == [RowMessage.WEB_PASSWORD.format()]


def test_modern_names_its_limit_for_a_missing_web_password(make_client: Client) -> None:
    """A new row without a web password fails with the message of the profile's limit."""
    modern = upload(make_client(profile=Profile.MODERN), csv_of(n501={"password": ""}))
    assert errors_of(modern, "501") == [RowMessage.WEB_PASSWORD_COMPLEX.format()]


@pytest.mark.parametrize("secret", ["sipsecret", "short1", "12345678"])
def test_modern_requires_a_strong_phone_password(make_client: Client, secret: str) -> None:
    """Under modern a SIP phone password needs 8 or more characters mixing letters and digits,
    without SWITCHVOX_STRONG_PHONE_PASSWORDS; classic takes it."""
    rows = {"n501": {"phone_password": secret}}
    modern = upload(make_client(profile=Profile.MODERN), csv_of(**rows))
    assert errors_of(modern, "501") == [RowMessage.PHONE_PASSWORD_WEAK.format()]
    classic = upload(classic_client(make_client), csv_of(n601=rows["n501"]))
    assert section(classic, "created") == ["601"]


def test_modern_still_requires_the_phone_password(make_client: Client) -> None:
    """The API's example requires a SIP phone password; modern keeps that rule."""
    modern = upload(make_client(profile=Profile.MODERN), csv_of(n501={"phone_password": ""}))
    assert errors_of(modern, "501") == [RowMessage.PHONE_PASSWORD_REQUIRED.format()]
