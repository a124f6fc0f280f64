"""Another project's tests against a real Switchvox server from the pytest plugin."""

from __future__ import annotations

from xml.etree import ElementTree

import httpx2

from switchvox_server.testing import RunningServer

CSV = (
    "ext,fname,lname,email,password,phone_password\n"
    "100,Front,Desk,front@example.com,front-web,front-sip\n"
    "101,Bea,Baker,bea@example.com,bea-web-1,bea-sip-101\n"
)


def upload(server: RunningServer, csv: str, *, report_only: int = 0) -> ElementTree.Element:
    """Post a bulk upload of SIP extensions (skip duplicates) with the Staff template."""
    envelope = (
        '<request method="switchvox.extensions.phones.bulk.upload"><parameters>'
        "<extension_type>sip</extension_type><dupe_process>1</dupe_process>"
        f"<template_account_id>{server.template_id('Staff')}</template_account_id>"
        f"<report_only>{report_only}</report_only>"
        "</parameters></request>"
    )
    response = httpx2.post(
        server.xml_url,
        data={"request": envelope},
        files={"csv_file": ("extensions.csv", csv.encode(), "text/csv")},
        auth=server.auth,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return ElementTree.fromstring(response.content)


def numbers(report: ElementTree.Element, section: str) -> list[str]:
    return [node.get("extension", "") for node in report.iterfind(f".//{section}/extension")]


def test_upload_creates_new_and_skips_seeded(switchvox_server: RunningServer) -> None:
    """The seeded extension 100 is skipped and the new 101 is created."""
    report = upload(switchvox_server, CSV)
    assert numbers(report, "skipped") == ["100"]
    assert numbers(report, "created") == ["101"]


def test_store_was_reset_between_tests(switchvox_server: RunningServer) -> None:
    """101, created by the previous test, is gone again; the seeded 100 is still there."""
    report = upload(switchvox_server, CSV, report_only=1)
    assert numbers(report, "skipped") == ["100"]
    assert numbers(report, "created") == ["101"]
