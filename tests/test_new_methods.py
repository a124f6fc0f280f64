"""switchvox.users.getMyInfo, switchvox.extensions.settings.getInfo and switchvox.call over
/xml and /json, with their faults and access rules."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import pytest
from lxml import etree
from starlette.testclient import TestClient

from switchvox_server.profiles import Profile
from switchvox_server.store.models import AccessLevel
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import canonical, sign_in_as_new_admin, upload
from tests.test_auth_http import DIGEST_CHALLENGE, digest
from tests.test_extension_methods import ATTRIBUTES as GET_INFO_ATTRIBUTES

GET_MY_INFO = "switchvox.users.getMyInfo"
SETTINGS = "switchvox.extensions.settings.getInfo"
CALL = "switchvox.call"
PERMISSION_DENIED = (27168, "Your account is not permitted to run this action.")
# getMyInfo's <extension/> carries getInfo's attributes but the last three (SPEC §9).
MY_INFO_ATTRIBUTES = [
    name for name in GET_INFO_ATTRIBUTES if name not in {"title", "location", "lang_locale"}
]
# Valid under both profiles.
CSV = (
    "ext,fname,lname,email,password,voicemail_password,phone_password\n"
    "301,Tester,1,t1@test.com,webpass301,2580,sipsecret301\n"
    "302,Tester,2,t2@test.com,webpass302,2580,sipsecret302\n"
)
Client = Callable[..., TestClient]


def basic(name: str, password: str) -> dict[str, str]:
    """Basic `Authorization` headers for `name` and `password`."""
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def envelope(method: str, parameters: str = "") -> bytes:
    """An XML request of `method` with raw `parameters`."""
    return f'<request method="{method}"><parameters>{parameters}</parameters></request>'.encode()


def post_xml(
    client: TestClient, body: bytes, headers: dict[str, str] | None = None
) -> etree._Element:
    """Post an XML `body`; the parsed answer."""
    response = client.post("/xml", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


def as_extension(client: TestClient, body: bytes, number: str = "301") -> etree._Element:
    """Post with the extension's own number and web password (Basic, pre-emptive)."""
    client.auth = None  # type: ignore[assignment]
    try:
        return post_xml(client, body, basic(number, f"webpass{number}"))
    finally:
        client.auth = ("admin", ADMIN_PASSWORD)


def faults(document: etree._Element) -> list[tuple[int, str]]:
    """The (code, message) of every error of a fault answer."""
    assert document.find("result") is None, etree.tostring(document)
    return [(int(e.get("code", "")), e.get("message", "")) for e in document.iter("error")]


# --------------------------------------------------------------------------- getMyInfo


def test_get_my_info_answers_the_callers_own_extension(client: TestClient) -> None:
    """An uploaded extension signs in with its web password (Basic) and gets its own
    <extension/> straight under <result>, attributes in the documented order."""
    upload(client, CSV)
    document = as_extension(client, envelope(GET_MY_INFO), "302")
    result = document.find("result")
    assert result is not None
    assert [child.tag for child in result] == ["extension"]
    extension = result[0]
    assert list(extension.attrib) == MY_INFO_ATTRIBUTES
    assert extension.get("number") == "302"
    assert extension.get("account_id") == "1102"
    assert extension.get("display") == "Tester 2"
    assert (extension.get("template_id"), extension.get("template_name")) == ("1", "Default")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", extension.get("date_created", ""))


def test_get_my_info_with_digest_and_the_uploaded_password(client: TestClient) -> None:
    """The Digest answer computed from the uploaded web password is accepted too."""
    upload(client, CSV)
    client.auth = None  # type: ignore[assignment]
    challenge = client.post("/xml", content=envelope(GET_MY_INFO))
    assert challenge.status_code == 401
    nonces = [DIGEST_CHALLENGE.fullmatch(v) for v in challenge.headers.get_list("www-authenticate")]
    nonce = next(match.group(1) for match in nonces if match)
    authorization = digest("301", "webpass301", nonce)
    document = post_xml(client, envelope(GET_MY_INFO), {"Authorization": authorization})
    assert document.find("result/extension").get("account_id") == "1101"  # type: ignore[union-attr]
    wrong = client.post(
        "/xml",
        content=envelope(GET_MY_INFO),
        headers={"Authorization": digest("301", "webpass302", nonce)},
    )
    assert wrong.status_code == 401


@pytest.mark.parametrize("profile", list(Profile))
def test_get_my_info_over_json(make_client: Client, profile: Profile) -> None:
    """Over /json the extension is an object under result; values typed per profile."""
    client = make_client(profile=profile)
    upload(client, CSV)
    client.auth = ("301", "webpass301")
    body = b'{"request": {"method": "switchvox.users.getMyInfo", "parameters": {}}}'
    response = client.post("/json", content=body)
    extension = response.json()["response"]["result"]["extension"]
    assert list(extension) == MY_INFO_ATTRIBUTES
    expected = "1101" if profile is Profile.MODERN else 1101
    assert extension["account_id"] == expected
    assert extension["first_name"] == "Tester"


def test_admins_may_not_call_get_my_info(client: TestClient) -> None:
    """A full or read-only admin calling getMyInfo gets 27168 (ours: the page is silent)."""
    assert faults(post_xml(client, envelope(GET_MY_INFO))) == [PERMISSION_DENIED]
    sign_in_as_new_admin(client, "reader", AccessLevel.READ_ONLY)
    assert faults(post_xml(client, envelope(GET_MY_INFO))) == [PERMISSION_DENIED]


def test_an_extension_may_call_nothing_but_its_own_methods(client: TestClient) -> None:
    """An extension's credentials get 27168 for the admin methods, new ones included."""
    upload(client, CSV)
    for method in (SETTINGS, CALL, "switchvox.extensions.getInfo"):
        assert faults(as_extension(client, envelope(method))) == [PERMISSION_DENIED]


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, {"extension_length_constraint": "6", "require_strong_user_password": "0"}),
        ({"extension_max_length": 4}, {"extension_length_constraint": "4"}),
        ({"strong_phone_passwords": True}, {"require_strong_phone_password": "1"}),
        (
            {"profile": Profile.MODERN},
            {"require_strong_user_password": "1", "require_strong_phone_password": "1"},
        ),
    ],
)
def test_settings_get_info_reflects_the_settings(
    make_client: Client, changes: dict[str, object], expected: dict[str, str]
) -> None:
    """The five documented attributes, from the server's settings and profile."""
    client = make_client(**changes)
    document = post_xml(client, envelope(SETTINGS))
    node = document.find("result/extensions_settings")
    assert node is not None
    assert list(node.attrib) == [
        "extension_length_constraint",
        "beep_after_assisted_transfer",
        "require_strong_user_password",
        "require_strong_phone_password",
        "force_weak_user_password_change",
    ]
    assert {name: node.get(name) for name in expected} == expected
    assert all(node.get(name) in ("0", "1") for name in list(node.attrib)[1:])


def test_read_only_admins_may_read_the_settings(client: TestClient) -> None:
    """settings.getInfo is read-only: a read_only admin gets the answer too, also in JSON."""
    sign_in_as_new_admin(client, "reader", AccessLevel.READ_ONLY)
    body = b'{"request": {"method": "switchvox.extensions.settings.getInfo"}}'
    settings = client.post("/json", content=body).json()["response"]["result"]
    assert settings["extensions_settings"]["extension_length_constraint"] == 6


# --------------------------------------------------------------------------- call

DOCUMENTED_CALL = (
    b'<request method="switchvox.call"><parameters><dial_first>101</dial_first>'
    b"<dial_second>301</dial_second><dial_as_account_id>1101</dial_as_account_id>"
    b"</parameters></request>"
)


def test_call_answers_the_documented_call_info(client: TestClient) -> None:
    """The method page's request, for an existing account, answers its call_info."""
    upload(client, CSV)
    document = post_xml(client, DOCUMENTED_CALL)
    expected = (
        b'<response method="switchvox.call"><result><call_info dialed_first="101"'
        b' dialed_second="301"><variables></variables></call_info></result></response>'
    )
    assert canonical(document) == canonical(expected)


def test_call_takes_attribute_parameters_and_echoes_variables(client: TestClient) -> None:
    """Perl-style attribute parameters work; each variable comes back as given."""
    upload(client, CSV)
    body = (
        b'<request method="switchvox.call"><parameters dial_first="101" dial_second="+15554578299"'
        b' dial_as_account_id="1102" caller_id_name="Autodialer" timeout="999"'
        b' ignore_user_api_settings="1"><variables><variable>balance=300</variable>'
        b"<variable>name=Ann Lee</variable></variables></parameters></request>"
    )
    info = post_xml(client, body).find("result/call_info")
    assert info is not None
    assert (info.get("dialed_first"), info.get("dialed_second")) == ("101", "+15554578299")
    assert [v.text for v in info.iterfind("variables/variable")] == ["balance=300", "name=Ann Lee"]


def test_call_over_json_per_profile(make_client: Client) -> None:
    """/json answers call_info; modern writes the dialled numbers as strings."""
    for profile, first in ((Profile.CLASSIC, 101), (Profile.MODERN, "101")):
        client = make_client(profile=profile)
        if profile is Profile.CLASSIC:
            upload(client, CSV)
        body = (
            b'{"request": {"method": "switchvox.call", "parameters": {"dial_first": 101,'
            b' "dial_second": "301", "dial_as_account_id": "1101"}}}'
        )
        info = client.post("/json", content=body).json()["response"]["result"]["call_info"]
        assert info["dialed_first"] == first
        assert info["variables"] == {}


def test_call_reports_every_missing_parameter(client: TestClient) -> None:
    """Without parameters: 10011 for dial_first, dial_second and dial_as_account_id."""
    assert faults(post_xml(client, envelope(CALL))) == [
        (10011, "Missing required parameter (dial_first)"),
        (10011, "Missing required parameter (dial_second)"),
        (10011, "Missing required parameter (dial_as_account_id)"),
    ]


@pytest.mark.parametrize(
    ("parameter", "value", "code"),
    [
        ("dial_first", "10a1", 10005),
        ("dial_second", "9" * 65, 10005),
        ("dial_as_account_id", "11o1", 10014),
        ("dial_as_account_id", "\u0661\u0661\u0660\u0661", 10014),
        ("caller_id_name", "x" * 21, 10005),
        ("timeout", "1000", 10005),
        ("timeout", "-1", 10005),
        ("timeout", "\u00b9", 10005),
        ("ignore_user_api_settings", "yes", 10005),
        ("ignore_user_call_rules", "2", 10005),
    ],
)
def test_call_refuses_a_bad_value(
    client: TestClient, parameter: str, value: str, code: int
) -> None:
    """Each argument is checked as the method page describes it; nothing is dialled."""
    upload(client, CSV)
    values = {"dial_first": "101", "dial_second": "301", "dial_as_account_id": "1101"}
    values[parameter] = value
    body = envelope(CALL, "".join(f"<{k}>{v}</{k}>" for k, v in values.items()))
    assert [entry[0] for entry in faults(post_xml(client, body))] == [code]


@pytest.mark.parametrize("variable", ["=300", "balance", "bal ance=1"])
def test_call_refuses_a_malformed_variable(client: TestClient, variable: str) -> None:
    """A variable must be name=value with a name of letters, digits and underscores."""
    upload(client, CSV)
    body = DOCUMENTED_CALL.replace(
        b"</parameters>",
        f"<variables><variable>{variable}</variable></variables></parameters>".encode(),
    )
    assert faults(post_xml(client, body)) == [
        (10005, f"Invalid value for parameter variables ({variable}).")
    ]


@pytest.mark.parametrize("account_id", ["1", "9999", "9" * 30])
def test_call_as_an_unknown_account_is_10021(client: TestClient, account_id: str) -> None:
    """An account id that no extension has (template id 1 included) is fault 10021 (ours)."""
    upload(client, CSV)
    body = DOCUMENTED_CALL.replace(b">1101<", f">{account_id}<".encode())
    assert faults(post_xml(client, body)) == [
        (
            10021,
            f"Invalid dial_as_account_id ({account_id}). No extension has that account id.",
        )
    ]


def test_read_only_admins_may_not_call(client: TestClient) -> None:
    """switchvox.call needs read/write access: a read_only admin gets 27168."""
    upload(client, CSV)
    sign_in_as_new_admin(client, "reader", AccessLevel.READ_ONLY)
    assert faults(post_xml(client, DOCUMENTED_CALL)) == [PERMISSION_DENIED]
