"""Request intake: from an HTTP body (raw, urlencoded or multipart) to the envelope bytes
and the uploaded file, with the body size capped and the client's pace watched while it
streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from switchvox_server.faults import FAULTS, BodyTooLarge, Fault, IntakeError
from switchvox_server.http.multipart import (
    MAX_REQUEST_PART_BYTES,
    REQUEST_FIELD,
    MultipartReader,
    boundary_of,
)

# A client that sends nothing for this long is dropped rather than holding a spooled file.
BODY_IDLE_TIMEOUT_SECONDS = 60.0


@dataclass(slots=True)
class Intake:
    """The envelope's bytes, the spooled file if one is usable (and its name as the client
    gave it), and the fault the upload deserves if not (a method that takes no file
    ignores them)."""

    envelope: bytes
    upload: IO[bytes] | None = None
    upload_problem: Fault | None = None
    upload_name: str | None = None
    spooled: tuple[IO[bytes], ...] = ()

    def close(self) -> None:
        for upload in self.spooled:
            upload.close()


async def take_in(request: Request, limit: int) -> Intake:
    """Read the body: a form's `request` field and file part, or the raw envelope.

    Raises IntakeError for a body that cannot be read, BodyTooLarge when a multipart body
    passes `limit` before the request part is known, and ClientDisconnect when the client
    goes away.
    """
    content_type = request.headers.get("content-type", "")
    kind = content_type.partition(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await _take_in_multipart(request, content_type, limit)
    body = await _take_in_envelope(request)
    if kind == "application/x-www-form-urlencoded":
        fields = (await run_in_threadpool(parse_qs, body)).get(REQUEST_FIELD.encode())
        # `curl -d @request.xml` (and other clients' defaults) label a raw envelope as a
        # form: without a `request` field, the body is the envelope itself.
        if fields:
            return Intake(_single_request(fields))
    return Intake(body)


async def _take_in_envelope(request: Request) -> bytes:
    """A body that is all envelope (raw or a URL-encoded form): held to the limit of the
    multipart request part, read no further than one chunk past it."""
    body = bytearray()
    async for chunk in _chunks(request):
        body += chunk
        if len(body) > MAX_REQUEST_PART_BYTES:
            raise IntakeError(f"the request is larger than {MAX_REQUEST_PART_BYTES >> 20} MiB")
    return bytes(body)


async def _take_in_multipart(request: Request, content_type: str, limit: int) -> Intake:
    reader = MultipartReader(boundary_of(content_type))
    received = 0
    over_limit = False
    try:
        async for chunk in _chunks(request):
            received += len(chunk)
            if received > limit:
                # Read up to the limit: the request part may still be in there, and with it
                # the method that should answer the fault.
                reader.feed(chunk[: len(chunk) - (received - limit)])
                over_limit = True
                break
            reader.feed(chunk)
        reader.finish(whole=not over_limit)
        if over_limit and len(reader.requests) != 1:
            raise BodyTooLarge
        envelope = _single_request(reader.requests)
    except BaseException:
        reader.close()
        raise
    problem = FAULTS.UPLOAD_PROBLEM if over_limit else reader.upload_problem()
    usable = problem is None and bool(reader.files)
    upload = reader.files[0] if usable else None
    name = reader.file_names[0] if usable else None
    return Intake(envelope, upload, problem, name, tuple(reader.files))


def _single_request(parts: list[bytes]) -> bytes:
    if len(parts) != 1:
        raise IntakeError("no request part" if not parts else "more than one request part")
    return parts[0]


async def _chunks(request: Request) -> AsyncIterator[bytes]:
    while True:
        try:
            async with asyncio.timeout(BODY_IDLE_TIMEOUT_SECONDS):
                message = await request.receive()
        except TimeoutError:
            raise IntakeError("the client stopped sending the body") from None
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
