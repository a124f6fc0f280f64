"""The method faults of the bulk upload: each code with its exact message, nothing written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree
from sqlalchemy import text
from starlette.testclient import TestClient

from tests.helpers import BULK_UPLOAD, fault, request_xml, stored_extensions, upload

VALID = "ext,fname,lname,email,password,phone_password\n401,Ann,Lee,ann@test.com,webpass1,sip401x\n"
CSV_FORMAT = (
    "Your CSV file is not in the correct format. Please see the help link next to the"
    " Extension File input for more information."
)


@pytest.mark.parametrize("missing", ["extension_type", "dupe_process", "template_account_id"])
def test_missing_parameter_is_10011(client: TestClient, missing: str) -> None:
    """Each required parameter, when absent, gives 10011 naming it."""
    parameters = {"extension_type": "sip", "dupe_process": 1, "template_account_id": 1}
    del parameters[missing]
    envelope = request_xml(**parameters).decode()
    response = client.post("/xml", data={"request": envelope}, files={"csv_file": ("a", VALID)})
    assert fault(etree.fromstring(response.content)) == (
        10011,
        f"Missing required parameter ({missing})",
    )
    assert list(stored_extensions(client)) == []


def test_parameters_are_checked_in_the_documented_order(client: TestClient) -> None:
    """With everything wrong, the first check in the table answers: the missing parameter."""
    response = upload(client, None, extension_type="", dupe_process=9, template_account_id=99)
    assert fault(response) == (10011, "Missing required parameter (extension_type)")


def test_bad_extension_type_is_61987(client: TestClient) -> None:
    """An extension type other than sip or virtual gives 61987 before the dupe process check."""
    response = upload(client, VALID, extension_type="iax", dupe_process=9)
    assert fault(response) == (
        61987,
        "Invalid extension type. Only SIP and Virtual extensions can be created in bulk.",
    )


def test_extension_type_is_case_insensitive(client: TestClient) -> None:
    """`SIP` is accepted as sip."""
    response = upload(client, VALID, extension_type="SIP")
    assert response.find("result/bulk_creation_report") is not None


@pytest.mark.parametrize("value", ["0", "4", "skip", "1.0"])
def test_bad_dupe_process_is_95106(client: TestClient, value: str) -> None:
    """A dupe process other than 1, 2 or 3 gives 95106 quoting the value."""
    response = upload(client, VALID, dupe_process=value)
    assert fault(response) == (
        95106,
        f"Invalid dupe process ({value}). Valid options are: 1 (Skip), 2 (Replace), and 3"
        " (Update).",
    )


@pytest.mark.parametrize("value", ["99", "abc"])
def test_unknown_template_is_86173(client: TestClient, value: str) -> None:
    """A template id that names no template gives 86173 without a trailing period."""
    response = upload(client, VALID, template_account_id=value)
    assert fault(response) == (86173, f"Invalid template account ID ({value})")


def test_unusable_template_is_38297(client: TestClient) -> None:
    """A template whose defaults could not make a valid extension gives 38297."""
    with client.app.state.database.engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(
            text(
                "INSERT INTO templates (name, lang_locale, can_dial_from_ivr, status, title,"
                " location, voicemail_enabled, voicemail_pin_rule)"
                " VALUES ('Broken', 'en_us', true, '1', '', '', true, 'sometimes')"
            )
        )
        template_id = connection.execute(
            text("SELECT id FROM templates WHERE name = 'Broken'")
        ).scalar_one()
    response = upload(client, VALID, template_account_id=template_id)
    assert fault(response) == (
        38297,
        f"Error getting template values for template with id {template_id}.",
    )


def test_no_file_part_is_70674(client: TestClient) -> None:
    """A request without a file part gives 70674."""
    assert fault(upload(client, None)) == (70674, "Problems uploading your CSV file.")


def test_raw_body_without_file_is_70674(client: TestClient) -> None:
    """The raw-body form of the request carries no file, so the upload answers 70674."""
    envelope = request_xml(extension_type="sip", dupe_process=1, template_account_id=1)
    response = client.post("/xml", content=envelope, headers={"content-type": "text/xml"})
    assert fault(etree.fromstring(response.content)) == (70674, "Problems uploading your CSV file.")


def test_two_file_parts_are_70674_not_a_guess(client: TestClient) -> None:
    """Two file parts give 70674 rather than importing whichever came first."""
    envelope = request_xml(extension_type="sip", dupe_process=1, template_account_id=1)
    response = client.post(
        "/xml",
        data={"request": envelope.decode()},
        files=[("csv_file", ("a.csv", VALID)), ("other", ("b.csv", VALID))],
    )
    assert fault(etree.fromstring(response.content)) == (70674, "Problems uploading your CSV file.")
    assert list(stored_extensions(client)) == []


@pytest.mark.parametrize(
    "csv",
    [
        b"",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"fname,lname\nAnn,Lee\n",
        b"ext,email,login_email\n401,a@b.co,c@d.co\n",
        b'ext,fname\n401,"Ann\n402,Bob\n',
    ],
    ids=["empty", "binary", "no-ext-label", "duplicate-label", "unterminated-quote"],
)
def test_not_a_usable_csv_is_94772(client: TestClient, csv: bytes) -> None:
    """A file that is not CSV, lacks the ext label or repeats a label gives 94772."""
    assert fault(upload(client, csv)) == (94772, CSV_FORMAT)
    assert list(stored_extensions(client)) == []


def test_unterminated_quote_late_in_file_writes_nothing(client: TestClient) -> None:
    """A broken quote after thousands of good rows refuses the file and keeps none of them."""
    rows = "".join(f"{5000 + n},Ann,Lee,a{n}@test.com,webpass1,sipsecret\n" for n in range(4500))
    csv = "ext,fname,lname,email,password,phone_password\n" + rows + '9999,"Broken,x,y\n'
    assert fault(upload(client, csv)) == (94772, CSV_FORMAT)
    assert list(stored_extensions(client)) == []


@pytest.mark.parametrize("csv", ["ext,fname\n", "ext,fname\n\n,\n\r\n , \n"])
def test_header_without_data_is_51132(client: TestClient, csv: str) -> None:
    """A valid header with no non-blank data rows gives 51132."""
    assert fault(upload(client, csv)) == (51132, "Your CSV file contained no extension data.")


def test_licence_limit_is_86162(make_client: Callable[..., TestClient]) -> None:
    """Registered, with a licensed number the upload would exceed: 86162, nothing written."""
    client = make_client(max_extensions=1)
    csv = VALID + "402,Bob,Ray,bob@test.com,webpass2,sip402x\n"
    assert fault(upload(client, csv)) == (
        86162,
        "You have exceeded the number of phone extensions available for your PBX. Please"
        " contact your reseller to purchase more extensions.",
    )
    assert list(stored_extensions(client)) == []
    assert upload(client, VALID).find("result") is not None
    assert list(stored_extensions(client)) == ["401"]


def test_unregistered_cap_is_86161(make_client: Callable[..., TestClient]) -> None:
    """Unregistered, beyond the unregistered cap: 86161 quoting the cap, nothing written."""
    client = make_client(registered=False, unregistered_limit=1)
    csv = VALID + "402,Bob,Ray,bob@test.com,webpass2,sip402x\n"
    assert fault(upload(client, csv)) == (
        86161,
        "Your phone system has not yet been registered and is limited to 1 extensions.",
    )
    assert list(stored_extensions(client)) == []


def test_limit_applies_to_report_only_too(make_client: Callable[..., TestClient]) -> None:
    """report_only answers the fault the real upload would answer."""
    client = make_client(max_extensions=0)
    assert fault(upload(client, VALID, report_only=1))[0] == 86162


def test_updates_do_not_count_against_the_limit(make_client: Callable[..., TestClient]) -> None:
    """At the licensed number, an upload that only updates is still allowed."""
    client = make_client(max_extensions=1)
    upload(client, VALID)
    response = upload(client, "ext,title\n401,Boss\n", dupe_process=3)
    assert response.find("result") is not None


def test_bad_report_only_is_10005(client: TestClient) -> None:
    """report_only other than 0 or 1 gives the generic invalid-value fault."""
    assert fault(upload(client, VALID, report_only=2)) == (
        10005,
        "Invalid value for parameter report_only (2).",
    )


def test_unknown_method_is_10003(client: TestClient) -> None:
    """An unknown method name gives 10003 naming it."""
    response = client.post("/xml", content=request_xml("switchvox.nothing.here"))
    assert fault(etree.fromstring(response.content)) == (
        10003,
        "Invalid method (switchvox.nothing.here).",
    )


def test_method_name_is_echoed_in_fault_envelope(client: TestClient) -> None:
    """A fault response names the method that was called."""
    response = upload(client, None)
    assert response.get("method") == BULK_UPLOAD
