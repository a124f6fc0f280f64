"""The `modern` profile's JSON: every scalar a string in getInfo, a bulk report and faults,
while `classic` keeps numbers by nature as numbers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from switchvox_server.profiles import Profile
from tests.helpers import scalars

Client = Callable[..., TestClient]
CSV = (
    b"ext,fname,lname,email,password,voicemail_password,phone_password\n"
    b"301,Tester,1,t1@test.com,webpass301,2580,sipsecret301\n"
    b"302,Tester,2,t2@test.com,abc,2580,sipsecret302\n"
)
UPLOAD = {
    "request": {
        "method": "switchvox.extensions.phones.bulk.upload",
        "parameters": {"dupe_process": 1, "extension_type": "sip", "template_account_id": 1},
    }
}
GET_INFO = {
    "request": {
        "method": "switchvox.extensions.getInfo",
        "parameters": {"extensions": {"extension": ["301"]}},
    }
}


def upload_json(client: TestClient) -> dict[str, object]:
    """Post the JSON upload with its CSV file; the parsed answer."""
    files: dict[str, Any] = {
        "request": (None, json.dumps(UPLOAD)),
        "csv_file": ("x.csv", CSV, "text/csv"),
    }
    response = client.post("/json", files=files)
    assert response.status_code == 200
    document: dict[str, object] = response.json()
    return document


@pytest.fixture(params=list(Profile), ids=lambda profile: profile.value)
def profile(request: pytest.FixtureRequest) -> Profile:
    return request.param


def test_a_bulk_report_in_json(make_client: Client, profile: Profile) -> None:
    """Under modern the report's dupe_process and extension numbers are strings; classic
    writes them as numbers."""
    report = upload_json(make_client(profile=profile))["response"]["result"]  # type: ignore[index]
    report = report["bulk_creation_report"]
    created = report["created"]["extension"]
    failed = report["create_failed"]["extension"]
    if profile is Profile.MODERN:
        assert (report["dupe_process"], created["extension"], failed["extension"]) == (
            "1",
            "301",
            "302",
        )
        assert all(isinstance(leaf, str) for leaf in scalars(report))
    else:
        assert (report["dupe_process"], created["extension"], failed["extension"]) == (
            1,
            301,
            302,
        )


def test_get_info_in_json(make_client: Client, profile: Profile) -> None:
    """Under modern every value of getInfo is a string (`"account_id": "1101"`)."""
    client = make_client(profile=profile)
    upload_json(client)
    extension = client.post("/json", json=GET_INFO).json()["response"]["result"]
    extension = extension["extensions"]["extension"]
    numbers = (extension["account_id"], extension["template_id"], extension["number"])
    if profile is Profile.MODERN:
        assert numbers == ("1101", "1", "301")
        assert all(isinstance(leaf, str) for leaf in scalars(extension))
    else:
        assert numbers == (1101, 1, 301)


def test_a_fault_in_json(make_client: Client, profile: Profile) -> None:
    """A fault's code is a string under modern and a number under classic."""
    client = make_client(profile=profile)
    body = {"request": {"method": "switchvox.extensions.getInfo", "parameters": {}}}
    error = client.post("/json", json=body).json()["response"]["errors"]["error"]
    assert error["code"] == ("10013" if profile is Profile.MODERN else 10013)


def test_xml_is_the_same_under_both_profiles(make_client: Client) -> None:
    """The profiles differ in JSON only: the XML answer of getInfo is byte for byte equal."""
    bodies: list[bytes] = []
    for profile in Profile:
        client = make_client(profile=profile)
        if not bodies:
            upload_json(client)
        request = (
            b'<request method="switchvox.extensions.getInfo"><parameters><extensions>'
            b"<extension>301</extension></extensions></parameters></request>"
        )
        bodies.append(client.post("/xml", content=request).content)
    assert bodies[0] == bodies[1]
    assert b'account_id="1101"' in bodies[0]


def test_the_profile_is_read_for_each_request(client: TestClient) -> None:
    """A profile changed at run time (as a control API may) applies to the next answer."""
    body = {"request": {"method": "switchvox.extensions.getInfo", "parameters": {}}}
    state = client.app.state  # type: ignore[attr-defined]
    assert client.post("/json", json=body).json()["response"]["errors"]["error"]["code"] == 10013
    state.settings = replace(state.settings, profile=Profile.MODERN)
    assert client.post("/json", json=body).json()["response"]["errors"]["error"]["code"] == "10013"
