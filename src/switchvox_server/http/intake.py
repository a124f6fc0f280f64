"""Request intake: from an HTTP body (raw, urlencoded or multipart) to the envelope bytes
and the uploaded file, with the body size capped while it streams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message, Receive

from switchvox_server.faults import SwitchvoxServerError

REQUEST_FIELD = "request"
MAX_FORM_FIELDS = 32
MAX_FORM_FILES = 4
MAX_REQUEST_PART_BYTES = 1024 * 1024


class IntakeError(SwitchvoxServerError):
    """The body could not be taken in; `reason` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BodyTooLarge(IntakeError):
    """The body is larger than the configured upload limit."""

    def __init__(self) -> None:
        super().__init__("the body is larger than the upload limit")


@dataclass(slots=True)
class Intake:
    """The envelope's bytes and the spooled file; a form with several file parts has no
    `upload`, since guessing which one is the CSV could import the wrong file."""

    envelope: bytes
    upload: IO[bytes] | None = None
    form_files: tuple[UploadFile, ...] = ()

    async def close(self) -> None:
        for upload in self.form_files:
            await upload.close()


def capped(request: Request, limit: int) -> Request:
    """The same request, whose body raises BodyTooLarge once it passes `limit` bytes."""
    received = 0
    receive: Receive = request.receive

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
        return message

    return Request(request.scope, counting_receive)


async def take_in(request: Request) -> Intake:
    """Read the body: a form's `request` field and file part, or the raw envelope."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        return await _take_in_form(request)
    return Intake(await request.body())


async def _take_in_form(request: Request) -> Intake:
    try:
        form = await request.form(
            max_files=MAX_FORM_FILES,
            max_fields=MAX_FORM_FIELDS,
            max_part_size=MAX_REQUEST_PART_BYTES,
        )
    except (HTTPException, MultiPartException) as error:
        detail = error.detail if isinstance(error, HTTPException) else error.message
        raise IntakeError(f"malformed form body: {detail}") from None
    envelopes: list[bytes] = []
    files: list[UploadFile] = []
    for name, value in form.multi_items():
        if name == REQUEST_FIELD:
            envelopes.append(value.encode() if isinstance(value, str) else await value.read())
            if isinstance(value, UploadFile):
                await value.close()
        elif isinstance(value, UploadFile):
            files.append(value)
    if len(envelopes) != 1:
        for upload in files:
            await upload.close()
        raise IntakeError("no request part" if not envelopes else "more than one request part")
    return Intake(
        envelopes[0], upload=files[0].file if len(files) == 1 else None, form_files=tuple(files)
    )
