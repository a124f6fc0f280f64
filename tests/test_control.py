"""The control API over real HTTP (uvicorn on loopback): token, reset, state, seed, journal,
fault injection and run-time settings."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
import pytest
from lxml import etree
from sqlalchemy import func, select

from switchvox_server.faults import FAULTS
from switchvox_server.methods.imports import LIST as IMPORTS_LIST
from switchvox_server.settings import Settings
from switchvox_server.store.control_tables import JournalEntry
from switchvox_server.store.database import open_database
from tests.conftest import ADMIN_PASSWORD, FIXTURES
from tests.helpers import BULK_UPLOAD, fault, request_xml, section

TOKEN = "control-token-for-tests"
GET_INFO = "switchvox.extensions.getInfo"
SECRETS = ("web-secret-302", "sip-secret-302", "8642", "web-secret-303", "sip-secret-303")
CSV = (
    "ext,fname,lname,email,password,voicemail_password,phone_password\n"
    f"302,Freddy,Mercury,fmerc@test.com,{SECRETS[0]},{SECRETS[2]},{SECRETS[1]}\n"
    f"303,Brian,May,bmay@test.com,{SECRETS[3]},,{SECRETS[4]}\n"
)


@dataclass(frozen=True, slots=True)
class Live:
    """A live server with the control API on, and clients for both sides of it."""

    url: str
    api: httpx2.Client
    control: httpx2.Client

    def xml(self, method: str = GET_INFO, **parameters: object) -> httpx2.Response:
        body = request_xml(method, **parameters)
        return self.api.post("/xml", content=body, headers={"Content-Type": "text/xml"})

    def upload(self, csv: str = CSV, **parameters: object) -> httpx2.Response:
        envelope = request_xml(
            BULK_UPLOAD,
            **({"extension_type": "sip", "dupe_process": 1, "template_account_id": 1} | parameters),
        )
        return self.api.post(
            "/xml",
            data={"request": envelope.decode()},
            files={"csv_file": ("staff.csv", csv.encode(), "text/csv")},
        )

    def journal(self, **query: str | int) -> list[dict[str, Any]]:
        response = self.control.get("/_switchvox/journal", params=query)
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()["entries"]
        return entries


def serve(start_server: Callable[..., str], settings: Settings) -> Iterator[Live]:
    """The app served on loopback with an API client and a control client."""
    url = start_server(settings)
    with (
        httpx2.Client(base_url=url, auth=("admin", ADMIN_PASSWORD), timeout=30) as api,
        httpx2.Client(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as control,
    ):
        yield Live(url, api, control)


@pytest.fixture
def live(settings: Settings, start_server: Callable[..., str]) -> Iterator[Live]:
    yield from serve(start_server, replace(settings, control_token=TOKEN))


def extension_numbers(response: httpx2.Response) -> list[str]:
    """The `number` of every extension in an answer."""
    document = etree.fromstring(response.content)
    return [node.get("number", "") for node in document.iterfind(".//extension")]


# --- access ------------------------------------------------------------------------------

CONTROL_REQUESTS = [
    ("POST", "/_switchvox/reset"),
    ("GET", "/_switchvox/state"),
    ("PUT", "/_switchvox/state"),
    ("POST", "/_switchvox/seed"),
    ("GET", "/_switchvox/journal"),
    ("DELETE", "/_switchvox/journal"),
    ("GET", "/_switchvox/faults"),
    ("POST", "/_switchvox/faults"),
    ("DELETE", "/_switchvox/faults"),
    ("DELETE", "/_switchvox/faults/1"),
    ("GET", "/_switchvox/settings"),
    ("PATCH", "/_switchvox/settings"),
]


def test_without_a_token_every_control_path_is_absent(
    settings: Settings, start_server: Callable[..., str]
) -> None:
    """Without SWITCHVOX_CONTROL_TOKEN every control request is a 404, even with a bearer,
    and API calls leave no journal."""
    for live in serve(start_server, settings):
        for method, path in CONTROL_REQUESTS:
            response = live.control.request(method, path)
            assert response.status_code == 404, (method, path)
        assert live.xml(extensions="<extension>101</extension>").status_code == 200
        assert live.upload().status_code == 200
    database = open_database(settings.database_url)
    try:
        with database.sessions() as session:
            assert session.scalar(select(func.count()).select_from(JournalEntry)) == 0
    finally:
        database.dispose()


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"bearer {TOKEN[:-1]}"],
)
def test_a_missing_or_wrong_token_is_401(live: Live, authorization: str | None) -> None:
    """Every control request without the exact bearer token is refused with 401 and changes
    nothing."""
    live.control.post("/_switchvox/faults", json={"method": GET_INFO, "code": 10013})
    headers = {} if authorization is None else {"Authorization": authorization}
    with httpx2.Client(base_url=live.url, headers=headers) as stranger:
        for method, path in CONTROL_REQUESTS:
            response = stranger.request(method, path)
            assert response.status_code == 401, (method, path)
            assert "error" in response.json()
    assert len(live.control.get("/_switchvox/faults").json()["faults"]) == 1


def test_no_control_request_is_reachable_through_the_api(live: Live) -> None:
    """Neither /xml nor /json dispatches to the control API, whatever the method name."""
    names = ["_switchvox.reset", "/_switchvox/reset", "reset", "_switchvox/journal", "state"]
    live.control.post("/_switchvox/faults", json={"method": GET_INFO, "code": 10013})
    for name in names:
        answer = etree.fromstring(live.xml(name).content)
        assert fault(answer) == (10003, FAULTS.INVALID_METHOD.format(name))
        body = json.dumps({"request": {"method": name, "parameters": {}}})
        response = live.api.post("/json", content=body)
        assert response.json()["response"]["errors"]["error"]["code"] == 10003
    assert live.control.get("/_switchvox/faults").json()["faults"], "a fault was removed"
    for path in ("/xml/_switchvox/reset", "/json/_switchvox/state"):
        assert live.control.post(path).status_code in {404, 405}


# --- fault injection ---------------------------------------------------------------------


def test_an_injected_fault_answers_once_and_is_gone(live: Live) -> None:
    """A documented fault injected for one call answers its documented message once."""
    live.upload()
    created = live.control.post(
        "/_switchvox/faults", json={"method": BULK_UPLOAD, "code": 86162, "times": 1}
    )
    assert created.status_code == 201
    assert isinstance(created.json()["id"], int)
    first = live.upload(CSV.replace("302", "402").replace("303", "403"))
    assert first.status_code == 200
    assert fault(etree.fromstring(first.content)) == (86162, FAULTS.LICENCE_EXCEEDED.template)
    second = live.upload(CSV.replace("302", "402").replace("303", "403"))
    assert section(etree.fromstring(second.content), "created") == ["402", "403"]
    assert live.control.get("/_switchvox/faults").json() == {"faults": []}


def test_a_fault_may_be_injected_into_a_method_only_an_extension_calls(live: Live) -> None:
    """getMyInfo, which admins may not call, takes an injected fault like any other method
    of the server; its caller, signed in as the extension, gets it."""
    live.upload()
    body = {"method": "switchvox.users.getMyInfo", "code": 10013, "times": 1}
    assert live.control.post("/_switchvox/faults", json=body).status_code == 201
    answer = live.api.post(
        "/xml",
        content=request_xml("switchvox.users.getMyInfo"),
        headers={"Content-Type": "text/xml"},
        auth=("302", SECRETS[0]),
    )
    assert fault(etree.fromstring(answer.content)) == (
        10013,
        FAULTS.EXTENSIONS_OR_ACCOUNT_IDS_REQUIRED.template,
    )


@pytest.mark.slow
def test_every_fault_of_the_table_can_be_injected_with_its_message(live: Live) -> None:
    """Each code of faults.py answers its own message, placeholders filled as the server
    would (from the call, the settings, or the injection's values)."""
    for item in FAULTS.all():
        body: dict[str, object] = {"method": BULK_UPLOAD, "code": item.code, "times": 1}
        if "%" in item.template and item.code not in {86161, 86173, 38297, 95106, 10003}:
            count = item.template.count("%")
            body["values"] = [f"v{n}" for n in range(1, count + 1)]
        assert live.control.post("/_switchvox/faults", json=body).status_code == 201, item
        answer = etree.fromstring(live.upload(template_account_id=7, dupe_process=2).content)
        fillers: dict[int, tuple[object, ...]] = {
            86161: (25,),
            86173: ("7",),
            38297: ("7",),
            95106: ("2",),
        }
        given = body.get("values", ())
        assert isinstance(given, list | tuple)
        values = fillers.get(item.code, (BULK_UPLOAD,) if item.code == 10003 else tuple(given))
        assert fault(answer) == (item.code, item.format(*values))


def test_an_injected_fault_without_times_stays_until_removed(live: Live) -> None:
    """Without `times` the fault answers every call until it is deleted by its id."""
    fault_id = live.control.post(
        "/_switchvox/faults", json={"method": GET_INFO, "code": 10013}
    ).json()["id"]
    for _ in range(3):
        assert (
            fault(etree.fromstring(live.xml(extensions="<extension>101</extension>").content))[0]
            == 10013
        )
    listed = live.control.get("/_switchvox/faults").json()["faults"]
    assert [(item["id"], item["times"]) for item in listed] == [(fault_id, None)]
    assert live.control.delete(f"/_switchvox/faults/{fault_id}").status_code == 200
    assert live.control.delete(f"/_switchvox/faults/{fault_id}").status_code == 404
    assert (
        etree.fromstring(live.xml(extensions="<extension>101</extension>").content).find("result")
        is not None
    )


def test_clearing_faults_removes_all(live: Live) -> None:
    """DELETE /faults removes every injected fault."""
    for code in (10013, 10000):
        live.control.post("/_switchvox/faults", json={"method": GET_INFO, "code": code})
    assert live.control.delete("/_switchvox/faults").json() == {"removed": 2}
    assert live.control.get("/_switchvox/faults").json() == {"faults": []}


@pytest.mark.slow
def test_an_injected_http_status_and_delay(live: Live) -> None:
    """`http_status` changes the answer's status; `delay_ms` holds the answer that long."""
    live.control.post(
        "/_switchvox/faults",
        json={"method": GET_INFO, "http_status": 503, "delay_ms": 400, "times": 1},
    )
    started = time.monotonic()
    response = live.xml(extensions="<extension>101</extension>")
    assert time.monotonic() - started >= 0.4
    assert response.status_code == 503
    started = time.monotonic()
    assert live.xml(extensions="<extension>101</extension>").status_code == 200
    assert time.monotonic() - started < 0.4


def test_a_dropped_call_gets_no_answer_at_all(live: Live) -> None:
    """`drop` closes the connection without a byte of answer; the server goes on serving."""
    live.control.post("/_switchvox/faults", json={"method": GET_INFO, "drop": True, "times": 1})
    body = request_xml(GET_INFO, extensions="<extension>101</extension>")
    credentials = httpx2.BasicAuth("admin", ADMIN_PASSWORD)
    request = httpx2.Request(
        "POST", f"{live.url}/xml", content=body, headers={"Content-Type": "text/xml"}
    )
    authorization = next(credentials.auth_flow(request)).headers["Authorization"]
    port = int(live.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(
            b"POST /xml HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
            + f"Authorization: {authorization}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        received = b""
        try:
            while chunk := raw.recv(4096):
                received += chunk
        except ConnectionResetError:
            pass
    assert received == b""
    assert live.xml(extensions="<extension>101</extension>").status_code == 200
    outcomes = [entry["outcome"] for entry in live.journal(method=GET_INFO)]
    assert outcomes == ["dropped", "result"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "object"),
        ({"method": GET_INFO}, "at least one"),
        ({"method": "no.such.method", "code": 86162}, "'method'"),
        ({"method": GET_INFO, "code": 12345}, "not a fault code"),
        ({"method": GET_INFO, "code": "86162"}, "'code'"),
        ({"method": GET_INFO, "code": 10010}, "values"),
        ({"method": GET_INFO, "code": 10010, "values": ["a", "b"]}, "values"),
        ({"method": GET_INFO, "code": 86162, "times": 0}, "'times'"),
        ({"method": GET_INFO, "http_status": 99}, "'http_status'"),
        ({"method": GET_INFO, "delay_ms": 10**9}, "'delay_ms'"),
        ({"method": GET_INFO, "drop": "yes"}, "'drop'"),
        ({"method": GET_INFO, "code": 86162, "colour": 1}, "unknown key"),
    ],
)
def test_a_bad_fault_is_a_clear_400(live: Live, body: object, problem: str) -> None:
    """A fault injection that is not valid answers 400 with one line naming the problem."""
    response = live.control.post("/_switchvox/faults", json=body)
    assert response.status_code == 400
    assert problem in response.json()["error"]
    assert live.control.get("/_switchvox/faults").json() == {"faults": []}


@pytest.mark.parametrize(
    ("path", "content", "status"),
    [
        ("/_switchvox/faults", b"{not json", 400),
        ("/_switchvox/faults", b'{"method": "a", "method": "b"}', 400),
        ("/_switchvox/faults", b"\xff\xfe", 400),
        ("/_switchvox/faults", b" " * (65 * 1024), 413),
        ("/_switchvox/settings", b"[" * 60_000, 400),
    ],
)
def test_hostile_control_bodies_are_refused(
    live: Live, path: str, content: bytes, status: int
) -> None:
    """Bodies that are not JSON, repeat a key, nest absurdly or are too large get a JSON
    error, never a 500."""
    method = "PATCH" if path.endswith("settings") else "POST"
    response = live.control.request(method, path, content=content)
    assert response.status_code == status
    assert response.json()["error"]


# --- journal -----------------------------------------------------------------------------


def test_the_journal_of_an_upload_has_no_secret(live: Live) -> None:
    """An upload's entry names the file by name, size, SHA-256 and rows; no password of it
    appears anywhere in the journal."""
    import hashlib

    response = live.upload()
    assert section(etree.fromstring(response.content), "created") == ["302", "303"]
    (entry,) = live.journal(method=BULK_UPLOAD)
    assert entry["file"] == {
        "name": "staff.csv",
        "bytes": len(CSV.encode()),
        "sha256": hashlib.sha256(CSV.encode()).hexdigest(),
        "rows": 2,
    }
    assert entry["params"] == {
        "extension_type": "sip",
        "dupe_process": "1",
        "template_account_id": "1",
    }
    assert entry["caller"] == "admin"
    assert (entry["outcome"], entry["fault_code"], entry["http_status"]) == ("result", None, 200)
    text = live.control.get("/_switchvox/journal").text
    for secret in (*SECRETS, ADMIN_PASSWORD):
        assert secret not in text


def test_secret_parameters_are_redacted() -> None:
    """Every parameter named as a password, PIN or secret is stored as `***`."""
    from switchvox_server.control.journal import redacted

    params: dict[str, str | tuple[str, ...]] = {
        "password": "a",
        "web_password": "b",
        "phone_password": "c",
        "voicemail_password": "d",
        "vm_pin": "e",
        "sip_secret": ("f",),
        "extension": ("101", "102"),
    }
    assert redacted(params) == {
        "password": "***",
        "web_password": "***",
        "phone_password": "***",
        "voicemail_password": "***",
        "vm_pin": "***",
        "sip_secret": "***",
        "extension": ["101", "102"],
    }


def test_the_journal_records_every_call_and_filters(live: Live) -> None:
    """Entries come oldest first with every field; ?method=, ?since= and ?limit= filter, and
    DELETE clears."""
    live.xml(extensions="<extension>101</extension>")
    live.upload()
    live.xml(extensions="<extension></extension>")
    with httpx2.Client(base_url=live.url) as anonymous:
        anonymous.post("/xml", content=request_xml(GET_INFO))
    entries = live.journal()
    assert [entry["method"] for entry in entries] == [GET_INFO, BULK_UPLOAD, GET_INFO, ""]
    assert [entry["outcome"] for entry in entries] == ["result", "result", "fault", "unauthorized"]
    assert [entry["fault_code"] for entry in entries] == [None, None, 10000, None]
    assert [entry["http_status"] for entry in entries] == [200, 200, 200, 401]
    assert entries[3]["caller"] is None
    for entry in entries:
        assert set(entry) == {
            "id",
            "at",
            "method",
            "caller",
            "params",
            "file",
            "outcome",
            "fault_code",
            "http_status",
            "duration_ms",
        }
        assert entry["at"].endswith("Z")
        assert isinstance(entry["duration_ms"], int)
    ids = [entry["id"] for entry in entries]
    assert ids == sorted(ids)
    assert [e["id"] for e in live.journal(method=GET_INFO)] == [ids[0], ids[2]]
    assert [e["id"] for e in live.journal(since=ids[1])] == ids[2:]
    assert [e["id"] for e in live.journal(limit=2)] == ids[:2]
    assert live.control.get("/_switchvox/journal", params={"limit": "x"}).status_code == 400
    assert live.control.delete("/_switchvox/journal").status_code == 200
    assert live.journal() == []


def test_the_journal_keeps_only_the_newest_entries(
    settings: Settings, start_server: Callable[..., str]
) -> None:
    """Past SWITCHVOX_JOURNAL_MAX_ENTRIES the oldest entries go."""
    for live in serve(start_server, replace(settings, control_token=TOKEN, journal_max_entries=3)):
        for number in range(101, 106):
            live.xml(extensions=f"<extension>{number}</extension>")
        kept = [entry["params"]["extensions"] for entry in live.journal()]
        assert kept == [["103"], ["104"], ["105"]]


# --- state, seed and reset ---------------------------------------------------------------


def sign_in_status(url: str, user: str, password: str, method: str = GET_INFO) -> int:
    """The HTTP status of a call with these Basic credentials: 401 when they are refused."""
    body = request_xml(method, extensions="<extension>302</extension>")
    return httpx2.post(f"{url}/xml", content=body, auth=(user, password)).status_code


def seeded_state(live: Live) -> dict[str, Any]:
    """The state after applying tests/fixtures/seed.toml and uploading CSV."""
    seeded = live.control.post(
        "/_switchvox/seed",
        content=(FIXTURES / "seed.toml").read_bytes(),
        headers={"Content-Type": "application/toml"},
    )
    assert seeded.status_code == 200, seeded.text
    assert section(etree.fromstring(live.upload().content), "created") == ["302", "303"]
    document: dict[str, Any] = live.control.get("/_switchvox/state").json()
    return document


def test_state_get_put_get_is_identical_and_holds_no_secret(live: Live) -> None:
    """GET -> PUT -> GET of the state gives the same document, with every record, and no
    password appears in it."""
    first = seeded_state(live)
    assert [len(first[name]) for name in ("templates", "admins", "extensions")] == [3, 3, 5]
    assert live.control.put("/_switchvox/state", json=first).status_code == 200
    assert live.control.get("/_switchvox/state").json() == first
    text = json.dumps(first)
    for secret in (*SECRETS, ADMIN_PASSWORD, "ci-password", "ops-password", "ada-web-1"):
        assert secret not in text


@pytest.mark.slow
def test_a_restored_state_authenticates_the_same_admins_and_extensions(
    live: Live, settings: Settings, tmp_path: Path, start_server: Callable[..., str]
) -> None:
    """The state put into another, fresh server lets exactly the same admins and extensions
    sign in, with their access levels, and the fresh server's own admin password no more."""
    document = seeded_state(live)
    other = replace(
        settings,
        database_url=f"sqlite:///{tmp_path / 'other.db'}",
        admin_password="fresh-admin-password",
        control_token=TOKEN,
    )
    for restored in serve(start_server, other):
        assert restored.control.put("/_switchvox/state", json=document).status_code == 200
        assert restored.control.get("/_switchvox/state").json() == document
        status = partial(sign_in_status, restored.url)
        assert status("admin", ADMIN_PASSWORD) == 200
        assert status("ci", "ci-password") == 200
        assert status("ops", "ops-password") == 200
        assert status("admin", "fresh-admin-password") == 401
        # Extensions sign in for switchvox.users.* methods (whether or not one is served).
        assert status("302", SECRETS[0], "switchvox.users.getMyInfo") == 200
        assert status("201", "ada-web-1", "switchvox.users.getMyInfo") == 200
        assert status("302", "wrong-password", "switchvox.users.getMyInfo") == 401
        read_only = httpx2.post(
            f"{restored.url}/xml",
            data={"request": request_xml(BULK_UPLOAD, extension_type="sip").decode()},
            files={"csv_file": ("x.csv", b"ext\n", "text/csv")},
            auth=("ci", "ci-password"),
        )
        assert fault(etree.fromstring(read_only.content))[0] == 27168


def test_a_bad_state_document_changes_nothing(live: Live) -> None:
    """A state document with a wrong field, type or reference is a 400, and the store is
    as it was."""
    live.upload()
    good = live.control.get("/_switchvox/state").json()
    broken = [
        {},
        good | {"format": "other"},
        good | {"extensions": [good["extensions"][0] | {"colour": 1}]},
        good | {"extensions": [{**good["extensions"][0], "number": 302}]},
        good | {"extensions": [{**good["extensions"][0], "template_id": 999}]},
        good | {"extensions": [good["extensions"][0], good["extensions"][0]]},
        good | {"admins": [{**good["admins"][0], "access": "root"}]},
        good | {"templates": [{**good["templates"][0], "name": "x" * 65}]},
    ]
    for document in broken:
        response = live.control.put("/_switchvox/state", json=document)
        assert response.status_code == 400, document
        assert response.json()["error"].startswith("state:")
    assert live.control.get("/_switchvox/state").json() == good


def test_reset_goes_back_to_the_start_and_clears_journal_faults_and_settings(live: Live) -> None:
    """POST /reset empties the store to template 1 and admin, and clears the journal, the
    faults and the run-time settings."""
    start = live.control.get("/_switchvox/state").json()
    live.upload()
    live.control.post("/_switchvox/faults", json={"method": GET_INFO, "code": 10013})
    live.control.patch("/_switchvox/settings", json={"max_extensions": 1})
    assert live.control.post("/_switchvox/reset").status_code == 200
    assert live.control.get("/_switchvox/state").json() == start
    assert live.control.get("/_switchvox/faults").json() == {"faults": []}
    assert live.control.get("/_switchvox/settings").json()["max_extensions"] is None
    assert live.journal() == []


def test_a_bad_seed_is_a_400(live: Live) -> None:
    """A seed document with a mistake answers 400 naming it, and applies nothing."""
    response = live.control.post(
        "/_switchvox/seed", json={"templates": [{"name": "x", "nme": "x"}]}
    )
    assert response.status_code == 400
    assert "unknown key 'nme'" in response.json()["error"]
    toml = live.control.post(
        "/_switchvox/seed", content=b"[[templates]\n", headers={"Content-Type": "application/toml"}
    )
    assert toml.status_code == 400


# --- run-time settings -------------------------------------------------------------------


def test_settings_changed_at_run_time_take_effect(live: Live) -> None:
    """PATCH /settings changes the licence and the extension length the methods apply."""
    assert live.control.get("/_switchvox/settings").json() == {
        "max_extensions": None,
        "registered": True,
        "unregistered_limit": 25,
        "extension_min_length": 3,
        "extension_max_length": 6,
        "strong_phone_passwords": False,
        "profile": "classic",
    }
    changed = live.control.patch(
        "/_switchvox/settings", json={"max_extensions": 1, "extension_max_length": 4}
    )
    assert changed.json()["max_extensions"] == 1
    assert fault(etree.fromstring(live.upload().content))[0] == 86162
    too_long = etree.fromstring(live.xml(extensions="<extension>12345</extension>").content)
    assert fault(too_long) == (10012, FAULTS.INVALID_EXTENSION_LENGTH.format("12345", 3, 4))
    live.control.patch("/_switchvox/settings", json={"registered": False, "unregistered_limit": 1})
    assert fault(etree.fromstring(live.upload().content)) == (
        86161,
        FAULTS.UNREGISTERED_LIMIT.format(1),
    )
    live.control.patch("/_switchvox/settings", json={"registered": True, "max_extensions": None})
    assert section(etree.fromstring(live.upload().content), "created") == ["302", "303"]


@pytest.mark.parametrize(
    "patch",
    [
        {},
        {"max_extensions": -1},
        {"max_extensions": "10"},
        {"registered": 1},
        {"extension_min_length": 0},
        {"extension_max_length": 33},
        {"extension_min_length": 7},
        {"profile": "retro"},
        {"digest_enabled": False},
    ],
)
def test_bad_settings_are_refused(live: Live, patch: dict[str, object]) -> None:
    """A setting out of range, of the wrong type or unknown is a 400 and changes nothing."""
    before = live.control.get("/_switchvox/settings").json()
    response = live.control.patch("/_switchvox/settings", json=patch)
    assert response.status_code == 400
    assert response.json()["error"].startswith("settings:")
    assert live.control.get("/_switchvox/settings").json() == before


def test_the_profile_setting_is_stored(live: Live) -> None:
    """`profile` accepts classic and modern and keeps what was set."""
    assert live.control.patch("/_switchvox/settings", json={"profile": "modern"}).status_code == 200
    assert live.control.get("/_switchvox/settings").json()["profile"] == "modern"


def test_a_restored_state_starts_with_no_import_history(live: Live) -> None:
    """PUT state replaces the store wholesale, so the history of the store it replaced (which
    an undo would otherwise apply to the new one) is gone."""
    document = seeded_state(live)
    listed = etree.fromstring(live.xml(IMPORTS_LIST).content)
    assert listed.findall(".//import"), "the upload was recorded"
    assert live.control.put("/_switchvox/state", json=document).status_code == 200
    assert etree.fromstring(live.xml(IMPORTS_LIST).content).findall(".//import") == []
