"""Helpers for building upload requests and reading responses in tests."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest
from lxml import etree
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette
from starlette.testclient import TestClient

from switchvox_server import passwords
from switchvox_server.faults import ApiError, ErrorEntry
from switchvox_server.http import signin
from switchvox_server.store.accounts import add_admin
from switchvox_server.store.database import Database
from switchvox_server.store.models import AccessLevel, Extension
from switchvox_server.store.rows import ExtensionValues
from switchvox_server.tree import Element, LazyChildren
from tests.conftest import ADMIN_PASSWORD, FIXTURES

BULK_UPLOAD = "switchvox.extensions.phones.bulk.upload"
# The method page's example as curl's own multipart: the request part, then the CSV.
EXAMPLE_FORM = (
    "--form",
    f"request=@{FIXTURES / 'example_request.xml'}",
    "--form",
    f"csv_file=@{FIXTURES / 'example.csv'};type=image/jpeg",
)
SECTIONS = ("create_failed", "created", "replaced", "updated", "skipped")
FIRST_NAME_RULE = "First name is required and must be 1 - 32 characters in length."


def request_xml(method: str = BULK_UPLOAD, /, **parameters: object) -> bytes:
    """A request envelope with each parameter as a child element of <parameters>."""
    children = "".join(f"<{name}>{value}</{name}>" for name, value in parameters.items())
    return f'<request method="{method}"><parameters>{children}</parameters></request>'.encode()


@dataclass(frozen=True, slots=True)
class CurlClient:
    """A live server driven with curl, the way an admin's script posts uploads; `app` is the
    application it serves, so tests can look at the store behind it."""

    app: Starlette
    url: str
    workdir: Path


def upload(
    client: TestClient | CurlClient,
    csv: bytes | str | None,
    *,
    extension_type: str = "sip",
    dupe_process: object = 1,
    template_account_id: object = 1,
    **extra: object,
) -> etree._Element:
    """Post a bulk upload as a multipart form and return the parsed response."""
    envelope = request_xml(
        extension_type=extension_type,
        dupe_process=dupe_process,
        template_account_id=template_account_id,
        **extra,
    )
    if isinstance(client, CurlClient):
        return _upload_with_curl(client, envelope, csv)
    files = {}
    if csv is not None:
        data = csv.encode() if isinstance(csv, str) else csv
        files["csv_file"] = ("C:\\extensions.csv", data, "image/jpeg")
    response = client.post("/xml", data={"request": envelope.decode()}, files=files or None)
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


def _upload_with_curl(
    client: CurlClient, envelope: bytes, csv: bytes | str | None
) -> etree._Element:
    request = client.workdir / "request.xml"
    request.write_bytes(envelope)
    arguments = ["--form", f"request=<{request}"]
    if csv is not None:
        extensions = client.workdir / "extensions.csv"
        extensions.write_bytes(csv.encode() if isinstance(csv, str) else csv)
        # As the method page's example sends it: a Windows path and an image type.
        arguments += [
            "--form",
            f"csv_file=@{extensions};filename=C:\\extensions.csv;type=image/jpeg",
        ]
    status, body = curl(f"{client.url}/xml", *arguments)
    assert status == 200, body
    return etree.fromstring(body)


def canonical(document: bytes | etree._Element) -> bytes:
    """Canonical XML without whitespace-only text, for comparing documents."""
    element = etree.fromstring(document) if isinstance(document, bytes) else document
    for node in element.iter():
        if node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    return etree.tostring(element, method="c14n2")


def section(response: etree._Element, name: str) -> list[str]:
    """The extension numbers listed in one report section, in order."""
    return [node.get("extension", "") for node in response.iterfind(f".//{name}/extension")]


def errors_of(response: etree._Element, extension: str) -> list[str]:
    """The error texts reported for one extension."""
    return [
        node.get("text", "")
        for node in response.iterfind(f".//extension[@extension='{extension}']/error")
    ]


def fault(response: etree._Element) -> tuple[int, str]:
    """The single (code, message) of a fault response."""
    errors = response.findall("errors/error")
    assert len(errors) == 1, etree.tostring(response)
    assert response.find("result") is None
    return int(errors[0].get("code", "0")), errors[0].get("message", "")


def curl(url: str, *arguments: str, user: str = f"admin:{ADMIN_PASSWORD}") -> tuple[int, bytes]:
    """Run curl against a test server (never through a proxy); (HTTP status, body)."""
    completed = subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--noproxy",
            "*",
            "--user",
            user,
            "--write-out",
            "\n%{http_code}",
            *arguments,
            url,
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    body, _, status = completed.stdout.rpartition(b"\n")
    return int(status), body


def extension_row(number: str, **changes: Any) -> ExtensionValues:
    """A complete row of the extensions table, with awkward text, as the pipeline hands it to
    a writer."""
    row: dict[str, Any] = {
        "number": number,
        "extension_type": "sip",
        "first_name": "Ann",
        "last_name": 'O\'Lee, "Jr"\t',
        "email": "ann@test.com",
        "title": "",
        "location": "\\N",
        "web_password_ha1": "a" * 32,
        "voicemail_pin_digest": None,
        "phone_password_ha1": "b" * 32,
        "mac_address": None,
        "template_id": 1,
        "status": "1",
        "lang_locale": "en_us",
        "can_dial_from_ivr": False,
        "voicemail_enabled": True,
        "date_created": datetime(2026, 1, 2, 3, 4, 5),
    }
    row.update(changes)
    return cast(ExtensionValues, row)


LARGE_CSV_HEADER = "ext,fname,lname,email,password,voicemail_password,phone_password,title\n"


def large_csv(first: int, count: int, *, title: str = "") -> str:
    """`count` valid rows from extension `first` on: 20,000 of them pass the size from which
    the server hands an upload to its helper process."""
    rows = "".join(
        f"{first + n},Ann,Lee{n},a{n}@test.com,webpass1,1234,sipsecret,{title}\n"
        for n in range(count)
    )
    return LARGE_CSV_HEADER + rows


# Where a test finds the extensions table: a database URL (a connection of its own, closed
# after), a Database, or a client of a running app (the app's own database).
StoreSource = str | Database | TestClient | CurlClient


def stored_extensions(source: StoreSource, *columns: str) -> dict[str, dict[str, Any]]:
    """The stored extensions by number, in number order: each row's `columns` (and its
    number), or every column."""
    table = Extension.__table__
    selected = [table.c.number, *(table.c[name] for name in columns)] if columns else [table]
    with _engine(source) as engine, engine.connect() as connection:
        rows = connection.execute(select(*selected).order_by(table.c.number)).mappings()
        return {row["number"]: dict(row) for row in rows}


def stored_count(source: StoreSource) -> int:
    """How many extensions are stored."""
    with _engine(source) as engine, engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Extension)).scalar_one())


@contextmanager
def _engine(source: StoreSource) -> Iterator[Engine]:
    if isinstance(source, str):
        engine = create_engine(source, poolclass=NullPool)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    if isinstance(source, Database):
        yield source.engine
    else:
        yield cast(Starlette, source.app).state.database.engine


def sign_in_as_new_admin(client: TestClient, name: str, access: AccessLevel) -> None:
    """Add the admin `name` (password `<name>-secret`) to the client's store and make the
    client call as it from now on."""
    database: Database = client.app.state.database  # type: ignore[attr-defined]
    with database.exclusive_sessions.begin() as session:
        add_admin(session, name, f"{name}-secret", access)
    client.auth = (name, f"{name}-secret")


def refusal(parse: Callable[[bytes], object], body: bytes) -> ErrorEntry:
    """The single error entry with which `parse` refuses `body`."""
    with pytest.raises(ApiError) as caught:
        parse(body)
    (entry,) = caught.value.errors
    return entry


def unparsable(reason: str) -> ErrorEntry:
    """The 10002 entry for a request that could not be parsed for `reason`."""
    return ErrorEntry(10002, f"The request could not be parsed ({reason}).")


def lazy(tag: str, rows: list[Element]) -> LazyChildren:
    """`rows` as children produced on demand."""
    return LazyChildren(tag, len(rows), lambda: iter(rows))


def report_row(extension: int | str, first: str, last: str, email: str) -> Element:
    """A report's extension element."""
    return Element(
        "extension",
        {"extension": extension, "first_name": first, "last_name": last, "email": email},
    )


def spec_report(*more_created: Element) -> Element:
    """The bulk creation report of the method page's example, with `more_created` rows after
    its created extension."""
    failed = Element(
        "extension",
        {"extension": 304, "first_name": "", "last_name": "last", "email": "last@test.com"},
        children=(
            Element("error", {"text": FIRST_NAME_RULE}),
            Element("error", {"text": "Phone password cannot be the same as the extension."}),
        ),
    )
    created = [report_row(302, "Freddy", "Mercury", "fmerc@test.com"), *more_created]
    return Element(
        "bulk_creation_report",
        {"dupe_process": 1, "extension_type": "SIP Extension"},
        children=(
            Element("create_failed", children=lazy("extension", [failed])),
            Element("created", children=lazy("extension", created)),
            Element("replaced", children=lazy("extension", [])),
            Element("updated", children=lazy("extension", [])),
            Element("skipped", children=lazy("extension", [])),
        ),
    )


def open_temporary_files() -> int:
    """How many files right in the temp directory (spools, not the test databases in the
    folders below it, which a stopping server may still be closing) this process holds open."""
    directory = tempfile.gettempdir()
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the directory's own descriptor, closed by now
        count += os.path.dirname(target.removesuffix(" (deleted)")) == directory
    return count


def slow_hash_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords the sign-in's slow hash is run for from now on, in order."""
    calls: list[str] = []
    real = passwords.verify_password

    def counting(password: str, encoded: str) -> bool:
        calls.append(password)
        return real(password, encoded)

    monkeypatch.setattr(signin, "verify_password", counting)
    return calls


def scalars(value: object) -> list[object]:
    """Every leaf value of a JSON document."""
    if isinstance(value, dict):
        return [leaf for member in value.values() for leaf in scalars(member)]
    if isinstance(value, list):
        return [leaf for member in value for leaf in scalars(member)]
    return [value]


class FakeClock:
    """A clock that stands still at `now` until a test moves it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
