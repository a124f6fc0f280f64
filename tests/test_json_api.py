"""The /json endpoint: the same methods with JSON envelopes in and out."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from tests.conftest import FIXTURES

METHOD = "switchvox.extensions.phones.bulk.upload"
UPLOAD_REQUEST = {
    "request": {
        "method": METHOD,
        "version": "17487",
        "parameters": {"dupe_process": 1, "extension_type": "sip", "template_account_id": "1"},
    }
}


def test_single_fault_envelope(client: TestClient) -> None:
    """One fault is an `error` object with a numeric code."""
    request = {"request": {"method": METHOD, "parameters": {"dupe_process": 1}}}
    response = client.post("/json", content=json.dumps(request))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "response": {
            "method": METHOD,
            "errors": {
                "error": {"code": 10011, "message": "Missing required parameter (extension_type)"}
            },
        }
    }


def test_several_faults_envelope(client: TestClient) -> None:
    """Several faults are a list of `error` objects, in order."""
    request = {
        "request": {
            "method": "switchvox.extensions.getInfo",
            "parameters": {"extensions": {"extension": ["asdf", "12"]}},
        }
    }
    response = client.post("/json", content=json.dumps(request))
    assert response.json()["response"]["errors"] == {
        "error": [
            {
                "code": 10010,
                "message": "Invalid extension (asdf). Extensions may only contain digits or *.",
            },
            {
                "code": 10012,
                "message": "Invalid extension (12). Extension must be between 3 to 6 characters"
                " in length.",
            },
        ]
    }


def test_full_report_from_a_multipart_upload_with_the_file_first(client: TestClient) -> None:
    """A JSON request part after a file part named `file` gives the documented report as JSON."""
    response = client.post(
        "/json",
        files=[
            ("file", ("C:\\extensions.csv", (FIXTURES / "example.csv").read_bytes(), "image/jpeg")),
            ("request", (None, json.dumps(UPLOAD_REQUEST), "application/json")),
        ],
    )
    assert response.json() == {
        "response": {
            "method": METHOD,
            "result": {
                "bulk_creation_report": {
                    "dupe_process": 1,
                    "extension_type": "SIP Extension",
                    "create_failed": {
                        "extension": [
                            {
                                "extension": 301,
                                "first_name": "Joey",
                                "last_name": "Johnson",
                                "email": "jjohn@test.com",
                                "error": {
                                    "text": "Phone password is required to create a sip extension."
                                },
                            },
                            {
                                "extension": 304,
                                "first_name": "",
                                "last_name": "last",
                                "email": "last@test.com",
                                "error": [
                                    {
                                        "text": "First name is required and must be 1 - 32"
                                        " characters in length."
                                    },
                                    {"text": "Phone password cannot be the same as the extension."},
                                ],
                            },
                        ]
                    },
                    "created": {
                        "extension": [
                            {
                                "extension": 302,
                                "first_name": "Freddy",
                                "last_name": "Mercury",
                                "email": "fmerc@test.com",
                            },
                            {
                                "extension": 303,
                                "first_name": "John",
                                "last_name": "Doe",
                                "email": "jdoe@test.com",
                            },
                            {
                                "extension": 305,
                                "first_name": "Mike",
                                "last_name": "Mitchell",
                                "email": "mmitch@test.com",
                            },
                        ]
                    },
                    "replaced": {},
                    "updated": {},
                    "skipped": {},
                }
            },
        }
    }


def test_one_row_is_an_object_and_names_stay_strings(client: TestClient) -> None:
    """A section with one row holds an object; a numeric-looking name stays a string."""
    csv = (
        "ext,fname,lname,email,password,phone_password\n"
        "0401,007,Bond,j@test.com,webpass1,sipsecret\n"
    )
    response = client.post(
        "/json",
        files={"csv_file": ("x.csv", csv), "request": (None, json.dumps(UPLOAD_REQUEST))},
    )
    created = response.json()["response"]["result"]["bulk_creation_report"]["created"]
    assert created == {
        "extension": {
            "extension": "0401",
            "first_name": "007",
            "last_name": "Bond",
            "email": "j@test.com",
        }
    }
